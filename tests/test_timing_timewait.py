"""TIME_WAIT table, per-host series and the TIME_WAIT checks (analyzer.timing.timewait)."""

from __future__ import annotations

import pytest
from timing_util import C, S, found, handshake, run, timing

CLIENT_CLOSES = [("c", "FA", C + 1, S + 1, 0, 0.1), ("s", "A", S + 1, C + 2, 0, 0.11),
                 ("s", "FA", S + 1, C + 2, 0, 0.2), ("c", "A", C + 2, S + 2, 0, 0.21)]
SERVER_CLOSES = [("s", "FA", S + 1, C + 1, 0, 0.1), ("c", "A", C + 1, S + 2, 0, 0.11),
                 ("c", "FA", C + 1, S + 2, 0, 0.2), ("s", "A", S + 2, C + 2, 0, 0.21)]
BOTH_CLOSE = [("c", "FA", C + 1, S + 1, 0, 0.1), ("s", "FA", S + 1, C + 1, 0, 0.1001),
              ("c", "A", C + 2, S + 2, 0, 0.11), ("s", "A", S + 2, C + 2, 0, 0.1101)]


@pytest.mark.parametrize(("close", "side"), [(CLIENT_CLOSES, "client"),
                                             (SERVER_CLOSES, "server"), (BOTH_CLOSE, "both")])
def test_time_wait_side(close, side):
    r = run(handshake() + close)
    assert r.connections.loc[0, "time_wait_side"] == side
    tw = timing(r).time_wait
    assert set(tw["endpoint"]) == ({"client", "server"} if side == "both" else {side})
    assert (tw["until"] == "capture_end").all()
    assert (tw["expected_s"] == 60.0).all()


def test_time_wait_on_server_is_reported_per_server_port():
    r = run(handshake() + SERVER_CLOSES)
    f = found(r, "time_wait_on_server")
    assert len(f) == 1 and f["severity"].iloc[0] == "info"
    assert found(run(handshake() + CLIENT_CLOSES), "time_wait_on_server").empty


def test_profile_sets_two_msl():
    r = run(handshake() + CLIENT_CLOSES, profile="rfc")
    assert timing(r).time_wait["expected_s"].iloc[0] == 240.0
    assert timing(r).profile.name == "rfc"


def test_expired_inside_the_capture():
    r = run(handshake() + CLIENT_CLOSES + [("s", "A", S + 2, C + 2, 0, 100.0)])
    tw = timing(r).time_wait
    assert tw["until"].iloc[0] == "expired"
    assert tw["observed_s"].iloc[0] == pytest.approx(60.0)


def _reuse(gap: float, isn: int, ts: bool) -> list[tuple]:
    """Client closes (TIME_WAIT on the client) and reconnects from the same port."""
    t = 0.21 + gap
    old_ts = {"opt_ts_val": 1000, "opt_ts_ecr": 1} if ts else {}
    new_ts = {"opt_ts_val": 1000 + int(gap * 1000), "opt_ts_ecr": 0} if ts else {}
    close = [(d, f, sq, ak, n, tt, old_ts) if d == "c" else (d, f, sq, ak, n, tt)
             for d, f, sq, ak, n, tt in CLIENT_CLOSES]
    return handshake() + close + [("c", "S", isn, 0, 0, t, new_ts),
                                  ("s", "SA", 90000, isn + 1, 0, t + 0.001),
                                  ("c", "A", isn + 1, 90001, 0, t + 0.002)]


def test_reuse_before_two_msl_with_evidence_is_info():
    r = run(_reuse(5.0, C + 100000, ts=True))
    tw = timing(r).time_wait
    assert tw["end"].iloc[0] == "reuse" and tw["reuse_conn"].iloc[0] == 1
    assert tw["reuse_gap_s"].iloc[0] == pytest.approx(5.0, abs=0.01)
    f = found(r, "time_wait_reuse_too_soon")
    assert len(f) == 1 and f["severity"].iloc[0] == "info"
    assert bool(tw["ts_advanced"].iloc[0]) and bool(tw["isn_advanced"].iloc[0])


def test_reuse_before_two_msl_with_a_lower_isn_and_no_timestamps_is_a_warning():
    r = run(_reuse(5.0, C - 50000, ts=False))
    f = found(r, "time_wait_reuse_too_soon")
    assert len(f) == 1 and f["severity"].iloc[0] == "warning"
    assert not bool(timing(r).time_wait["reuse_safe"].iloc[0])


def test_reuse_after_two_msl_is_fine():
    r = run(_reuse(61.0, C + 100000, ts=False))
    assert found(r, "time_wait_reuse_too_soon").empty
    assert timing(r).time_wait["until"].iloc[0] == "expired"


def test_fin_resent_during_time_wait_and_acked_again():
    r = run(handshake() + CLIENT_CLOSES + [("s", "FA", S + 1, C + 2, 0, 0.41),
                                           ("c", "A", C + 2, S + 2, 0, 0.4101)])
    tw = timing(r).time_wait.iloc[0]
    assert tw["until"] == "fin_resent" and tw["fin_resent"] == 1
    assert tw["fin_reacked_frame"] == 9 and tw["observed_s"] == pytest.approx(0.41 - 0.2)
    f = found(r, "fin_resent_during_time_wait")
    assert len(f) == 1 and f["severity"].iloc[0] == "info"
    assert tw["last_restart_ns"] > tw["enter_ns"]


def test_fin_resent_and_not_acked_again_is_a_warning():
    r = run(handshake() + CLIENT_CLOSES + [("s", "FA", S + 1, C + 2, 0, 0.41)])
    assert found(r, "fin_resent_during_time_wait")["severity"].iloc[0] == "warning"


def test_rst_kills_time_wait():
    r = run(handshake() + CLIENT_CLOSES + [("s", "R", S + 2, 0, 0, 5.0)])
    tw = timing(r).time_wait.iloc[0]
    assert tw["end"] == "rst" and tw["until"] == "rst"
    assert len(found(r, "rst_kills_time_wait")) == 1


def test_series_counts_time_wait_sockets_per_host():
    r = run(handshake() + CLIENT_CLOSES)
    s = timing(r).time_wait_series
    assert list(s["change"]) == [1, -1] and list(s["count"]) == [1, 0]
    assert list(s["inferred"]) == [False, True]
    assert str(s["host"].iloc[0]) == "10.0.0.1"
