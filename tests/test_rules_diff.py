"""synack diff as a library: metrics and regressions beyond thresholds."""

from __future__ import annotations

import pytest
from rules_util import BUSY, CLEAN, SYN_RETRIES

import analyzer
from analyzer.errors import RulesError
from analyzer.rules.diff import Thresholds, diff_results, parse_thresholds


def metrics(before: object, after: object, t: Thresholds | None = None) -> dict[str, object]:
    rep = diff_results(analyzer.analyze(str(before)), analyzer.analyze(str(after)), t)
    return {m.label: m for m in rep.metrics}


def test_same_capture_has_no_regression():
    rep = diff_results(analyzer.analyze(str(CLEAN)), analyzer.analyze(str(CLEAN)))
    assert rep.regressions == []
    assert [m.label for m in rep.metrics] == [
        "connections", "state CLOSED", "handshake_rtt_ms.p50", "handshake_rtt_ms.p95",
        "handshake_rtt_ms.max", "retransmission_rate"]


def test_a_broken_run_regresses_states_findings_and_retransmissions():
    got = metrics(CLEAN, SYN_RETRIES)
    assert got["state HALF-OPEN"].regression == "+1 HALF-OPEN connections (more than 0)"
    assert got["finding syn_no_reply"].regression.startswith("+1 warning findings")
    assert got["finding retransmission"].regression == ""  # info: not judged by default
    assert got["retransmission_rate"].regression.startswith("up 81.25%")
    assert got["connections"].regression == ""  # not judged unless set
    assert got["state CLOSED"].regression == ""  # fewer CLOSED is not judged on its own


def test_rtt_needs_both_the_relative_and_the_absolute_increase():
    got = metrics(CLEAN, BUSY)
    assert got["handshake_rtt_ms.max"].regression.startswith("up 2056.")
    assert got["handshake_rtt_ms.p50"].regression == ""  # 0.025 → 0.0245 ms
    relaxed = metrics(CLEAN, BUSY, Thresholds(rtt_min_increase_ms=5000))
    assert relaxed["handshake_rtt_ms.max"].regression == ""


def test_thresholds_file_validation_and_overrides():
    t = parse_thresholds("rtt_increase_pct = 20\nstate_increase = { RESET = 2 }\n"
                         "connections_change_pct = 10\n")
    assert t.rtt_increase_pct == 20 and t.state_increase == (("RESET", 2),)
    assert t.retransmission_rate_increase == 0.01  # default kept
    got = metrics(CLEAN, BUSY, t)
    assert got["connections"].regression == "changed by +299 (more than ±10 %)"
    with pytest.raises(RulesError, match=r"^t\.toml:2: unknown key 'rtt_increse'"):
        parse_thresholds("finding_increase = 1\nrtt_increse = 3\n", "t.toml")
    with pytest.raises(RulesError, match="unknown summary state 'HALFOPEN'"):
        parse_thresholds("state_increase = { HALFOPEN = 0 }\n")
