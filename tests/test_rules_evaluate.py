"""Rules judged on the sample captures: what passes, what breaks, and the evidence named."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from rules_util import (
    BUSY,
    CLEAN,
    FLOOD,
    REFUSED,
    SERVER_CLOSE,
    SYN_RETRIES,
    SYN_UNANSWERED,
    WRONG_ACK,
    scripted_result,
)

import analyzer
from analyzer.result import AnalysisResult
from analyzer.rules import DEFAULT_RULES, RuleOutcome, evaluate, evaluate_capture, parse_rules


@cache
def result(path: str) -> AnalysisResult:
    return analyzer.analyze(path)


def judge(path: object, text: str) -> dict[str, RuleOutcome]:
    return {o.id: o for o in evaluate(parse_rules(text), result(str(path)))}


ALL_KEYS = """
forbid_severities = ["error", "warning"]
forbid_findings = ["syn_no_reply", "peer_vanished"]
min_connections = 1
require_clean_close = true
max_half_open = 0
max_syn_retries = 0
max_synack_retries = 0
max_retransmission_rate = 0.0
handshake_rtt_ms = { p50 = 1, p95 = 1, max = 1 }
time_wait_side = "client"
findings.retransmission.max = 0
"""


def test_clean_close_passes_every_rule():
    got = judge(CLEAN, ALL_KEYS)
    assert all(o.passed for o in got.values()), [o.message for o in got.values()]
    assert set(got) == {
        "forbid_severities", "forbid_findings.syn_no_reply", "forbid_findings.peer_vanished",
        "findings.retransmission.max", "min_connections", "require_clean_close",
        "max_half_open", "max_syn_retries", "max_synack_retries", "max_retransmission_rate",
        "handshake_rtt_ms.p50", "handshake_rtt_ms.p95", "handshake_rtt_ms.max",
        "time_wait_side"}
    assert got["time_wait_side"].line == 11 and got["handshake_rtt_ms.p95"].line == 10


def test_defaults_pass_a_clean_capture_and_fail_an_error_finding():
    (o,) = evaluate(DEFAULT_RULES, result(str(CLEAN)))
    assert o.passed and o.rule == "forbid_severities" and o.line == 0
    (o,) = evaluate(DEFAULT_RULES, scripted_result(WRONG_ACK))
    assert not o.passed and o.observed == "1 error finding: 1 synack_wrong_ack"
    (ev,) = o.evidence
    assert (ev.check, ev.conn_id, ev.frames) == ("synack_wrong_ack", 0, [1, 2])
    assert ev.connection == "10.0.0.1:40000 → 10.0.0.2:80"


def test_defaults_ignore_warnings():
    assert all(o.passed for o in evaluate(DEFAULT_RULES, result(str(SYN_RETRIES))))


def test_syn_retries_name_the_syn_frames():
    o = judge(SYN_RETRIES, "max_syn_retries = 1")["max_syn_retries"]
    assert not o.passed and o.evidence_total == 1
    (ev,) = o.evidence
    assert ev.frames == [3, 5, 8, 13, 16] and ev.message == "SYN sent 5 times (4 retransmissions)"
    assert judge(SYN_RETRIES, "max_syn_retries = 4")["max_syn_retries"].passed


def test_half_open_and_unclean_close():
    got = judge(SYN_UNANSWERED, "max_half_open = 0\nrequire_clean_close = true")
    o = got["max_half_open"]
    assert not o.passed and o.observed == "1 HALF-OPEN connection"
    assert o.evidence[0].message.startswith("HALF-OPEN: SYN never answered")
    assert o.evidence[0].frames == list(range(3, 11))
    assert not got["require_clean_close"].passed
    o = judge(REFUSED, "require_clean_close = true")["require_clean_close"]
    assert o.evidence[0].message.startswith("REFUSED: RST from server")
    assert o.evidence[0].frames == [4]  # the RST


def test_time_wait_side_names_the_fin_that_started_it():
    o = judge(SERVER_CLOSE, 'time_wait_side = "client"')["time_wait_side"]
    assert not o.passed and o.observed == "the server entered TIME_WAIT on 1 connection"
    assert o.evidence[0].frames == [12] and "server (10.213.0.2)" in o.evidence[0].message
    assert judge(SERVER_CLOSE, 'time_wait_side = "server"')["time_wait_side"].passed


def test_retransmission_rate_and_rtt_percentiles_on_a_busy_capture():
    r = result(str(BUSY))
    c = r.connections
    rate = c["retransmissions"].sum() / (c["pkts_c2s"] + c["pkts_s2c"]).sum()
    got = judge(BUSY, f"max_retransmission_rate = {rate:.6f}\n"
                      "handshake_rtt_ms = { p50 = 1, p95 = 1000, max = 100 }")
    assert got["max_retransmission_rate"].passed
    assert got["handshake_rtt_ms.p50"].passed and got["handshake_rtt_ms.p95"].passed
    o = got["handshake_rtt_ms.max"]
    rtts = c["handshake_rtt_ms"].dropna()
    assert not o.passed and o.evidence_total == int((rtts > 100).sum())
    assert o.observed == f"max handshake RTT {rtts.max():.3f} ms over 300 connections"
    slowest = o.evidence[0]
    assert slowest.conn_id == int(c.loc[c["handshake_rtt_ms"].idxmax(), "conn_id"])
    assert len(slowest.frames) == 3  # SYN, SYN-ACK, ACK
    p95 = judge(BUSY, "handshake_rtt_ms = { p95 = 0.01 }")["handshake_rtt_ms.p95"]
    assert f"p95 handshake RTT {np.percentile(rtts, 95):.3f} ms" in p95.observed
    o = judge(BUSY, "max_retransmission_rate = 0.001")["max_retransmission_rate"]
    assert not o.passed and o.evidence[0].frames  # the retransmitted segments


def test_finding_limits_and_allowed_ids():
    got = judge(BUSY, 'forbid_severities = ["warning"]\nallow_findings = ["fin_retransmitted"]\n'
                      "findings.retransmission.max = 58\n")
    assert all(o.passed for o in got.values())
    got = judge(BUSY, 'forbid_severities = ["warning"]\nfindings.retransmission.max = 10\n')
    assert not got["forbid_severities"].passed
    assert got["forbid_severities"].observed.startswith("27 warning findings: 27 fin_retrans")
    o = got["findings.retransmission.max"]
    assert not o.passed and o.evidence_total == 58 and o.evidence[0].check == "retransmission"


def test_scopes_select_by_port_host_cidr_and_capture():
    text = """
[[scope]]
name = "web"
server_port = 8080
max_syn_retries = 0

[[scope]]
name = "nothing"
server_port = "9000-9100"
min_connections = 1

[[scope]]
host = "10.213.0.0/24"
min_connections = 300

[[scope]]
client = "10.213.0.1"
capture = "*_flood.pcap"
min_connections = 1
"""
    got = judge(BUSY, text)
    assert not got["web/max_syn_retries"].passed
    assert got["web/max_syn_retries"].message.endswith("(web); expected at most 0 SYN retries "
                                                      "per connection")
    assert not got["nothing/min_connections"].passed
    assert got["nothing/min_connections"].observed == "0 connections"
    assert got["host=10.213.0.0/24/min_connections"].passed
    assert not got["client=10.213.0.1 capture=*_flood.pcap/min_connections"].passed
    flood = judge(FLOOD, text)
    assert flood["client=10.213.0.1 capture=*_flood.pcap/min_connections"].passed


def test_scope_rules_judge_only_their_connections():
    text = '[[scope]]\nserver_port = 80\nforbid_severities = ["warning"]\nmax_half_open = 0\n'
    got = judge(FLOOD, text)  # everything in the flood is on port 8080
    assert got["server_port=80/forbid_severities"].passed
    assert got["server_port=80/max_half_open"].passed
    assert not judge(FLOOD, text.replace("= 80", "= 8080"))["server_port=8080/max_half_open"].passed


def test_ignores_exempt_findings_and_connections():
    text = """
forbid_findings = ["syn_no_reply"]
max_half_open = 0

[[ignore]]
finding = "syn_no_reply"
server_port = 8080
reason = "the test probes a dead port on purpose"

[[ignore]]
rule = "max_half_open"
client_port = "20000-20099"
reason = "the flood's first hundred"
"""
    rep = evaluate_capture(parse_rules(text), result(str(FLOOD)))
    got = {o.id: o for o in rep.outcomes}
    assert got["forbid_findings.syn_no_reply"].passed
    assert got["forbid_findings.syn_no_reply"].ignored == 17
    o = got["max_half_open"]
    assert not o.passed and o.ignored == 100 and o.observed == "200 HALF-OPEN connections"
    assert o.evidence_total == 200 and len(o.evidence) == 50
    assert [u.matched for u in rep.ignores] == [17, 100]
    assert rep.findings["warning"] == 318 and rep.connections == 301


def test_capture_name_defaults_to_the_result_source():
    rep = evaluate_capture(DEFAULT_RULES, result(str(CLEAN)))
    assert rep.capture == str(CLEAN) and rep.segments == 11 and rep.passed


@pytest.mark.parametrize("text", ["max_half_open = 0", 'time_wait_side = "client"',
                                  "require_clean_close = true", "max_syn_retries = 0",
                                  "handshake_rtt_ms = { max = 1 }",
                                  "max_retransmission_rate = 0.0"])
def test_connection_rules_on_an_empty_result(text: str):
    empty = scripted_result([])
    assert all(o.passed for o in evaluate(parse_rules(text), empty))
