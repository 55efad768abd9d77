import numpy as np
from scripted import columns

from analyzer.flows.keys import connection_ids, tuple_ids

C, S = 1000, 5000


def ids(script):
    cols = columns(script)
    tid, fwd, order = tuple_ids(cols["src"], cols["sport"], cols["dst"], cols["dport"])
    return connection_ids(tid, fwd, cols["flags"], cols["seq"], order)[0].tolist()


def test_both_directions_share_a_tuple():
    cols = columns([("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0)])
    tid, fwd, _ = tuple_ids(cols["src"], cols["sport"], cols["dst"], cols["dport"])
    assert tid[0] == tid[1] and fwd[0] != fwd[1]


def test_retransmitted_syn_stays_in_its_connection():
    assert ids([("c", "S", C, 0, 0), ("c", "S", C, 0, 0), ("c", "S", C, 0, 0)]) == [0, 0, 0]


def test_syn_with_new_isn_is_a_new_attempt():
    assert ids([("c", "S", C, 0, 0), ("c", "S", C + 777, 0, 0)]) == [0, 1]


def test_interleaved_retransmission_rejoins_its_own_isn():
    script = [("c", "S", C, 0, 0), ("c", "S", 77, 0, 0), ("c", "S", C, 0, 0),
              ("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 1, 0)]
    assert ids(script) == [0, 1, 0, 0, 0]


def test_syn_captured_after_its_synack_joins_it():
    assert ids([("s", "SA", S, C + 1, 0), ("c", "S", C, 0, 0), ("c", "A", C + 1, S + 1, 0)]) \
        == [0, 0, 0]


def test_simultaneous_open_is_one_connection():
    assert ids([("c", "S", C, 0, 0), ("s", "S", S, 0, 0), ("c", "SA", C, S + 1, 0)]) == [0, 0, 0]


def test_new_isn_after_close_is_a_new_incarnation():
    script = [("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 1, 0),
              ("c", "R", C + 1, 0, 0), ("c", "S", C + 9999, 0, 0), ("s", "SA", S + 5, C + 10000, 0)]
    assert ids(script) == [0, 0, 0, 0, 1, 1]


def test_new_syn_after_mid_connection_traffic_is_a_new_incarnation():
    script = [("c", "PA", C, S, 10), ("c", "S", C + 5000, 0, 0), ("s", "SA", S, C + 5001, 0)]
    assert ids(script) == [0, 1, 1]


def test_different_ports_are_different_connections():
    a = columns([("c", "S", C, 0, 0)], cport=1111)
    b = columns([("c", "S", C, 0, 0)], cport=2222)
    cols = {k: np.concatenate([a[k], b[k]]) for k in a}
    tid, fwd, order = tuple_ids(cols["src"], cols["sport"], cols["dst"], cols["dport"])
    assert connection_ids(tid, fwd, cols["flags"], cols["seq"], order)[0].tolist() == [0, 1]
