"""Teardown and reset checks (analyzer/checks/teardown.py, reset.py): trigger and near miss."""

from __future__ import annotations

from checks_util import CLOSE, HANDSHAKE, C, S, checks, found, run


def test_fin_ack_wrong_beyond_the_fin():
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0), ("s", "A", S + 1, C + 3, 0),
                         ("s", "FA", S + 1, C + 3, 0), ("c", "A", C + 2, S + 2, 0)])
    f = found(r, "fin_ack_wrong").iloc[0]
    assert f["severity"] == "error" and f["frame"] == 5 and list(f["frames"]) == [4, 5]
    assert f["expected"] == "1002 (FIN seq + len + 1, rel 2)" and f["observed"] == "1003 (rel 3)"


def test_fin_ack_wrong_forgot_the_plus_one():
    # the server acks FIN seq (not +1), closes its side, the client acks the server's FIN:
    # the client's FIN was received, but its ACK never counted the FIN's sequence number
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 5), ("s", "A", S + 1, C + 6, 0),
                         ("s", "FA", S + 1, C + 6, 0), ("c", "A", C + 7, S + 2, 0)])
    f = found(r, "fin_ack_wrong").iloc[0]
    assert f["expected"] == "1007 (FIN seq + len + 1, rel 7)" and f["observed"] == "1006 (rel 6)"


def test_fin_ack_near_misses():
    assert "fin_ack_wrong" not in checks(run(HANDSHAKE + CLOSE))
    # simultaneous close: each FIN carries ack = peer FIN seq (crossing), later ACKs count it
    crossing = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0), ("s", "FA", S + 1, C + 1, 0),
                                ("c", "A", C + 2, S + 2, 0), ("s", "A", S + 2, C + 2, 0)])
    assert "fin_ack_wrong" not in checks(crossing)
    # an ACK of FIN seq only, then the FIN is retransmitted: lost, not miscounted
    lost = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0, 0.1), ("s", "A", S + 1, C + 1, 0, 0.2),
                            ("c", "FA", C + 1, S + 1, 0, 0.5), ("s", "A", S + 1, C + 2, 0, 0.6)])
    assert "fin_ack_wrong" not in checks(lost)


def test_data_after_fin():
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0), ("s", "A", S + 1, C + 2, 0),
                         ("c", "PA", C + 2, S + 1, 10)])
    f = found(r, "data_after_fin").iloc[0]
    assert f["frame"] == 6 and f["severity"] == "error" and "1001 (rel 1)" in f["expected"]


def test_data_after_fin_near_misses_half_close_and_retransmission():
    # half-close: the *other* side keeps sending after the FIN — normal
    half = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0), ("s", "A", S + 1, C + 2, 0),
                            ("s", "PA", S + 1, C + 2, 100), ("c", "A", C + 2, S + 101, 0)])
    assert "data_after_fin" not in checks(half)
    # the FIN sender retransmits data sent before its FIN — allowed
    retx = run(HANDSHAKE + [("c", "PA", C + 1, S + 1, 10, 0.1), ("c", "FA", C + 11, S + 1, 0, 0.2),
                            ("c", "PA", C + 1, S + 1, 10, 0.5),
                            ("s", "A", S + 1, C + 12, 0, 0.6)])
    assert "data_after_fin" not in checks(retx)


def test_fin_retransmitted_says_whether_the_ack_was_seen():
    r = run(HANDSHAKE + [("s", "FA", S + 1, C + 1, 0, 0.1), ("c", "A", C + 1, S + 2, 0, 0.11),
                         ("s", "FA", S + 1, C + 1, 0, 0.4), ("c", "A", C + 1, S + 2, 0, 0.41)])
    f = found(r, "fin_retransmitted").iloc[0]
    assert f["frame"] == 6 and list(f["frames"]) == [4, 6] and "sent 2 times" in f["observed"]
    assert "lost after the capture point" in f["message"]
    assert "fin_retransmitted" not in checks(run(HANDSHAKE + CLOSE))


def test_fin_captured_twice_is_a_duplicate_not_a_retransmission():
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0, 0.1, {"ip_id": 77, "iface": 0}),
                         ("c", "FA", C + 1, S + 1, 0, 0.1001, {"ip_id": 77, "iface": 1})])
    assert "fin_retransmitted" not in checks(r)
    assert "duplicate_packet" in checks(r)


def test_rst_out_of_window():
    r = run(HANDSHAKE + [("c", "R", C + 1 + 10_000_000, 0, 0)], window=1000)
    f = found(r, "rst_out_of_window").iloc[0]
    assert f["severity"] == "warning" and f["observed"] == "seq 10001001 (rel 10000001)"
    assert "RCV.NXT 1001 (rel 1), RCV.WND 1000" in f["expected"]
    assert "ESTABLISHED" in f["message"]


def test_rst_in_syn_sent_must_acknowledge_the_syn():
    r = run([("c", "S", C, 0, 0), ("s", "RA", 0, C + 7, 0)])
    f = found(r, "rst_out_of_window").iloc[0]
    assert "SYN_SENT" in f["message"] and f["expected"].startswith("ACK flag with ack 1001")
    assert "connection_refused" not in checks(r)


def test_rst_near_misses():
    at_nxt = run(HANDSHAKE + [("c", "R", C + 1, 0, 0)])
    assert "rst_out_of_window" not in checks(at_nxt)
    refused = run([("c", "S", C, 0, 0), ("s", "RA", 0, C + 1, 0)])
    assert "rst_out_of_window" not in checks(refused)
    assert found(refused, "connection_refused").iloc[0]["severity"] == "info"


def test_rst_with_data():
    r = run(HANDSHAKE + [("s", "RA", S + 1, C + 1, 12)])
    f = found(r, "rst_with_data").iloc[0]
    assert f["severity"] == "info" and f["observed"] == "12 bytes of payload"
    assert "rst_with_data" not in checks(run(HANDSHAKE + [("s", "RA", S + 1, C + 1, 0)]))


def test_challenge_ack_to_in_window_rst():
    r = run(HANDSHAKE + [("c", "R", C + 1 + 5, 0, 0, 0.1), ("s", "A", S + 1, C + 1, 0, 0.1001),
                         ("c", "R", C + 1, 0, 0, 0.2)])
    f = found(r, "challenge_ack").iloc[0]
    assert list(f["frames"]) == [4, 5] and f["frame"] == 5 and "RST" in f["message"]
    assert "rst_out_of_window" not in checks(r)


def test_challenge_ack_to_syn_on_an_open_4_tuple():
    r = run(HANDSHAKE + [("c", "S", C + 99_000, 0, 0, 1.0), ("s", "A", S + 1, C + 1, 0, 1.001),
                         ("c", "R", C + 1, 0, 0, 1.002)])
    f = found(r, "challenge_ack")
    assert len(f) == 1 and "SYN" in f.iloc[0]["message"]
    # the client's RST answers the challenge ACK with exactly its ack: acceptable
    assert "rst_out_of_window" not in checks(r)


def test_challenge_ack_near_miss_rst_answered_by_data_is_not_a_challenge():
    r = run(HANDSHAKE + [("c", "R", C + 1 + 5, 0, 0, 0.1), ("s", "PA", S + 1, C + 1, 10, 0.1001)])
    assert "challenge_ack" not in checks(r)
