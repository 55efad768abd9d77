"""analyzer.reassembly.segments: stream placement from the packet table alone."""

from __future__ import annotations

import numpy as np
from scripted import columns

from analyzer.flows import build_flows
from analyzer.flows.groups import NONE
from analyzer.reassembly.segments import data_segments, place

C, S = 1000, 5000
HANDSHAKE = [("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 1, 0)]


def _place(script: list[tuple]):
    cols = columns(script)
    fl = build_flows(cols)
    return cols, fl, place(cols, fl)


def test_offsets_start_after_the_syn():
    cols, fl, p = _place(HANDSHAKE + [("c", "PA", C + 1, S + 1, 10),
                                      ("c", "PA", C + 11, S + 1, 5)])
    assert p.origin[0] == 1 and p.isn_known[0]
    assert list(p.start[3:]) == [0, 10] and list(p.sent_end[3:]) == [10, 15]
    assert p.length[0] == 15 and p.fin_off[0] == NONE
    seg = data_segments(cols, fl, p)
    assert list(seg.row) == [3, 4] and list(seg.start) == [0, 10]
    assert list(seg.file_off) == [0, 0]  # scripted columns have payload_off 0


def test_syn_data_is_at_offset_zero():
    _, _, p = _place([("c", "S", C, 0, 20), ("s", "SA", S, C + 21, 0)])
    assert p.start[0] == 0 and p.length[0] == 20


def test_fin_ends_the_stream_and_later_bytes_are_cut():
    cols, fl, p = _place(HANDSHAKE + [("c", "FPA", C + 1, S + 1, 10),
                                      ("c", "PA", C + 8, S + 1, 10)])
    assert p.fin_off[0] == 10 and p.length[0] == 10
    assert list(p.after_fin[3:]) == [False, True]
    seg = data_segments(cols, fl, p)
    assert list(seg.sent_end) == [10, 10]


def test_below_isn_is_clipped_and_flagged():
    cols, fl, p = _place(HANDSHAKE + [("c", "PA", C - 4, S + 1, 10)])
    assert p.below_isn[3] and p.start[3] == -5
    seg = data_segments(cols, fl, p)
    assert (seg.start[0], seg.sent_end[0], seg.file_off[0]) == (0, 5, 5)


def test_keepalive_and_rst_payload_are_not_data():
    _, _, p = _place(HANDSHAKE + [("c", "PA", C + 1, S + 1, 10), ("c", "A", C + 10, S + 1, 1),
                                  ("c", "RA", C + 11, S + 1, 4)])
    assert list(p.keepalive[3:]) == [False, True, False]
    assert list(p.data[3:]) == [True, False, False]


def test_without_syn_offset_zero_is_the_lowest_seq():
    _, _, p = _place([("c", "PA", 7000, 9000, 5), ("c", "PA", 6990, 9000, 10)])
    assert not p.isn_known[0] and p.origin[0] == -9
    assert list(p.start[:2]) == [10, 0]


def test_synack_resent_with_another_isn_uses_the_isn_the_data_follows():
    script = [("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0), ("s", "SA", 90000, C + 1, 0),
              ("c", "A", C + 1, 90001, 0), ("s", "PA", 90001, C + 1, 7)]
    _, _, p = _place(script)
    assert p.origin[1] == 90000 - S + 1 and p.start[4] == 0 and p.length[1] == 7


def test_snaplen_cut_and_tail_from_pure_ack():
    script = HANDSHAKE + [("c", "PA", C + 1, S + 1, 100, {"cap_payload_len": 40}),
                          ("c", "A", C + 201, S + 1, 0)]
    _, _, p = _place(script)
    assert (p.cap_end[3], p.sent_end[3], p.length[0]) == (40, 100, 200)
    assert np.all(p.data == (columns(script)["payload_len"] > 0))
