"""Retransmission detection and classification (analyzer.timing.segments / classify)."""

from __future__ import annotations

from timing_util import C, S, handshake, kind_of, run, timing, tx

MSS = 1000


def test_rto_chain_is_timer_driven():
    r = run(handshake() + [("c", "PA", C + 1, S + 1, 100, 0.10),
                           ("c", "PA", C + 1, S + 1, 100, 0.31),
                           ("c", "PA", C + 1, S + 1, 100, 0.73),
                           ("s", "A", S + 1, C + 101, 0, 0.75)])
    t = tx(r)
    assert list(t["frame"]) == [5, 6]
    assert list(t["kind"]) == ["rto", "rto"]
    assert list(t["timeout"]) == [1, 2]
    assert t["timer"].all()
    assert list(t["original_frame"]) == [4, 4]
    assert abs(t["gap_s"].iloc[0] - 0.21) < 1e-9 and abs(t["ratio"].iloc[1] - 2.0) < 1e-9


def _flight(n: int, t: float, step: float = 0.0001) -> list[tuple]:
    """The server sends n full segments starting at time t."""
    return [("s", "PA", S + 1 + i * MSS, C + 1, MSS, t + i * step) for i in range(n)]


def test_fast_retransmit_after_three_duplicate_acks():
    dup = [("c", "A", C + 1, S + 1, 0, 0.2 + i * 0.001) for i in range(4)]
    r = run(handshake() + _flight(5, 0.19) + dup
            + [("s", "PA", S + 1, C + 1, MSS, 0.2035), ("c", "A", C + 1, S + 1 + 5 * MSS, 0, 0.21)])
    assert kind_of(r, 13) == "fast"
    assert tx(r)["trigger"].iloc[0] == "dupacks"


def test_fast_retransmit_on_sack_evidence():
    sack = {"opt_sack_blocks": 1, "opt_sack_left": S + 1 + MSS, "opt_sack_right": S + 1 + 3 * MSS}
    r = run(handshake(sack=True) + _flight(3, 0.19)
            + [("c", "A", C + 1, S + 1, 0, 0.2, sack), ("s", "PA", S + 1, C + 1, MSS, 0.2001),
               ("c", "A", C + 1, S + 1 + 3 * MSS, 0, 0.21)])
    assert kind_of(r, 8) == "fast"
    assert tx(r)["trigger"].iloc[0] == "sack"


def test_tail_loss_probe_two_srtt_after_the_tail():
    # SACK connection, RTT 20 ms: the last of three segments is re-sent 45 ms later
    r = run(handshake(sack=True) + _flight(3, 0.1)
            + [("s", "PA", S + 1 + 2 * MSS, C + 1, MSS, 0.1452),
               ("c", "A", C + 1, S + 1 + 3 * MSS, 0, 0.16)])
    assert kind_of(r, 7) == "tlp"
    assert not tx(r)["timer"].iloc[0]


def test_no_tlp_without_sack():
    r = run(handshake(sack=False) + _flight(3, 0.1)
            + [("s", "PA", S + 1 + 2 * MSS, C + 1, MSS, 0.1452)])
    assert kind_of(r, 7) == "rto"


def test_spurious_when_the_ack_was_already_on_its_way():
    r = run(handshake() + [("c", "PA", C + 1, S + 1, 100, 0.1),
                           ("s", "A", S + 1, C + 101, 0, 0.31),
                           ("c", "PA", C + 1, S + 1, 100, 0.3101)])
    assert kind_of(r, 6) == "spurious"
    assert tx(r)["spurious_by"].iloc[0] == "ack"


def test_ack_seen_long_before_was_lost_after_the_capture_point():
    r = run(handshake() + [("c", "PA", C + 1, S + 1, 100, 0.1),
                           ("s", "A", S + 1, C + 101, 0, 0.11),
                           ("c", "PA", C + 1, S + 1, 100, 0.31)])
    assert kind_of(r, 6) == "rto"
    assert bool(tx(r)["ack_lost"].iloc[0])


def test_spurious_proved_by_dsack():
    dsack = {"opt_sack_blocks": 1, "opt_sack_left": C + 1, "opt_sack_right": C + 101}
    r = run(handshake(sack=True) + [("c", "PA", C + 1, S + 1, 100, 0.1),
                                    ("c", "PA", C + 1, S + 1, 100, 0.35),
                                    ("s", "A", S + 1, C + 101, 0, 0.36, dsack)])
    assert kind_of(r, 5) == "spurious"
    assert tx(r)["spurious_by"].iloc[0] == "dsack"


def test_spurious_proved_by_timestamps():
    r = run(handshake() + [("c", "PA", C + 1, S + 1, 100, 0.1, {"opt_ts_val": 100}),
                           ("c", "PA", C + 1, S + 1, 100, 0.35, {"opt_ts_val": 350}),
                           ("s", "A", S + 1, C + 101, 0, 0.36, {"opt_ts_ecr": 100})])
    assert kind_of(r, 5) == "spurious"
    assert tx(r)["spurious_by"].iloc[0] == "timestamps"


def test_ack_echoing_the_retransmission_is_not_eifel_evidence():
    r = run(handshake() + [("c", "PA", C + 1, S + 1, 100, 0.1, {"opt_ts_val": 100}),
                           ("c", "PA", C + 1, S + 1, 100, 0.35, {"opt_ts_val": 350}),
                           ("s", "A", S + 1, C + 101, 0, 0.36, {"opt_ts_ecr": 350})])
    assert kind_of(r, 5) == "rto"


def test_duplicate_capture_is_not_a_retransmission():
    same = {"ip_id": 77}
    r = run(handshake() + [("c", "PA", C + 1, S + 1, 100, 0.1, same),
                           ("c", "PA", C + 1, S + 1, 100, 0.10001, same),
                           ("s", "A", S + 1, C + 101, 0, 0.12)])
    assert kind_of(r, 5) == "duplicate"
    t = timing(r)
    assert t.chains.empty
    assert int(t.per_connection.loc[0, "retransmissions"]) == 0
    assert int(t.per_connection.loc[0, "dup_captured"]) == 1


def test_out_of_order_segment_is_not_a_retransmission():
    r = run(handshake() + [("s", "PA", S + 1001, C + 1, 1000, 0.1),
                           ("s", "PA", S + 1, C + 1, 1000, 0.1005),
                           ("c", "A", C + 1, S + 2001, 0, 0.11)])
    assert tx(r).empty
    assert list(timing(r).out_of_order) == [5]


def test_gap_filled_long_after_is_a_retransmission_of_an_unseen_original():
    r = run(handshake() + [("s", "PA", S + 1001, C + 1, 1000, 0.1),
                           ("c", "A", C + 1, S + 1, 0, 0.11),
                           ("s", "PA", S + 1, C + 1, 1000, 0.4)])
    assert kind_of(r, 6) == "rto"
    assert tx(r)["original_frame"].iloc[0] == -1


def test_keepalive_is_not_a_retransmission():
    r = run(handshake() + [("c", "PA", C + 1, S + 1, 10, 0.1), ("s", "A", S + 1, C + 11, 0, 0.11),
                           ("c", "A", C + 10, S + 1, 1, 60.0), ("s", "A", S + 1, C + 11, 0, 60.01)])
    assert tx(r).empty


def test_zero_window_probe_and_its_byte_are_not_retransmissions():
    r = run(handshake() + [("s", "PA", S + 1, C + 1, 100, 0.1),
                           ("c", "A", C + 1, S + 101, 0, 0.11, {"window": 0}),
                           ("s", "A", S + 101, C + 1, 1, 0.3),
                           ("c", "A", C + 1, S + 101, 0, 0.31, {"window": 0}),
                           ("s", "A", S + 101, C + 1, 1, 0.7),
                           ("c", "A", C + 1, S + 101, 0, 0.71, {"window": 1000}),
                           ("s", "PA", S + 101, C + 1, 500, 0.72)])
    assert tx(r).empty


def test_syn_retransmissions_and_the_synack_that_answers_one():
    r = run([("c", "S", C, 0, 0, 0.0), ("c", "S", C, 0, 0, 1.0), ("s", "SA", S, C + 1, 0, 1.0001),
             ("c", "A", C + 1, S + 1, 0, 1.0002)])
    assert kind_of(r, 2) == "rto"
    assert tx(r)["segment"].iloc[0] == "syn"


def test_synack_resent_in_answer_to_a_repeated_syn_is_a_reply():
    r = run([("c", "S", C, 0, 0, 0.0), ("s", "SA", S, C + 1, 0, 0.0001),
             ("c", "S", C, 0, 0, 1.0), ("s", "SA", S, C + 1, 0, 1.0001),
             ("c", "A", C + 1, S + 1, 0, 1.0002)])
    assert kind_of(r, 4) == "reply"
    assert kind_of(r, 3) == "rto"
