"""`synack check` end to end: exit codes 0/1/2, the evidence named, outputs, --init, --github."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from rules_util import (
    CLEAN,
    REFUSED,
    SERVER_CLOSE,
    SYN_RETRIES,
    WRONG_ACK,
    Ran,
    run_cli,
    synack,
    write_script,
)

from analyzer.rules import STARTER_RULES, load_rules

PASSING = """
forbid_severities = ["error", "warning"]
min_connections = 1
require_clean_close = true
max_half_open = 0
max_syn_retries = 0
max_retransmission_rate = 0.0
handshake_rtt_ms = { p95 = 5, max = 10 }

[[scope]]
name = "service"
server_port = 8080
server = "10.213.0.0/24"
time_wait_side = "client"
"""


Cli = Callable[..., Ran]


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    return {**e, **extra}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Ran:
        return run_cli(capsys, monkeypatch, *args, env=env, cwd=cwd)

    return run


def test_defaults_pass_a_clean_capture():  # one real subprocess: the installed entry point
    r = synack("check", str(CLEAN), env=env())
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "synack check: passed: all 1 rules hold in 1 capture"
    assert "::error" not in r.stdout


def test_defaults_fail_on_an_error_finding(cli: Cli, tmp_path: Path):
    bad = write_script(tmp_path / "wrong_ack.pcap", WRONG_ACK)
    r = cli("check", str(CLEAN), str(bad))
    assert r.returncode == 1, r.stderr
    out = r.stdout
    assert "FAIL forbid_severities (default): 1 error finding: 1 synack_wrong_ack" in out
    assert "conn 0  10.0.0.1:40000 → 10.0.0.2:80  frames 1, 2" in out
    assert f"→ synack diagram {bad} --conn 0" in out
    assert out.splitlines()[-1] == "synack check: FAILED: 1 of 2 rules broken in 1 of 2 captures"


def test_rules_that_hold(cli: Cli, tmp_path: Path):
    rules = tmp_path / "rules.toml"
    rules.write_text(PASSING)
    r = cli("check", str(CLEAN), "--rules", str(rules), "-v")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok   service/time_wait_side" in r.stdout


def test_rules_that_break_name_rule_line_connection_and_frames(cli: Cli, tmp_path: Path):
    rules = tmp_path / "rules.toml"
    rules.write_text(PASSING)
    r = cli("check", str(SYN_RETRIES), str(SERVER_CLOSE), str(REFUSED), "--rules",
               str(rules))
    assert r.returncode == 1
    out = r.stdout
    assert f"FAIL max_syn_retries ({rules}:6): 1 connection over the limit (up to 4 SYN " \
           "retries); expected at most 0 SYN retries per connection" in out
    assert "frames 3, 5, 8, 13, 16" in out and "SYN sent 5 times (4 retransmissions)" in out
    assert f"FAIL service/time_wait_side ({rules}:14): the server entered TIME_WAIT" in out
    assert "REFUSED: RST from server" in out
    assert f"synack diagram {SERVER_CLOSE} --conn 0" in out
    assert "in 3 of 3 captures" in out.splitlines()[-1]


def test_outputs_are_written(cli: Cli, tmp_path: Path):
    rules = tmp_path / "rules.toml"
    rules.write_text(STARTER_RULES)
    paths = {k: tmp_path / "out" / f"synack.{k}" for k in ("xml", "json", "sarif")}
    r = cli("check", str(SYN_RETRIES), "--rules", str(rules), "--junit", str(paths["xml"]),
               "--json", str(paths["json"]), "--sarif", str(paths["sarif"]), "-q")
    assert r.returncode == 1
    assert r.stdout.splitlines() == ["synack check: FAILED: 6 of 9 rules broken in 1 of 1 "
                                     "capture"]
    assert paths["xml"].read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert json.loads(paths["json"].read_text())["summary"]["broken"] == 6
    assert json.loads(paths["sarif"].read_text())["version"] == "2.1.0"


def test_github_annotations_follow_github_actions(cli: Cli, tmp_path: Path):
    r = cli("check", str(SYN_RETRIES), "--rules", str(tmp_path / "r.toml"))
    assert r.returncode == 2  # (missing rules file)
    rules = tmp_path / "r.toml"
    rules.write_text("max_half_open = 0\n")
    on = cli("check", str(SYN_RETRIES), "--rules", str(rules), env={"GITHUB_ACTIONS": "true"})
    annotations = [ln for ln in on.stdout.splitlines() if ln.startswith("::")]
    assert on.returncode == 1 and len(annotations) == 1
    assert annotations[0].startswith(f"::error file={SYN_RETRIES},title=synack%3A "
                                     f"max_half_open ({rules}%3A1)::1 HALF-OPEN connection")
    off = cli("check", str(SYN_RETRIES), "--rules", str(rules), "--no-github",
                 env={"GITHUB_ACTIONS": "true"})
    assert "::error" not in off.stdout
    forced = cli("check", str(SYN_RETRIES), "--rules", str(rules), "--github")
    assert "::error file=" in forced.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--rules", "{bad}"], "{bad}:2: unknown key 'max_half_opn' in the top level (did you "
                           "mean 'max_half_open'?)"),
    (["--rules", "{missing}"], "{missing}: cannot read rules file"),
    ([], "not-a-capture.txt"),
])
def test_usage_and_input_errors_exit_2_with_one_line(cli: Cli, tmp_path: Path,
                                                     args: list[str], message: str):
    bad = tmp_path / "bad.toml"
    bad.write_text("version = 1\nmax_half_opn = 0\n")
    junk = tmp_path / "not-a-capture.txt"
    junk.write_text("hello")
    names = {"bad": str(bad), "missing": str(tmp_path / "missing.toml")}
    capture = str(CLEAN) if args else str(junk)
    r = cli("check", capture, *[a.format(**names) for a in args])
    assert r.returncode == 2
    assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
    assert message.format(**names) in r.stderr and "Traceback" not in r.stderr


def test_no_capture_is_a_usage_error(cli: Cli):
    r = cli("check")
    assert r.returncode == 2 and "give at least one CAPTURE" in r.stderr


def test_init_writes_a_commented_starter(cli: Cli, tmp_path: Path):
    r = cli("check", "--init", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    written = tmp_path / "synack-rules.toml"
    assert written.read_text() == STARTER_RULES and load_rules(written).rule_sets
    again = cli("check", "--init", cwd=tmp_path)
    assert again.returncode == 2 and "exists: not overwriting it" in again.stderr
    other = cli("check", "--init", str(tmp_path / "ci.toml"), "--force")
    assert other.returncode == 0 and (tmp_path / "ci.toml").exists()
    mixed = cli("check", str(CLEAN), "--init", str(tmp_path / "x.toml"))
    assert mixed.returncode == 2


def test_help_documents_the_exit_codes(cli: Cli):
    r = cli("check", "--help")
    assert r.returncode == 0
    assert "0  every rule holds" in r.stdout and "1  a rule is broken" in r.stdout
    assert "2  usage or input error" in r.stdout
