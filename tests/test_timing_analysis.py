"""The timing stage as a whole (analyzer.timing.analysis) and its place in the result."""

from __future__ import annotations

from timing_util import C, S, handshake, run

from analyzer.timing import analyze_timing
from analyzer.timing.percon import PER_CONNECTION_COLUMNS


def _lossy() -> list[tuple]:
    return handshake() + [("c", "PA", C + 1, S + 1, 100, 0.1), ("c", "PA", C + 1, S + 1, 100, 0.31),
                          ("s", "A", S + 1, C + 101, 0, 0.32)]


def test_connections_get_the_timing_columns():
    r = run(_lossy())
    for col in PER_CONNECTION_COLUMNS:
        assert col in r.connections.columns
    row = r.connections.iloc[0]
    assert row["retransmissions"] == 1 and row["retx_rto"] == 1 and row["longest_backoff"] == 1
    assert row["srtt_c2s_ms"] > 0 and row["timing_fit"] == 1.0


def test_result_retransmissions_property():
    r = run(_lossy())
    fresh = run(_lossy())
    assert "timing" not in vars(fresh)  # not computed by analyze ...
    assert len(fresh.retransmissions) == 1  # ... but on first use
    assert r.retransmissions is r.timing.retransmissions


def test_reanalysis_under_another_profile():
    r = run(_lossy())
    t = analyze_timing(r, "rfc")
    assert t.profile.name == "rfc"
    assert t.retransmissions["expected_rto_s"].iloc[0] == 1.0  # RFC 6298 minimum
    assert not bool(t.retransmissions["fits_profile"].iloc[0])  # 210 ms < RFC's 1 s minimum


def test_empty_capture_parts():
    r = run([("c", "S", C, 0, 0, 0.0)])
    t = r.timing
    assert t is not None and t.retransmissions.empty and t.chains.empty
    assert t.time_wait.empty and t.time_wait_series.empty and t.rtt.empty
