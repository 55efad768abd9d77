"""Handshake checks (analyzer/checks/handshake.py, handshake_repeat.py, options.py): each one
triggered by a minimal segment script, and a near miss that must stay silent."""

from __future__ import annotations

from checks_util import CLOSE, HANDSHAKE, C, S, checks, found, run

W = 1 << 32


def test_clean_handshake_and_close_have_no_findings():
    r = run(HANDSHAKE + [("c", "PA", C + 1, S + 1, 10), ("s", "A", S + 1, C + 11, 0),
                         ("c", "FA", C + 11, S + 1, 0), ("s", "A", S + 1, C + 12, 0),
                         ("s", "FA", S + 1, C + 12, 0), ("c", "A", C + 12, S + 2, 0)])
    assert r.findings.empty


def test_synack_wrong_ack_raw_and_relative():
    r = run([("c", "S", C, 0, 0), ("s", "SA", S, C + 2, 0), ("c", "R", C + 2, 0, 0)])
    f = found(r, "synack_wrong_ack").iloc[0]
    assert f["severity"] == "error" and f["frame"] == 2 and list(f["frames"]) == [1, 2]
    assert f["expected"] == "1001 (ISN+1, rel 1)" and f["observed"] == "1002 (rel 2)"
    assert f["expected_rel"] == "1" and f["observed_rel"] == "2"
    assert "RFC 9293" in f["rfc"] and "确认号" in f["message_zh"]


def test_synack_wrong_ack_near_miss_tfo_data_acknowledged():
    r = run([("c", "S", C, 0, 10, {"opt_tfo": 1}), ("s", "SA", S, C + 11, 0),
             ("c", "A", C + 11, S + 1, 0)])
    assert "synack_wrong_ack" not in checks(r)
    assert "handshake_ack_wrong_seq" not in checks(r)


def test_synack_wrong_ack_across_wrap_around():
    c = W - 1  # ISN + 1 wraps to 0
    assert "synack_wrong_ack" not in checks(run([("c", "S", c, 0, 0), ("s", "SA", S, 0, 0),
                                                 ("c", "A", 0, S + 1, 0)]))
    r = run([("c", "S", c, 0, 0), ("s", "SA", S, 1, 0)])
    assert found(r, "synack_wrong_ack").iloc[0]["expected"].startswith("0 (ISN+1")


def test_handshake_ack_wrong_ack():
    r = run([("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S, 0)])
    f = found(r, "handshake_ack_wrong_ack").iloc[0]
    assert f["expected"] == "5001 (server ISN+1, rel 1)" and f["observed"] == "5000 (rel 0)"
    assert f["frame"] == 3


def test_handshake_ack_near_miss_ack_covers_server_data():
    # the server's data after its SYN-ACK (TFO style) may be acknowledged by the third segment
    r = run([("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0), ("s", "PA", S + 1, C + 1, 10),
             ("c", "A", C + 1, S + 11, 0)])
    assert "handshake_ack_wrong_ack" not in checks(r)


def test_handshake_ack_wrong_seq():
    r = run([("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0), ("c", "A", C, S + 1, 0)])
    f = found(r, "handshake_ack_wrong_seq").iloc[0]
    assert f["expected"] == "1001 (ISN+1, rel 1)" and f["observed"] == "1000 (rel 0)"
    assert "handshake_ack_wrong_seq" not in checks(run(HANDSHAKE))


def test_syn_with_data_warning_without_tfo_info_with_cookie():
    plain = found(run([("c", "S", C, 0, 20), ("s", "SA", S, C + 1, 0)]), "syn_with_data")
    assert plain.iloc[0]["severity"] == "warning"
    assert "did not acknowledge" in plain.iloc[0]["message"]
    tfo = found(run([("c", "S", C, 0, 20, {"opt_tfo": 1}), ("s", "SA", S, C + 21, 0)]),
                "syn_with_data")
    assert tfo.iloc[0]["severity"] == "info" and "TFO cookie" in tfo.iloc[0]["observed"]
    assert "syn_with_data" not in checks(run(HANDSHAKE))


def test_syn_resent_with_new_isn():
    # the flows open a new connection for the new ISN; the check looks across them
    r = run([("c", "S", C, 0, 0, 0.0), ("c", "S", C + 777, 0, 0, 1.0)])
    f = found(r, "syn_resent_with_new_isn").iloc[0]
    assert list(f["frames"]) == [1, 2] and f["observed"].startswith("1777 (")
    assert f["expected"] == "1000 (ISN of the first SYN)" and f["frame"] == 2
    near = run([("c", "S", C, 0, 0, 0.0), ("c", "S", C, 0, 0, 1.0)])  # a plain retransmission
    assert "syn_resent_with_new_isn" not in checks(near)
    # a new SYN after the first attempt was answered (refused) is a new connection, not this
    after = run([("c", "S", C, 0, 0, 0.0), ("s", "RA", 0, C + 1, 0, 0.1),
                 ("c", "S", C + 777, 0, 0, 1.0)])
    assert "syn_resent_with_new_isn" not in checks(after)


def test_synack_resent_with_different_seq():
    r = run([("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0, 0.1),
             ("s", "SA", S + 999, C + 1, 0, 1.1)])
    f = found(r, "synack_resent_with_different_seq_or_ack").iloc[0]
    assert f["frame"] == 3 and "5999" in f["observed"]


def test_synack_resent_near_misses():
    same = run([("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0, 0.1), ("s", "SA", S, C + 1, 0, 1.1)])
    assert "synack_resent_with_different_seq_or_ack" not in checks(same)
    # a new ack explained by the client's new SYN (new ISN) is not a fault of the SYN-ACK
    new_syn = run([("c", "S", C, 0, 0, 0.0), ("s", "SA", S, C + 1, 0, 0.1),
                   ("c", "S", C + 50, 0, 0, 1.0), ("s", "SA", S, C + 51, 0, 1.1)])
    assert "synack_resent_with_different_seq_or_ack" not in checks(new_syn)


def test_ack_number_without_ack_flag():
    r = run([("c", "S", C, 12345, 0), ("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 1, 0)])
    f = found(r, "ack_number_without_ack_flag").iloc[0]
    assert f["severity"] == "info" and f["observed"] == "ack 12345"
    assert "ack_number_without_ack_flag" not in checks(run(HANDSHAKE))


def test_simultaneous_open():
    r = run([("c", "S", C, 0, 0), ("s", "S", S, 0, 0), ("c", "SA", C, S + 1, 0),
             ("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 1, 0)])
    f = found(r, "simultaneous_open").iloc[0]
    assert f["severity"] == "info" and list(f["frames"]) == [1, 2]
    assert "synack_wrong_ack" not in checks(r)
    assert "simultaneous_open" not in checks(run(HANDSHAKE))


def test_handshake_options_mismatch():
    r = run([("c", "S", C, 0, 0, {"opt_wscale": 7, "opt_sack_perm": True}),
             ("s", "SA", S, C + 1, 0, {"opt_sack_perm": True}), ("c", "A", C + 1, S + 1, 0)])
    f = found(r, "handshake_options_mismatch").iloc[0]
    assert f["severity"] == "info" and "window scaling: client only" in f["observed"]
    both = run([("c", "S", C, 0, 0, {"opt_wscale": 7}), ("s", "SA", S, C + 1, 0, {"opt_wscale": 9}),
                ("c", "A", C + 1, S + 1, 0)])
    assert "handshake_options_mismatch" not in checks(both)


def test_options_in_synack_that_the_syn_did_not_offer_is_a_warning():
    r = run([("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0, {"opt_ts_val": 5, "opt_ts_ecr": 0}),
             ("c", "A", C + 1, S + 1, 0)])
    assert found(r, "handshake_options_mismatch").iloc[0]["severity"] == "warning"


def test_messages_exist_in_both_languages_for_every_finding():
    r = run([("c", "S", C, 7, 20), ("s", "SA", S, C + 2, 0), ("c", "A", C, S, 0)] + CLOSE)
    assert len(r.findings) >= 4
    for row in r.findings.itertuples():
        assert row.message and row.message_zh and row.message != row.message_zh
