"""Half-open checks (analyzer/checks/halfopen.py, flood.py): trigger and near miss, and the
difference between half-open (a fault) and half-closed (a normal state)."""

from __future__ import annotations

import numpy as np
from checks_util import CLOSE, HANDSHAKE, C, S, checks, found, problems, run
from scripted import ADDRESSES, columns, merge

from analyzer.api import analyze_columns
from analyzer.checks import flood, halfopen

HALF_OPEN_CHECKS = {"syn_no_reply", "synack_no_ack", "fin_wait_2_abandoned", "peer_vanished"}


def test_syn_no_reply_with_retries():
    r = run([("c", "S", C, 0, 0, 0.0), ("c", "S", C, 0, 0, 1.0), ("c", "S", C, 0, 0, 3.0)])
    f = found(r, "syn_no_reply").iloc[0]
    assert f["severity"] == "warning" and list(f["frames"]) == [1, 2, 3]
    assert f["observed"] == "3 SYN(s) over 3.000 s; no answer captured"
    assert f["expected"] == "a SYN-ACK acknowledging 1001 (ISN+1, rel 1)"


def test_syn_no_reply_at_the_very_end_of_the_capture_is_only_info():
    r = run([("c", "S", C, 0, 0, 0.0)])
    f = found(r, "syn_no_reply").iloc[0]
    assert f["severity"] == "info" and "the answer may have come later" in f["message"]


def test_syn_no_reply_when_the_synack_never_reached_the_client():
    r = run([("c", "S", C, 0, 0, 0.0), ("s", "SA", S, C + 1, 0, 0.01),
             ("c", "S", C, 0, 0, 1.0), ("s", "SA", S, C + 1, 0, 1.01)])
    assert "lost after the capture point" in found(r, "syn_no_reply").iloc[0]["message"]
    assert "synack_no_ack" in checks(r)  # and the server is left in SYN_RECEIVED


def test_syn_no_reply_near_misses():
    assert "syn_no_reply" not in checks(run(HANDSHAKE))
    refused = run([("c", "S", C, 0, 0), ("s", "RA", 0, C + 1, 0)])
    assert not HALF_OPEN_CHECKS & checks(refused)
    assert "connection_refused" in checks(refused)


def test_synack_no_ack():
    r = run([("c", "S", C, 0, 0, 0.0), ("s", "SA", S, C + 1, 0, 0.01),
             ("s", "SA", S, C + 1, 0, 1.01), ("s", "SA", S, C + 1, 0, 3.01)])
    f = found(r, "synack_no_ack").iloc[0]
    assert f["severity"] == "warning" and "3 SYN-ACK(s)" in f["observed"]
    assert f["expected"] == "an ACK acknowledging 5001 (server ISN+1, rel 1)"


def test_synack_no_ack_with_the_ack_lost_after_the_capture_point():
    # the server keeps resending its SYN-ACK although the ACK is in the capture,
    # then gives up; the client's data gets an RST
    r = run([("c", "S", C, 0, 0, 0.0), ("s", "SA", S, C + 1, 0, 0.01),
             ("c", "A", C + 1, S + 1, 0, 0.02), ("s", "SA", S, C + 1, 0, 1.01),
             ("c", "A", C + 1, S + 1, 0, 1.02), ("c", "PA", C + 1, S + 1, 10, 9.0),
             ("s", "R", S + 1, 0, 0, 9.01)])
    f = found(r, "synack_no_ack").iloc[0]
    assert "was captured but never reached it" in f["message"]


def test_synack_no_ack_near_miss_scanner_reset():
    # a SYN scanner resets the half-open connection: the server is not left in SYN_RECEIVED
    r = run([("c", "S", C, 0, 0, 0.0), ("s", "SA", S, C + 1, 0, 0.01),
             ("c", "R", C + 1, 0, 0, 0.02), ("c", "A", C + 1, S + 1, 0, 5.0)])
    assert "synack_no_ack" not in checks(r)
    assert "synack_no_ack" not in checks(run(HANDSHAKE + CLOSE))


def test_fin_wait_2_abandoned_names_the_grace_period():
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0, 0.1), ("s", "A", S + 1, C + 2, 0, 0.2),
                         ("c", "A", C + 2, S + 1, 0, 80.0)])  # e.g. a keep-alive, much later
    f = found(r, "fin_wait_2_abandoned").iloc[0]
    assert f["severity"] == "warning" and "60 s" in f["expected"]
    assert f["frame"] == 5


def test_fin_wait_2_within_the_grace_period_is_not_abandoned():
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0, 0.1), ("s", "A", S + 1, C + 2, 0, 0.2),
                         ("c", "A", C + 2, S + 1, 0, 30.0)])
    assert "fin_wait_2_abandoned" not in checks(r)


def test_fin_wait_2_grace_is_a_parameter(monkeypatch):
    monkeypatch.setattr(halfopen, "FIN_WAIT_2_GRACE_S", 10.0)
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0, 0.1), ("s", "A", S + 1, C + 2, 0, 0.2),
                         ("c", "A", C + 2, S + 1, 0, 30.0)])
    assert "10 s" in found(r, "fin_wait_2_abandoned").iloc[0]["expected"]


def test_half_closed_is_never_half_open():
    # the client half-closes (FIN) and keeps receiving data for a long time: normal
    script = HANDSHAKE + [("c", "FA", C + 1, S + 1, 0, 0.1), ("s", "A", S + 1, C + 2, 0, 0.2)]
    for i in range(10):
        script += [("s", "PA", S + 1 + 100 * i, C + 2, 100, 1.0 + 10 * i),
                   ("c", "A", C + 2, S + 101 + 100 * i, 0, 1.01 + 10 * i)]
    r = run(script)
    assert r.connections.iloc[0]["summary"] == "HALF-CLOSED"
    assert not HALF_OPEN_CHECKS & checks(r)
    assert not problems(r)


def test_half_open_is_reported_and_is_not_half_closed():
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0, 0.1), ("s", "A", S + 1, C + 2, 0, 0.2),
                         ("c", "A", C + 2, S + 1, 0, 90.0)])
    assert "fin_wait_2_abandoned" in checks(r)
    half_open = run([("c", "S", C, 0, 0, 0.0), ("c", "S", C, 0, 0, 1.0)])
    assert half_open.connections.iloc[0]["summary"] == "HALF-OPEN"
    assert "syn_no_reply" in checks(half_open)


def _flood(n: int, spacing_s: float, sources: int = 1, port: int = 80) -> dict[str, np.ndarray]:
    parts = []
    for i in range(n):
        cols = columns([("c", "S", C + i, 0, 0, i * spacing_s),
                        ("s", "SA", S + i, C + i + 1, 0, i * spacing_s + 0.001)],
                       cport=20000 + i, sport=port)
        cols["src"] = np.where(cols["src"] == 0, 2 + i % sources, cols["src"])
        cols["dst"] = np.where(cols["dst"] == 0, 2 + i % sources, cols["dst"])
        parts.append(cols)
    return merge(parts)


FLOOD_ADDRESSES = ADDRESSES + [f"192.0.2.{k}" for k in range(50)]


def test_syn_flood_counts_window_and_sources():
    r = analyze_columns(_flood(150, 0.01, sources=50), FLOOD_ADDRESSES)
    f = found(r, "syn_flood")
    assert len(f) == 1
    obs = f.iloc[0]["observed"]
    assert obs.startswith("150 half-open connections to 10.0.0.2:80 within 1.490 s")
    assert "50 source address(es)" in obs and "150 source port(s)" in obs


def test_syn_flood_near_misses_and_thresholds(monkeypatch):
    slow = analyze_columns(_flood(150, 0.2), FLOOD_ADDRESSES)  # at most 51 per 10 s
    assert "syn_flood" not in checks(slow)
    few = analyze_columns(_flood(60, 0.01), FLOOD_ADDRESSES)
    assert "syn_flood" not in checks(few)
    monkeypatch.setattr(flood, "SYN_FLOOD_MIN_HALF_OPEN", 50)
    assert "syn_flood" in checks(analyze_columns(_flood(60, 0.01), FLOOD_ADDRESSES))
