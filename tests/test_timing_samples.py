"""The timing analysis on the real-kernel sample captures, against their truth files.

Measured gaps must agree with the gaps the generator read from the same capture within
5 % (or 20 ms), and with the configuration's nominal gaps within the timer tolerance
(late by up to 15 %, never early); ``auto`` must pick Linux (with the client's own
tcp_syn_linear_timeouts), and the TIME_WAIT side must match the kernel's ss snapshots.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analyzer
from analyzer.result import AnalysisResult
from analyzer.timing import Timing
from analyzer.timing.profiles import within_tolerance

SAMPLES = Path(__file__).resolve().parent.parent / "sample_pcaps"
TRUTHS = sorted(SAMPLES.glob("*.truth.json"))



@cache
def load(name: str) -> tuple[dict, AnalysisResult]:
    truth = json.loads((SAMPLES / f"{name}.truth.json").read_text())
    return truth, analyzer.analyze(str(SAMPLES / truth["capture"]["file"]))


def timing(result: AnalysisResult) -> Timing:
    assert result.timing is not None
    return result.timing


def agree(measured: list[float], truth: list[float]) -> bool:
    m, t = np.asarray(measured), np.asarray(truth)
    return len(m) == len(t) and bool(np.all(np.abs(m - t) <= np.maximum(0.05 * t, 0.02)))


def conn_of(result: AnalysisResult, truth_conn: dict) -> int:
    """Our connection holding the truth connection's first frame."""
    rows = np.flatnonzero(result.columns["frame"] == truth_conn["wire"]["first_frame"])
    return int(result.flows.conn[rows[0]])


def chain(result: AnalysisResult, conn: int, segment: str) -> pd.Series:
    ch = timing(result).chains
    ch = ch[(ch["conn_id"] == conn) & (ch["segment"] == segment)]
    return ch.sort_values("original_frame").iloc[0]


def _exists(name: str) -> bool:
    return (SAMPLES / f"{name}.truth.json").exists()


SYN_SAMPLES = [n for n in ("06_syn_retries_linear0", "06_syn_retries_linear4",
                           "10_syn_unanswered") if _exists(n)]


@pytest.mark.parametrize("name", SYN_SAMPLES)
def test_syn_retry_gaps(name):
    truth, result = load(name)
    tc = truth["connections"][0]
    c = chain(result, conn_of(result, tc), "syn")
    assert agree(c["gaps_s"], tc["wire"]["syn_gaps_s"]), (c["gaps_s"], tc["wire"])
    nominal = tc["expected"]["syn_retry_gaps_s"]
    assert within_tolerance(np.asarray(c["gaps_s"]), np.asarray(nominal)).all()
    lin = truth["sysctls"]["client"]["net.ipv4.tcp_syn_linear_timeouts"]
    t = timing(result)
    assert t.profile.name == "linux" and t.profile.syn_linear_timeouts == lin
    assert (c["kinds"] == "rto").all()


def test_synack_retry_gaps_and_the_server_giving_up():
    truth, result = load("07_synack_retries")
    tc = truth["connections"][0]
    c = chain(result, conn_of(result, tc), "synack")
    assert agree(c["gaps_s"], tc["wire"]["synack_gaps_s"])
    assert within_tolerance(np.asarray(c["gaps_s"]),
                            np.asarray(tc["expected"]["synack_retry_gaps_s"])).all()
    assert c["outcome"] == "gave_up" and c["answer_seen"]  # the ACKs died after capture
    assert timing(result).profile.name == "linux"
    assert "retransmission_limit_reached" in set(result.findings["check"])


@pytest.mark.parametrize("name", [n for n in ("08_data_rto_backoff", "10_peer_vanished")
                                  if _exists(n)])
def test_data_rto_chain(name):
    truth, result = load(name)
    tc = truth["connections"][0]
    exp = tc["expected"]["data_rto_chain"]
    conn = conn_of(result, tc)
    ch = timing(result).chains
    c = ch[(ch["conn_id"] == conn) & (ch["timeouts"] >= 3)].iloc[0]
    assert agree(c["gaps_s"], exp["observed_gaps_s"]), (c["gaps_s"], exp["observed_gaps_s"])
    tx = timing(result).retransmissions
    rto = tx[(tx["chain_id"] == c["chain_id"]) & (tx["timeout"] >= 1)]
    assert rto["fits_profile"].all()
    assert rto["expected_rto_s"].iloc[0] == pytest.approx(exp["nominal_first_rto_s"], abs=0.01)
    assert timing(result).profile.name == "linux"
    assert found_checks(result).isdisjoint({"backoff_not_doubling", "rto_below_minimum",
                                            "rto_above_expected"})


def found_checks(result: AnalysisResult) -> set[str]:
    return set(result.findings["check"])


def test_tail_loss_probe_before_the_rto():
    _, result = load("08_data_rto_backoff")
    tx = timing(result).retransmissions
    first = tx.sort_values("frame").iloc[0]
    assert first["kind"] == "tlp" and first["gap_s"] < 0.05


def test_peer_vanished_is_reported():
    truth, result = load("10_peer_vanished")
    f = result.findings[result.findings["check"] == "peer_vanished"]
    assert list(f["conn_id"]) == [conn_of(result, truth["connections"][0])]
    # Linux, one segment in flight: the tail-loss probe fires at the RTO, then the RTO
    # re-arms without backoff — the first two gaps are equal (see docs/timing.md)
    tx = timing(result).retransmissions
    assert list(tx["kind"].iloc[:2]) == ["tlp", "rto"]


def test_time_wait_resent_fin_and_reuse():
    truth, result = load("11_time_wait")
    first, second = (conn_of(result, c) for c in truth["connections"])
    tw = timing(result).time_wait.set_index("conn_id")
    assert tw.loc[first, "until"] == "fin_resent" and tw.loc[first, "end"] == "reuse"
    assert tw.loc[first, "reuse_conn"] == second and bool(tw.loc[first, "reuse_safe"])
    checks = found_checks(result)
    assert {"fin_resent_during_time_wait", "time_wait_reuse_too_soon"} <= checks


def _kernel_time_wait(truth_conn: dict) -> set[str]:
    """Sides the kernel's last ss snapshot shows in TIME-WAIT."""
    last: dict[str, str] = {}
    for snap in truth_conn["ss"]:
        if snap.get("present", True) and snap.get("state"):
            last[snap["side"]] = snap["state"]
    return {side for side, state in last.items() if state == "TIME-WAIT"}


TW_CASES = [(t.name.removesuffix(".truth.json"), i)
            for t in TRUTHS for i, c in enumerate(json.loads(t.read_text())["connections"])
            if _kernel_time_wait(c)]


@pytest.mark.parametrize(("name", "index"), TW_CASES)
def test_time_wait_side_matches_ss(name, index):
    truth, result = load(name)
    tc = truth["connections"][index]
    side = result.connections.loc[conn_of(result, tc), "time_wait_side"]
    kernel = _kernel_time_wait(tc)
    assert side == ("both" if len(kernel) == 2 else next(iter(kernel)))


@pytest.mark.parametrize("name", [t.name.removesuffix(".truth.json") for t in TRUTHS])
def test_auto_never_picks_another_os_on_linux_captures(name):
    _, result = load(name)
    assert timing(result).profile.name == "linux"
