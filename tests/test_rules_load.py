"""The rules language: validation with line numbers, defaults, starter file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analyzer.errors import InputError, RulesError, SynackError
from analyzer.rules import DEFAULT_RULES, STARTER_RULES, load_rules, parse_rules
from analyzer.rules.load import rule_set_from_mapping, selector_from_mapping


def problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(RulesError) as exc:
        parse_rules(text, "r.toml")
    return exc.value.problems


def test_rules_error_is_an_input_error_naming_file_and_line():
    assert issubclass(RulesError, InputError) and issubclass(RulesError, SynackError)
    with pytest.raises(RulesError, match=r"^r\.toml:2: unknown key 'max_half_opn' in the top "
                                         r"level \(did you mean 'max_half_open'\?\)$"):
        parse_rules("version = 1\nmax_half_opn = 0\n", "r.toml")


def test_wrong_types_name_the_line_and_the_type():
    text = ('max_syn_retries = "3"\nrequire_clean_close = 1\nmax_half_open = -1\n'
            "max_retransmission_rate = 5\nhandshake_rtt_ms = 3\ntime_wait_side = 'both'\n")
    got = problems(text)
    assert got[0] == (1, 'max_syn_retries must be a non-negative integer, not a string ("3")')
    assert got[1] == (2, "require_clean_close must be true or false, not an integer")
    assert got[2] == (3, "max_half_open must be ≥ 0, not -1")
    assert got[3][0] == 4 and "fraction between 0 and 1" in got[3][1]
    assert got[4][0] == 5 and "must be a table such as { p50 = 1" in got[4][1]
    assert got[5] == (6, "time_wait_side: unknown side 'both' (one of: client, server)")


def test_booleans_are_not_integers():
    assert problems("max_half_open = true\n") == [
        (1, "max_half_open must be a non-negative integer, not a boolean")]


def test_unknown_ids_severities_and_percentiles_suggest_the_closest():
    text = ('forbid_severities = ["eror"]\nforbid_findings = [\n  "syn_no_reply",\n'
            '  "syn_no_replyy",\n]\nhandshake_rtt_ms = { p95 = "x", q3 = 2 }\n\n'
            "[findings.retransmision]\nmax = 3\n\n[findings.fin_retransmitted]\nmaximum = 2\n")
    got = dict(problems(text))
    assert got[1] == "forbid_severities: unknown severity 'eror' (did you mean 'error'?)"
    assert got[4] == ("forbid_findings: unknown finding id 'syn_no_replyy' (did you mean "
                      "'syn_no_reply'?; see `synack checks`)")  # the array element's line
    assert "'q3' is not a percentile" in got[6]
    assert "did you mean 'retransmission'?" in got[8]
    assert got[12] == "unknown key 'maximum' in [findings.fin_retransmitted] (did you mean 'max'?)"


def test_scopes_and_ignores_are_checked():
    text = ('[[scope]]\nname = "db"\nserver_port = "80-70"\nhost = "10.0.0.300"\n'
            "max_half_open = 0\n\n[[scope]]\nmax_half_open = 0\n\n[[scope]]\nserver_port = 80\n"
            '\n[[ignore]]\nfinding = "syn_no_reply"\nserver_port = 9\n\n[[ignore]]\n'
            'reason = "x"\n')
    got = problems(text)
    assert (3, "scope[1].server_port: 80-70 is not a port or port range in 0-65535") in got
    assert any(n == 4 and "10.0.0.300" in m for n, m in got)
    assert any(n == 7 and "[[scope]] #2 selects every connection" in m for n, m in got)
    assert (10, "[[scope]] #3 has no rule keys") in got
    assert (13, '[[ignore]] #1 needs a reason = "...": why this is accepted') in got
    assert any(n == 17 and "either finding" in m for n, m in got)


def test_toml_syntax_errors_keep_tomllib_line():
    with pytest.raises(RulesError, match=r"^r\.toml:2: not valid TOML, column \d+: "):
        parse_rules("max_half_open = 0\nmax_half_open = 1\n", "r.toml")


def test_all_problems_are_reported_at_once():
    with pytest.raises(RulesError) as exc:
        parse_rules("a = 1\nb = 2\n", "r.toml")
    assert str(exc.value).startswith("r.toml:1: unknown key 'a'")
    assert "(and 1 more: line 2: unknown key 'b' in the top level)" in str(exc.value)


def test_version():
    assert problems("version = 2\n") == [(1, "version = 2: this synack reads rules version 1")]


def test_a_valid_file_becomes_rule_sets():
    rules = parse_rules('''
forbid_severities = ["error", "warning"]
allow_findings = ["fin_retransmitted"]
max_half_open = 0
handshake_rtt_ms = { p50 = 1, p95 = 5.5, max = 20 }

[findings.retransmission]
max = 10

[[scope]]
name = "db"
server_port = [5432, "6000-6010"]
host = ["10.0.0.0/8", "fd00::1"]
time_wait_side = "client"

[[ignore]]
finding = "syn_no_reply"
client = "10.1.2.3"
reason = "the probe"
''', "r.toml")
    top, db = rules.rule_sets
    assert top.forbid_severities == ("error", "warning") and top.max_half_open == 0
    assert top.handshake_rtt_ms == (("p50", 1.0), ("p95", 5.5), ("max", 20.0))
    assert top.finding_limits == (("retransmission", 10),)
    assert top.lines["max_half_open"] == 4 and top.lines["findings"] == 7
    assert db.name == "db" and db.forbid_severities is None and db.time_wait_side == "client"
    assert db.selector.server_ports == ((5432, 5432), (6000, 6010))
    assert db.selector.describe() == "server_port=5432,6000-6010 host=10.0.0.0/8,fd00::1"
    (ig,) = rules.ignores
    assert ig.findings == ("syn_no_reply",) and ig.reason == "the probe" and ig.line == 16


def test_allow_severities_is_the_complement():
    (top,) = parse_rules('allow_severities = ["info"]\n').rule_sets
    assert top.forbid_severities == ("error", "warning")
    assert problems('allow_severities = ["info"]\nforbid_severities = []\n')[0][1] == \
        "set forbid_severities or allow_severities, not both"


def test_defaults_fail_on_errors_only():
    (top,) = DEFAULT_RULES.rule_sets
    assert top.forbid_severities == ("error",) and top.max_half_open is None
    (top,) = parse_rules("max_half_open = 0\n").rule_sets
    assert top.forbid_severities == ("error",)  # kept unless the file says otherwise
    (top,) = parse_rules("forbid_severities = []\n").rule_sets
    assert top.forbid_severities == ()


def test_starter_file_is_valid_and_commented(tmp_path: Path):
    path = tmp_path / "synack-rules.toml"
    path.write_text(STARTER_RULES)
    rules = load_rules(path)
    assert rules.source == str(path)
    top = rules.rule_sets[0]
    assert top.max_half_open == 0 and top.require_clean_close and top.min_connections == 1
    assert STARTER_RULES.count("#") > 40
    example = re.compile(r"^# ?(\[\[?\w|[\w.]+ = )")
    uncommented = "\n".join(ln[1:].lstrip() if example.match(ln) else ln
                            for ln in STARTER_RULES.splitlines())
    everything = parse_rules(uncommented)  # the commented examples are valid too
    assert len(everything.rule_sets) == 2 and len(everything.ignores) == 2
    assert everything.rule_sets[0].finding_limits == (("retransmission", 10),)


def test_load_rules_text_or_path(tmp_path: Path):
    assert load_rules("max_half_open = 0").rule_sets[0].max_half_open == 0
    with pytest.raises(RulesError, match="cannot read rules file"):
        load_rules(tmp_path / "missing.toml")


def test_python_mappings_are_validated_the_same_way():
    rs = rule_set_from_mapping({"max_syn_retries": 1})
    assert rs.max_syn_retries == 1 and rs.forbid_severities is None
    with pytest.raises(RulesError, match="did you mean 'max_half_open'"):
        rule_set_from_mapping({"max_half_opn": 1})
    assert selector_from_mapping({"server_port": 80}).server_ports == ((80, 80),)
