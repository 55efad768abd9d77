"""Key → line mapping of TOML texts (tomllib keeps no positions)."""

from __future__ import annotations

from analyzer.rules.lines import key_lines, line_of

TEXT = '''\
# comment
version = 1
forbid_findings = [
  "syn_no_reply",   # a comment with = and [brackets]
  "peer_vanished",
]
notes = """
fake_key = 1
[not_a_table]
"""
handshake_rtt_ms = { p95 = 5, max = 20 }
"quoted key" = 1
findings.retransmission.max = 3

[findings.fin_retransmitted]
max = 0

[[scope]]
name = "db"
server_port = 5432

[[scope]]
name = "web"
[scope.findings.syn_no_reply]
max = 1

[[ignore]]
finding = "syn_no_reply"
'''


def test_top_level_keys_and_multiline_values():
    lines = key_lines(TEXT)
    assert lines[("version",)] == 2
    assert lines[("forbid_findings",)] == 3
    assert lines[("notes",)] == 7
    assert ("fake_key",) not in lines and ("not_a_table",) not in lines
    assert lines[("handshake_rtt_ms",)] == 11
    assert lines[("quoted key",)] == 12
    assert lines[("findings", "retransmission", "max")] == 13


def test_tables_and_arrays_of_tables():
    lines = key_lines(TEXT)
    assert lines[("findings", "fin_retransmitted")] == 15
    assert lines[("findings", "fin_retransmitted", "max")] == 16
    assert lines[("scope", 0)] == 18 and lines[("scope", 0, "server_port")] == 20
    assert lines[("scope", 1, "name")] == 23
    assert lines[("scope", 1, "findings", "syn_no_reply", "max")] == 25
    assert lines[("ignore", 0, "finding")] == 28


def test_line_of_falls_back_to_the_longest_known_prefix():
    lines = key_lines(TEXT)
    assert line_of(lines, ("handshake_rtt_ms", "p95")) == 11
    assert line_of(lines, ("forbid_findings", 1)) == 3
    assert line_of(lines, ("nowhere",)) == 0
