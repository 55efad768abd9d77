"""Which rows can move an endpoint's state, and their feature codes (vectorized).

Only SYN/FIN/RST segments, the first ACK of the peer's SYN and of the peer's FIN, the
first segment of each direction after any of those (it confirms or refutes a receipt),
and the first and last segment of each direction can change a state. Data segments in
between are skipped, so the machine sees ~10 rows per connection whatever its length.
"""

from __future__ import annotations

import numpy as np

from analyzer.flows import Flows
from analyzer.flows.groups import (
    NONE,
    first_where,
    group_cummax_excl,
    last_value_ffill,
    last_where,
)
from analyzer.schema import ACK, FIN, RST, SYN
from analyzer.tcpstate.features import F_ACKS_FIN, F_ACKS_SYN, encode

__all__ = ["feature_codes", "select_rows"]


def _peer_running_max_end(fl: Flows) -> np.ndarray:
    """Per row: the highest seq end the *peer* had sent up to this row (NONE if nothing)."""
    own_incl = np.maximum(group_cummax_excl(fl.by_group, fl.seg_end), fl.seg_end)
    out = np.full(len(fl.conn), NONE, dtype=np.int64)
    for direction in (False, True):
        latest = last_value_ffill(fl.by_conn, fl.from_server == direction, own_incl)
        rows = fl.from_server != direction
        out[rows] = latest[rows]
    return out


def _peer_fin_end(fl: Flows, flags: np.ndarray) -> np.ndarray:
    """Per row: the seq end of the peer's first FIN (NONE if the peer sent none)."""
    n_groups = 2 * fl.n_conn
    first_fin = first_where(fl.group, (flags & FIN) != 0, n_groups)
    fin_end = np.full(n_groups, NONE, dtype=np.int64)
    has = first_fin >= 0
    fin_end[has] = fl.seg_end[first_fin[has]]
    return fin_end[fl.conn * 2 + ~fl.from_server]


def _window_scale(fl: Flows, cols: dict[str, np.ndarray]) -> np.ndarray:
    """Per (conn, direction) group: window shift count (0 unless both SYNs offered WS)."""
    n_groups = 2 * fl.n_conn
    first_syn = first_where(fl.group, (cols["flags"] & SYN) != 0, n_groups)
    ws = np.full(n_groups, -1, dtype=np.int64)
    has = first_syn >= 0
    ws[has] = cols["opt_wscale"][first_syn[has]]
    both = (ws[0::2] >= 0) & (ws[1::2] >= 0)
    return np.where(np.repeat(both, 2), np.clip(ws, 0, 14), 0)


def _rst_class(fl: Flows, cols: dict[str, np.ndarray]) -> np.ndarray:
    """0 acceptable (seq = RCV.NXT, or unknown), 1 in window, 2 outside the window."""
    flags = cols["flags"]
    nxt = group_cummax_excl(fl.by_group, fl.seg_end)
    shift = _window_scale(fl, cols)
    scaled = cols["window"].astype(np.int64) << shift[fl.group]
    win = np.full(len(flags), NONE, dtype=np.int64)
    for direction in (False, True):
        latest = last_value_ffill(fl.by_conn, fl.from_server == direction, scaled)
        rows = fl.from_server != direction
        win[rows] = latest[rows]
    win = np.where(win == NONE, 65535, win)
    diff = fl.rel_seq - nxt
    known = nxt != NONE
    cls = np.zeros(len(flags), dtype=np.int8)
    in_win = known & (diff > 0) & (diff < np.maximum(win, 1))
    out = known & ~in_win & (diff != 0) & (diff != -1)
    cls[in_win] = 1
    cls[out] = 2
    return cls


def feature_codes(fl: Flows, cols: dict[str, np.ndarray]) -> np.ndarray:
    """Feature code of every row (see ``features``)."""
    flags = cols["flags"]
    has_ack = (flags & ACK) != 0
    strict = (flags & (SYN | RST)) != 0  # a SYN-ACK or RST must ack exactly what was sent
    peer_isn_seen = fl.isn[fl.conn * 2 + ~fl.from_server] != NONE
    rel_ack = fl.rel_ack
    peer_max = _peer_running_max_end(fl)
    acks_syn = has_ack & peer_isn_seen & (rel_ack >= 1) & (
        ~strict | ((peer_max != NONE) & (rel_ack <= peer_max)))
    fin_end = _peer_fin_end(fl, flags)
    acks_fin = has_ack & (fin_end != NONE) & (rel_ack >= fin_end)
    return encode(fl.from_server, flags, acks_syn, acks_fin, _rst_class(fl, cols),
                  cols["payload_len"] > 0)


def select_rows(fl: Flows, flags: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows the state machine must see."""
    n = len(flags)
    n_groups = 2 * fl.n_conn
    idx = np.arange(n, dtype=np.int64)
    trigger = (flags & (SYN | FIN | RST)) != 0
    for bit in (F_ACKS_SYN, F_ACKS_FIN):
        first = first_where(fl.group, (codes & bit) != 0, n_groups)
        trigger[first[first >= 0]] = True
    last_trigger = group_cummax_excl(fl.by_conn, np.where(trigger, idx, NONE))
    prev_same_dir = group_cummax_excl(fl.by_group, idx)
    after_trigger = (last_trigger != NONE) & (last_trigger > prev_same_dir)
    sel = trigger | after_trigger
    first_any = first_where(fl.group, np.ones(n, dtype=bool), n_groups)
    sel[first_any[first_any >= 0]] = True
    last_any = last_where(fl.group, np.ones(n, dtype=bool), n_groups)
    sel[last_any[last_any >= 0]] = True
    return sel
