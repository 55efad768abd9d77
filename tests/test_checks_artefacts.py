"""Capture-artefact checks (analyzer/checks/artefacts.py, gaps.py, offload.py) and the
state_unknown check (state.py): trigger and near miss."""

from __future__ import annotations

import numpy as np
from checks_util import CLOSE, HANDSHAKE, C, S, checks, found, run
from scripted import columns

from analyzer.checks.artefacts import duplicate_mask
from analyzer.flows import build_flows
from analyzer.schema import ANOM_BAD_FLAGS, ANOM_TRUNCATED_PAYLOAD

DATA = [("c", "PA", C + 1, S + 1, 100, 0.1), ("s", "A", S + 1, C + 101, 0, 0.2)]


def test_duplicate_mask_marks_the_second_copy_only():
    script = HANDSHAKE + [("c", "PA", C + 1, S + 1, 100, 0.1, {"ip_id": 50}),
                          ("c", "PA", C + 1, S + 1, 100, 0.10001, {"ip_id": 50})]
    cols = columns(script)
    assert duplicate_mask(cols, build_flows(cols)).tolist() == [False] * 4 + [True]


def test_duplicate_mask_near_misses():
    # a retransmission gets a new IP ID
    cols = columns(HANDSHAKE + [("c", "PA", C + 1, S + 1, 100, 0.1),
                                ("c", "PA", C + 1, S + 1, 100, 0.3)])
    assert not duplicate_mask(cols, build_flows(cols)).any()
    # identical SYN-ACKs with IP ID 0 sent twice by Linux (timer + answer to a resent SYN)
    cols = columns([("c", "S", C, 0, 0, 0.0), ("s", "SA", S, C + 1, 0, 0.01, {"ip_id": 0}),
                    ("c", "S", C, 0, 0, 1.0), ("s", "SA", S, C + 1, 0, 1.00002, {"ip_id": 0}),
                    ("s", "SA", S, C + 1, 0, 1.00004, {"ip_id": 0})])
    assert not duplicate_mask(cols, build_flows(cols)).any()
    # ... but the same with another interface (or TTL) is one packet seen twice
    cols["iface"][4] = 1
    assert duplicate_mask(cols, build_flows(cols)).tolist() == [False] * 4 + [True]


def test_duplicate_packet_finding():
    r = run(HANDSHAKE + [("c", "PA", C + 1, S + 1, 100, 0.1, {"ip_id": 50}),
                         ("c", "PA", C + 1, S + 1, 100, 0.100002, {"ip_id": 50})])
    f = found(r, "duplicate_packet").iloc[0]
    assert f["severity"] == "info" and list(f["frames"]) == [4, 5] and "2 µs" in f["observed"]


def test_truncated_by_snaplen():
    r = run(HANDSHAKE + [("c", "PA", C + 1, S + 1, 1400, {"cap_payload_len": 200,
                                                          "anomalies": ANOM_TRUNCATED_PAYLOAD})])
    f = found(r, "truncated_by_snaplen").iloc[0]
    assert f["expected"].startswith("1400 payload bytes") and "1200 bytes missing" in f["observed"]
    assert "truncated_by_snaplen" not in checks(run(HANDSHAKE + DATA))


def test_mid_connection_start():
    r = run([("c", "PA", C + 50, S + 70, 10), ("s", "A", S + 70, C + 60, 0)])
    f = found(r, "mid_connection_start").iloc[0]
    assert f["severity"] == "info" and "no SYN or SYN-ACK captured" in f["observed"]
    missed_syn = run([("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 1, 0)])
    assert "client's SYN was not captured" in found(missed_syn, "mid_connection_start")[
        "observed"].iloc[0]
    assert "mid_connection_start" not in checks(run(HANDSHAKE))


def test_segment_not_captured_gap_in_the_middle():
    r = run(HANDSHAKE + [("c", "PA", C + 1, S + 1, 100, 0.1),
                         ("c", "PA", C + 201, S + 1, 100, 0.12),  # C+101..C+200 missing
                         ("s", "A", S + 1, C + 301, 0, 0.2)])
    f = found(r, "segment_not_captured").iloc[0]
    assert f["frame"] == 6 and f["expected_rel"] == "101..200"
    assert "100 bytes acknowledged" in f["observed"]


def test_segment_not_captured_one_sided_capture():
    r = run([("s", "A", S + 1, C + 1, 0), ("s", "A", S + 1, C + 501, 0),
             ("s", "A", S + 1, C + 1501, 0)])
    f = found(r, "segment_not_captured").iloc[0]
    assert "one-sided" in f["message"] and "1500 bytes" in f["observed"]


def test_segment_not_captured_near_misses():
    # capture reordering: the ACK comes first, the data later in the file
    reorder = run(HANDSHAKE + [("s", "A", S + 1, C + 101, 0, 0.1),
                               ("c", "PA", C + 1, S + 1, 100, 0.1)])
    assert "segment_not_captured" not in checks(reorder)
    # a keep-alive (seq = SND.NXT - 1) answered by an ACK of SND.NXT
    keepalive = run([("c", "A", C + 100, S + 1, 0), ("s", "A", S + 1, C + 101, 0)])
    assert "segment_not_captured" not in checks(keepalive)
    # a wrong third-segment ack is a handshake error, not a missed segment
    wrong = run([("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 9999, 0)])
    assert "segment_not_captured" not in checks(wrong)
    assert "handshake_ack_wrong_ack" in checks(wrong)
    assert "segment_not_captured" not in checks(run(HANDSHAKE + DATA + CLOSE))


def test_bad_checksum_likely_offload_acknowledged_segments():
    bad = {"csum_ok": 0}
    r = run([("c", "S", C, 0, 0, bad), ("s", "SA", S, C + 1, 0, {"csum_ok": 1}),
             ("c", "A", C + 1, S + 1, 0, bad), ("c", "PA", C + 1, S + 1, 100, bad),
             ("s", "A", S + 1, C + 101, 0, {"csum_ok": 1})])
    f = found(r, "bad_checksum_likely_offload")
    assert len(f) == 1 and "10.0.0.1" in f.iloc[0]["observed"]
    assert "acknowledged by the peer" in f.iloc[0]["message"]


def test_bad_checksum_near_miss_real_corruption():
    # both sides have a bad segment, neither was acknowledged: corruption, not offload
    r = run(HANDSHAKE + [("c", "PA", C + 1, S + 1, 100, 0.1, {"csum_ok": 0}),
                         ("s", "PA", S + 1, C + 1, 100, 0.2, {"csum_ok": 0}),
                         ("c", "PA", C + 1, S + 1, 100, 0.5, {"csum_ok": 1}),
                         ("s", "A", S + 1, C + 101, 0, 0.6, {"csum_ok": 1})])
    assert "bad_checksum_likely_offload" not in checks(r)


def test_segment_exceeds_mss():
    r = run([("c", "S", C, 0, 0, {"opt_mss": 1460}), ("s", "SA", S, C + 1, 0, {"opt_mss": 1400}),
             ("c", "A", C + 1, S + 1, 0), ("c", "PA", C + 1, S + 1, 2800),
             ("s", "PA", S + 1, C + 2801, 1460)])
    f = found(r, "segment_exceeds_mss")
    assert len(f) == 1 and "MSS 1400" in f.iloc[0]["expected"]
    assert "largest 2800 bytes" in f.iloc[0]["observed"]


def test_state_unknown_impossible_flags():
    r = run(HANDSHAKE + [("c", "SF", C + 1, S + 1, 0, {"anomalies": ANOM_BAD_FLAGS})])
    f = found(r, "state_unknown").iloc[0]
    assert "impossible flag combination" in f["observed"] and f["frame"] == 4


def test_state_unknown_talking_after_closed():
    r = run(HANDSHAKE + [("c", "RA", C + 1, S + 1, 0, 0.1), ("c", "PA", C + 1, S + 1, 10, 0.2)])
    f = found(r, "state_unknown").iloc[0]
    assert "kept sending new data after reaching CLOSED" in f["observed"] and f["frame"] == 5


def test_state_unknown_near_misses():
    assert "state_unknown" not in checks(run(HANDSHAKE + DATA + CLOSE))
    # an RST answering a segment that reaches a closed endpoint is what CLOSED does
    r = run(HANDSHAKE + [("c", "RA", C + 1, S + 1, 0, 0.1), ("s", "PA", S + 1, C + 1, 10, 0.2),
                         ("c", "R", C + 1, 0, 0, 0.21)])
    assert "state_unknown" not in checks(r)


def test_every_check_survives_degenerate_input():
    """Empty capture, one packet, no SYN, RSTs only, wrap-around, junk flags: no exception."""
    from scripted import ADDRESSES

    from analyzer.api import analyze_columns

    empty = {k: v[:0] for k, v in columns(HANDSHAKE).items()}
    assert analyze_columns(empty, ADDRESSES).findings.empty
    scripts = [
        [("c", "R", 5, 0, 0)], [("s", "A", 1, 1, 0)], [("c", "F", 0, 0, 0)],
        [("c", "", 7, 7, 3, {"anomalies": ANOM_BAD_FLAGS})],
        [("c", "S", (1 << 32) - 1, 0, 0), ("s", "SA", 0, 0, 0), ("c", "A", 0, 1, 0),
         ("c", "PA", 0, 1, 100), ("c", "FA", 100, 1, 0), ("s", "FA", 1, 101, 0)],
        [("c", "SA", C, S, 0), ("c", "SA", C + 1, S, 0), ("s", "R", 0, 0, 0)],
        [("s", "FA", S, C, 5), ("s", "FA", S + 10, C, 5), ("c", "RA", C, S + 3, 9)],
    ]
    for script in scripts:
        r = run(script)
        assert set(r.findings["severity"].astype(str)) <= {"error", "warning", "info"}
        assert np.all(r.findings["conn_id"].to_numpy() < len(r.connections))
