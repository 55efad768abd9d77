"""The endpoint state machine, driven by scripted segment sequences."""

from __future__ import annotations

import pytest
from scripted import ADDRESSES, columns

from analyzer.api import analyze_columns
from analyzer.flows import build_flows
from analyzer.tcpstate import endpoint_timelines

C, S = 1000, 5000  # client and server ISNs
W = 1 << 32

HANDSHAKE = [("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 1, 0)]


def run(script, **kw):
    cols = columns(script, **kw)
    return analyze_columns(cols, ADDRESSES)


def path(result, endpoint, conn=0):
    tr = result.transitions
    tr = tr[(tr["conn_id"] == conn) & (tr["endpoint"] == endpoint)]
    init = str(result.timelines.initial[conn][0 if endpoint == "client" else 1])
    return [init, *tr["to_state"].tolist()]


def finals(result, conn=0):
    row = result.connections.iloc[conn]
    return row["client_final"], row["server_final"]


def test_textbook_life_cycle():
    r = run(HANDSHAKE + [
        ("c", "PA", C + 1, S + 1, 10), ("s", "A", S + 1, C + 11, 0),
        ("c", "FA", C + 11, S + 1, 0), ("s", "A", S + 1, C + 12, 0),
        ("s", "FA", S + 1, C + 12, 0), ("c", "A", C + 12, S + 2, 0)])
    assert path(r, "client") == ["CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1",
                                 "FIN_WAIT_2", "TIME_WAIT"]
    assert path(r, "server") == ["LISTEN", "SYN_RECEIVED", "ESTABLISHED", "CLOSE_WAIT",
                                 "LAST_ACK", "CLOSED"]
    assert r.connections.iloc[0]["summary"] == "CLOSED"
    tr = r.transitions
    fw1 = tr[(tr["endpoint"] == "client") & (tr["to_state"] == "FIN_WAIT_1")].iloc[0]
    assert fw1["frame"] == 6 and bool(fw1["observed"])
    cw = tr[(tr["endpoint"] == "server") & (tr["to_state"] == "CLOSE_WAIT")].iloc[0]
    assert cw["frame"] == 6 and not bool(cw["observed"]) and cw["evidence_frame"] == 7


def test_three_segment_close_piggybacked_fin_ack():
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0), ("s", "FA", S + 1, C + 2, 0),
                         ("c", "A", C + 2, S + 2, 0)])
    assert path(r, "client")[-3:] == ["FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT"]
    assert path(r, "server")[-3:] == ["CLOSE_WAIT", "LAST_ACK", "CLOSED"]


def test_simultaneous_close_goes_through_closing():
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0), ("s", "FA", S + 1, C + 1, 0),
                         ("c", "A", C + 2, S + 2, 0), ("s", "A", S + 2, C + 2, 0)])
    assert path(r, "client")[-3:] == ["FIN_WAIT_1", "CLOSING", "TIME_WAIT"]
    assert path(r, "server")[-3:] == ["FIN_WAIT_1", "CLOSING", "TIME_WAIT"]
    assert finals(r) == ("TIME_WAIT", "TIME_WAIT")


def test_simultaneous_open():
    r = run([("c", "S", C, 0, 0), ("s", "S", S, 0, 0), ("c", "SA", C, S + 1, 0),
             ("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 1, 0)])
    assert path(r, "client") == ["CLOSED", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED"]
    assert path(r, "server") == ["CLOSED", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED"]


def test_half_close_is_not_half_open():
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0), ("s", "A", S + 1, C + 2, 0),
                         ("s", "PA", S + 1, C + 2, 100), ("c", "A", C + 2, S + 101, 0),
                         ("s", "PA", S + 101, C + 2, 100), ("c", "A", C + 2, S + 201, 0)])
    assert finals(r) == ("FIN_WAIT_2", "CLOSE_WAIT")
    assert r.connections.iloc[0]["summary"] == "HALF-CLOSED"


def test_syn_without_reply_is_half_open():
    r = run([("c", "S", C, 0, 0, 0.0), ("c", "S", C, 0, 0, 1.0), ("c", "S", C, 0, 0, 3.0)])
    assert len(r.connections) == 1  # retransmitted SYNs stay in their connection
    assert finals(r) == ("SYN_SENT", "UNKNOWN")
    assert r.connections.iloc[0]["summary"] == "HALF-OPEN"


def test_synack_lost_after_capture_point_keeps_client_in_syn_sent():
    # The capture shows the SYN-ACK, but the client resends its SYN: it never got it.
    r = run([("c", "S", C, 0, 0, 0.0), ("s", "SA", S, C + 1, 0, 0.01),
             ("c", "S", C, 0, 0, 1.0), ("s", "SA", S, C + 1, 0, 1.01)])
    assert finals(r) == ("SYN_SENT", "SYN_RECEIVED")
    assert "ESTABLISHED" not in path(r, "client")


def test_lost_final_ack_keeps_server_in_syn_received_until_it_gets_through():
    r = run(HANDSHAKE + [("s", "SA", S, C + 1, 0, 1.0), ("c", "A", C + 1, S + 1, 0, 1.01)])
    tr = r.transitions
    est = tr[(tr["endpoint"] == "server") & (tr["to_state"] == "ESTABLISHED")]
    assert est["frame"].tolist() == [5]  # the first ACK (frame 3) was lost: SYN-ACK resent
    assert finals(r) == ("ESTABLISHED", "ESTABLISHED")


def test_refused_connection():
    r = run([("c", "S", C, 0, 0), ("s", "RA", 0, C + 1, 0)])
    assert path(r, "client") == ["CLOSED", "SYN_SENT", "CLOSED"]
    assert path(r, "server") == ["CLOSED"]
    assert r.connections.iloc[0]["summary"] == "REFUSED"


def test_rst_with_wrong_ack_in_syn_sent_is_ignored():
    r = run([("c", "S", C, 0, 0), ("s", "RA", 0, C + 7, 0)])
    assert finals(r)[0] == "SYN_SENT"


@pytest.mark.parametrize("prefix,who", [
    ([], "client"),  # RST in ESTABLISHED
    ([("c", "FA", C + 1, S + 1, 0)], "client"),  # RST while the client is in FIN_WAIT_1
])
def test_abortive_rst_closes_both(prefix, who):
    seq = C + 1 + len(prefix)
    r = run(HANDSHAKE + prefix + [("c", "RA", seq, S + 1, 0)])
    assert finals(r) == ("CLOSED", "CLOSED")
    assert r.connections.iloc[0]["summary"] == "RESET"


def test_out_of_window_rst_is_not_accepted():
    r = run(HANDSHAKE + [("c", "R", C + 1 + 10_000_000, 0, 0)], window=1000)
    assert finals(r) == ("CLOSED", "ESTABLISHED")


def test_rst_ignored_when_receiver_keeps_talking():
    r = run(HANDSHAKE + [("c", "R", C + 1 + 5, 0, 0), ("s", "PA", S + 1, C + 1, 10)])
    assert finals(r)[1] == "ESTABLISHED"


def test_rst_in_time_wait_kills_it():
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0), ("s", "FA", S + 1, C + 2, 0),
                         ("c", "A", C + 2, S + 2, 0), ("s", "R", S + 2, 0, 0)])
    tr = r.transitions
    last = tr[tr["endpoint"] == "client"].iloc[-1]
    assert (last["from_state"], last["to_state"]) == ("TIME_WAIT", "CLOSED")
    assert "RFC 1337" in last["cause"]


def test_fin_resent_while_client_in_time_wait():
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0, 0.1), ("s", "A", S + 1, C + 2, 0, 0.2),
                         ("s", "FA", S + 1, C + 2, 0, 0.3), ("c", "A", C + 2, S + 2, 0, 0.31),
                         ("s", "FA", S + 1, C + 2, 0, 0.8), ("c", "A", C + 2, S + 2, 0, 0.81)])
    assert finals(r) == ("TIME_WAIT", "CLOSED")
    tr = r.transitions
    closed = tr[(tr["endpoint"] == "server") & (tr["to_state"] == "CLOSED")]
    assert closed["frame"].tolist() == [9]  # not frame 7: the server resent its FIN after it
    assert r.timelines.time_wait_enter_ns[0, 0] == columns(HANDSHAKE + [("c", "A", 0, 0, 0, 0.8)])[
        "ts_ns"][3]  # TIME_WAIT restarted by the resent FIN


def test_time_wait_expires_after_2msl_within_capture():
    r = run(HANDSHAKE + [("c", "FA", C + 1, S + 1, 0, 0.1), ("s", "FA", S + 1, C + 2, 0, 0.2),
                         ("c", "A", C + 2, S + 2, 0, 0.3), ("c", "S", C + 99_999, 0, 0, 70.0)])
    tr = r.transitions
    exp = tr[(tr["conn_id"] == 0) & (tr["frame"] == -1)]
    assert exp["to_state"].tolist() == ["CLOSED"]
    assert exp["ts_ns"].iloc[0] == columns(HANDSHAKE)["ts_ns"][0] + int(60.2e9)
    assert len(r.connections) == 2  # the 4-tuple reused with a new ISN: a new incarnation


def test_mid_connection_start():
    r = run([("c", "PA", C + 50, S + 70, 10), ("s", "A", S + 70, C + 60, 0),
             ("c", "FA", C + 60, S + 70, 0), ("s", "FA", S + 70, C + 61, 0),
             ("c", "A", C + 61, S + 71, 0)])
    assert path(r, "client") == ["UNKNOWN", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
                                 "TIME_WAIT"]
    assert r.connections.iloc[0]["role_source"] == "port"
    pk = r.packets
    assert pk["rel_seq"].tolist()[:2] == [1, 1]  # like Wireshark: first byte seen is 1


def test_sequence_wrap_around():
    c, s = W - 5, W - 1
    r = run([("c", "S", c, 0, 0), ("s", "SA", s, c + 1, 0), ("c", "A", c + 1, s + 1, 0),
             ("c", "PA", c + 1, s + 1, 100), ("s", "A", s + 1, c + 101, 0),
             ("c", "FA", c + 101, s + 1, 0), ("s", "FA", s + 1, c + 102, 0),
             ("c", "A", c + 102, s + 2, 0)])
    assert finals(r) == ("TIME_WAIT", "CLOSED")
    assert r.packets["rel_seq"].tolist() == [0, 0, 1, 1, 1, 101, 1, 102]
    assert r.packets["rel_ack"].tolist()[1:] == [1, 1, 1, 101, 1, 102, 2]


def test_missing_handshake_ack_inferred():
    r = run([("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0), ("s", "PA", S + 1, C + 1, 10)])
    tr = r.transitions
    est = tr[(tr["endpoint"] == "server") & (tr["to_state"] == "ESTABLISHED")].iloc[0]
    assert not bool(est["observed"]) and "not captured" in est["cause"]


@pytest.mark.parametrize("script", [
    HANDSHAKE + [("c", "FA", C + 1, S + 1, 0), ("s", "FA", S + 1, C + 1, 0),
                 ("c", "A", C + 2, S + 2, 0), ("s", "A", S + 2, C + 2, 0)],
    HANDSHAKE + [("s", "SA", S, C + 1, 0, 1.0), ("c", "A", C + 1, S + 1, 0, 1.01)]
    + [("c", "PA", C + 1 + 10 * i, S + 1, 10, 1.1 + i) for i in range(20)]
    + [("c", "FA", C + 201, S + 1, 0, 30), ("s", "A", S + 1, C + 202, 0, 30.1)],
])
def test_selected_rows_give_the_same_timeline_as_all_rows(script):
    cols = columns(script)
    fl = build_flows(cols)
    a = endpoint_timelines(cols, fl).transitions
    b = endpoint_timelines(cols, fl, all_rows=True).transitions
    assert a.equals(b)


# The server receives an acceptable RST (seq = RCV.NXT) in each state it can be in.
RST_CASES = {
    "SYN_RECEIVED": ([("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0)], "c", C + 1, "LISTEN"),
    "ESTABLISHED": (HANDSHAKE, "c", C + 1, "CLOSED"),
    "CLOSE_WAIT": (HANDSHAKE + [("c", "FA", C + 1, S + 1, 0), ("s", "A", S + 1, C + 2, 0)],
                   "c", C + 2, "CLOSED"),
    "LAST_ACK": (HANDSHAKE + [("c", "FA", C + 1, S + 1, 0), ("s", "FA", S + 1, C + 2, 0)],
                 "c", C + 2, "CLOSED"),
    "FIN_WAIT_1": (HANDSHAKE + [("s", "FA", S + 1, C + 1, 0)], "c", C + 1, "CLOSED"),
    "FIN_WAIT_2": (HANDSHAKE + [("s", "FA", S + 1, C + 1, 0), ("c", "A", C + 1, S + 2, 0)],
                   "c", C + 1, "CLOSED"),
    "CLOSING": (HANDSHAKE + [("s", "FA", S + 1, C + 1, 0), ("c", "FA", C + 1, S + 1, 0)],
                "c", C + 2, "CLOSED"),
}


@pytest.mark.parametrize("state", list(RST_CASES))
def test_server_receives_rst_in_each_state(state):
    prefix, sender, seq, after = RST_CASES[state]
    r = run(prefix)
    assert finals(r)[1] == state  # the prefix really leaves the server in that state
    r = run(prefix + [(sender, "R", seq, 0, 0)])
    tr = r.transitions
    last = tr[tr["endpoint"] == "server"].iloc[-1]
    assert (str(last["from_state"]), str(last["to_state"])) == (state, after)
    assert "received RST" in str(last["cause"]) and not bool(last["observed"])
