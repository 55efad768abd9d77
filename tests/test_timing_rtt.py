"""RTT samples with Karn's rule and the RFC 6298 estimate (analyzer.timing.rtt)."""

from __future__ import annotations

import pytest
from timing_util import C, S, handshake, run, timing


def test_samples_add_the_handshake_leg_of_the_far_side():
    # capture point: 2 ms from the client, 8 ms from the server (RTT 20 ms)
    hs = [("c", "S", C, 0, 0, 0.0), ("s", "SA", S, C + 1, 0, 0.016),
          ("c", "A", C + 1, S + 1, 0, 0.020)]
    r = run(hs + [("c", "PA", C + 1, S + 1, 100, 0.1), ("s", "A", S + 1, C + 101, 0, 0.116)])
    rtt = timing(r).rtt
    c2s = rtt[rtt["direction"] == "c2s"]
    assert c2s["leg_ms"].iloc[-1] == pytest.approx(16.0)
    assert c2s["rtt_ms"].iloc[-1] == pytest.approx(20.0)
    s2c = rtt[rtt["direction"] == "s2c"]
    assert s2c["rtt_ms"].iloc[0] == pytest.approx(20.0)  # SYN-ACK → ACK leg + SYN leg


def test_karn_no_sample_from_a_retransmitted_segment():
    r = run(handshake() + [("c", "PA", C + 1, S + 1, 100, 0.1), ("c", "PA", C + 1, S + 1, 100, 0.4),
                           ("s", "A", S + 1, C + 101, 0, 0.41)])
    rtt = timing(r).rtt
    assert 4 not in set(rtt["frame"])  # the data segment was resent: Karn's rule


def test_estimator_follows_rfc6298():
    script = handshake(rtt=0.02)
    t, seq = 0.1, C + 1
    for rtt_s in (0.02, 0.04, 0.02):
        script += [("c", "PA", seq, S + 1, 10, t), ("s", "A", S + 1, seq + 10, 0, t + rtt_s / 2)]
        t, seq = t + 0.1, seq + 10
    rtt = timing(run(script)).rtt
    c2s = rtt[rtt["direction"] == "c2s"].reset_index(drop=True)
    samples = list(c2s["rtt_ms"])
    assert samples == pytest.approx([20.0, 20.0, 30.0, 20.0])
    srtt, var = 20.0, 10.0
    for x in samples[1:]:
        var = 0.75 * var + 0.25 * abs(srtt - x)
        srtt = 0.875 * srtt + 0.125 * x
    assert c2s["srtt_ms"].iloc[-1] == pytest.approx(srtt)
    assert c2s["rttvar_ms"].iloc[-1] == pytest.approx(var)
    assert c2s["rto_ms"].iloc[-1] == pytest.approx(srtt + max(4 * var, 200.0))  # linux
