"""Backoff chains and their outcomes (analyzer.timing.chains / outcomes) and the chain
checks: backoff_not_doubling, rto_below_minimum, rto_above_expected,
retransmission_limit_reached, peer_vanished."""

from __future__ import annotations

import numpy as np
from timing_util import C, S, found, handshake, run, run_many, timing


def _resends(times: list[float], t0: float = 0.1, length: int = 100) -> list[tuple]:
    return [("c", "PA", C + 1, S + 1, length, t0)] + \
        [("c", "PA", C + 1, S + 1, length, t) for t in times]


def _later_traffic(t: float) -> tuple[list[tuple], dict[str, int]]:
    """Another connection much later, so that the capture goes on."""
    return [("c", "S", 9000, 0, 0, t), ("s", "SA", 7000, 9001, 0, t + 0.001)], {"cport": 40001}


def test_chain_lists_times_gaps_and_ratios():
    r = run(handshake() + _resends([0.31, 0.72, 1.53]) + [("s", "A", S + 1, C + 101, 0, 1.6)])
    ch = timing(r).chains
    assert len(ch) == 1
    c = ch.iloc[0]
    assert c["retries"] == 3 and c["timeouts"] == 3 and c["outcome"] == "answered"
    assert np.allclose(c["times_s"], [0.21, 0.62, 1.43])
    assert np.allclose(c["gaps_s"], [0.21, 0.41, 0.81])
    assert np.isnan(c["ratios"][0]) and np.allclose(c["ratios"][1:], [0.41 / 0.21, 0.81 / 0.41])
    assert list(c["frames"]) == [5, 6, 7] and c["original_frame"] == 4


def test_doubling_backoff_is_not_flagged():
    r = run(handshake() + _resends([0.31, 0.72, 1.53, 3.15]) + [("s", "A", S + 1, C + 101, 0, 3.2)])
    assert found(r, "backoff_not_doubling").empty
    assert timing(r).profile.name == "linux"


def test_linear_retries_are_flagged():
    r = run(handshake() + _resends([0.35, 0.60, 0.85, 1.10]) + [("s", "A", S + 1, C + 101, 0, 1.2)])
    f = found(r, "backoff_not_doubling")
    assert list(f["frame"]) == [6, 7, 8]
    assert f["expected"].iloc[0] == "×2"


def test_rto_below_minimum():
    r = run(handshake() + _resends([0.15]) + [("s", "A", S + 1, C + 101, 0, 0.2)],
            profile="linux")
    f = found(r, "rto_below_minimum")
    assert list(f["frame"]) == [5]


def test_rto_above_expected_for_a_syn():
    r = run([("c", "S", C, 0, 0, 0.0), ("c", "S", C, 0, 0, 2.5), ("s", "SA", S, C + 1, 0, 2.5001),
             ("c", "A", C + 1, S + 1, 0, 2.5002)], profile="linux")
    assert list(found(r, "rto_above_expected")["frame"]) == [2]


def test_sender_gives_up_after_its_retries():
    syns = [("c", "S", C, 0, 0, t) for t in (0.0, 1.0, 3.0, 7.0)]
    r = run_many([(syns, {}), _later_traffic(40.0)])
    ch = timing(r).chains
    assert ch.iloc[0]["outcome"] == "gave_up"
    f = found(r, "retransmission_limit_reached")
    assert len(f) == 1 and f["conn_id"].iloc[0] == 0


def test_capture_ending_before_the_next_retry_is_not_giving_up():
    syns = [("c", "S", C, 0, 0, t) for t in (0.0, 1.0, 3.0, 7.0)]
    r = run(syns)
    assert timing(r).chains.iloc[0]["outcome"] == "capture_end"
    assert found(r, "retransmission_limit_reached").empty


def test_peer_vanished_after_the_connection_worked():
    script = handshake() + [("c", "PA", C + 1, S + 1, 100, 0.1),
                            ("s", "A", S + 1, C + 101, 0, 0.11)] \
        + [("c", "PA", C + 101, S + 1, 100, t) for t in (1.0, 1.2, 1.6, 2.4, 4.0, 7.2)]
    r = run(script)
    f = found(r, "peer_vanished")
    assert len(f) == 1 and f["severity"].iloc[0] == "warning"
    assert timing(r).chains.iloc[0]["peer_silent"]


def test_no_peer_vanished_when_the_peer_answers_in_the_end():
    script = handshake() + [("c", "PA", C + 1, S + 1, 100, t) for t in (0.1, 0.3, 0.7, 1.5)] \
        + [("s", "A", S + 1, C + 101, 0, 1.51)]
    assert found(run(script), "peer_vanished").empty


def test_retransmission_findings_per_resend():
    r = run(handshake() + _resends([0.31, 0.72]) + [("s", "A", S + 1, C + 101, 0, 0.8)])
    f = found(r, "retransmission")
    assert list(f["frame"]) == [5, 6]
    assert "rto" in f["message"].iloc[0] and "重传" in f["message_zh"].iloc[0]
    assert list(f["frames"].iloc[0]) == [4, 5]
