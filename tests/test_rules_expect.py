"""analyzer.expect(): the rules as chainable pytest assertions."""

from __future__ import annotations

import pytest
from rules_util import CLEAN, SERVER_CLOSE, SYN_RETRIES, SYN_UNANSWERED, WRONG_ACK, scripted_result

import analyzer
from analyzer.errors import RulesError


def test_expectations_that_hold_chain():
    e = analyzer.expect(CLEAN)
    assert e.no_findings(severity="error").no_findings().max_half_open(0).max_syn_retries(0) is e
    e.clean_close().min_connections(1).max_synack_retries(0).max_retransmission_rate(0)
    e.handshake_rtt_ms(p50=1, p95=1, max=1).time_wait_side("client")
    e.max_findings("retransmission", 0).no_findings(check="syn_no_reply")
    e.rules("max_half_open = 0\nrequire_clean_close = true\n")


def test_a_broken_expectation_reads_like_the_cli():
    with pytest.raises(AssertionError) as exc:
        analyzer.expect(SYN_UNANSWERED).no_findings(severity="error").max_half_open(0)
    text = str(exc.value)
    assert text.splitlines()[0] == \
        f"synack: 1 expectation(s) broken in {SYN_UNANSWERED}:"
    assert "FAIL max_half_open: 1 HALF-OPEN connection; expected at most 0 HALF-OPEN" in text
    assert "conn 0  10.213.0.1:46976 → 10.213.0.3:8080  frames 3, 4, 5, 6, 7, 8, 9, 10" in text
    assert f"synack diagram {SYN_UNANSWERED} --conn 0" in text


def test_findings_of_any_severity_by_default():
    with pytest.raises(AssertionError, match="syn_no_reply"):
        analyzer.expect(SYN_RETRIES).no_findings()
    analyzer.expect(SYN_RETRIES).no_findings(severity="error")
    analyzer.expect(SYN_RETRIES).no_findings(
        severity="warning", allow=["syn_no_reply", "synack_no_ack",
                                   "synack_resent_with_different_seq_or_ack"])
    with pytest.raises(AssertionError, match=r"forbid_findings\.synack_no_ack"):
        analyzer.expect(SYN_RETRIES).no_findings(check=["synack_no_ack"])


def test_where_scopes_by_connection_properties():
    e = analyzer.expect(SERVER_CLOSE)
    e.where(server_port=9).time_wait_side("client")  # no connection there
    with pytest.raises(AssertionError, match="the server entered TIME_WAIT"):
        e.where(server_port=8080, host="10.213.0.0/16").time_wait_side("client")
    with pytest.raises(RulesError, match="did you mean 'server_port'"):
        e.where(server_prt=8080)


def test_accepts_an_analysis_result_and_validates_arguments():
    e = analyzer.expect(scripted_result(WRONG_ACK))
    with pytest.raises(AssertionError, match="synack_wrong_ack"):
        e.no_findings(severity="error")
    with pytest.raises(RulesError, match="'mx' is not a percentile"):
        e.handshake_rtt_ms(mx=3)
    with pytest.raises(RulesError, match="unknown severity 'fatal'"):
        e.no_findings(severity="fatal")


def test_expect_is_public():
    assert "expect" in analyzer.__all__
