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
    last_where,
    peer_latest,
    prev_where,
)
from analyzer.schema import ACK, FIN, RST, SYN
from analyzer.tcpstate.features import F_ACKS_FIN, F_ACKS_SYN, encode

__all__ = ["feature_codes", "select_rows", "window_shift"]


def _from_peer(latest: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row: ``values`` at the receiver's latest segment (``latest``, -1: NONE)."""
    return np.where(latest >= 0, values[np.maximum(latest, 0)], NONE)


def _peer_fin_end(fl: Flows, flags: np.ndarray) -> np.ndarray:
    """Per row: the seq end of the peer's first FIN (NONE if the peer sent none)."""
    n_groups = 2 * fl.n_conn
    first_fin = first_where(fl.group, (flags & FIN) != 0, n_groups)
    fin_end = np.full(n_groups, NONE, dtype=np.int64)
    has = first_fin >= 0
    fin_end[has] = fl.seg_end[first_fin[has]]
    return fin_end[fl.conn * 2 + ~fl.from_server]


def window_shift(fl: Flows, cols: dict[str, np.ndarray]) -> np.ndarray:
    """Per (conn, direction) group: window shift count (0 unless both SYNs offered WS)."""
    n_groups = 2 * fl.n_conn
    first_syn = first_where(fl.group, (cols["flags"] & SYN) != 0, n_groups)
    ws = np.full(n_groups, -1, dtype=np.int64)
    has = first_syn >= 0
    ws[has] = cols["opt_wscale"][first_syn[has]]
    both = (ws[0::2] >= 0) & (ws[1::2] >= 0)
    return np.where(np.repeat(both, 2), np.clip(ws, 0, 14), 0)


def _rst_class(fl: Flows, cols: dict[str, np.ndarray], nxt: np.ndarray,
               peer: np.ndarray) -> np.ndarray:
    """0 acceptable (seq = RCV.NXT, or unknown), 1 in window, 2 outside the window.

    ``nxt``: the sender's highest seq end before the row; ``peer``: the receiver's latest
    segment before it (whose window applies).
    """
    flags = cols["flags"]
    shift = window_shift(fl, cols)
    scaled = cols["window"].astype(np.int64) << shift[fl.group]
    win = _from_peer(peer, scaled)
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
    nxt = group_cummax_excl(fl.by_group, fl.seg_end)     # the sender's highest end so far
    peer = peer_latest(fl.by_conn, fl.from_server)
    # the highest seq end the *peer* had sent up to this row (NONE if nothing)
    peer_max = _from_peer(peer, np.maximum(nxt, fl.seg_end))
    acks_syn = has_ack & peer_isn_seen & (rel_ack >= 1) & (
        ~strict | ((peer_max != NONE) & (rel_ack <= peer_max)))
    fin_end = _peer_fin_end(fl, flags)
    acks_fin = has_ack & (fin_end != NONE) & (rel_ack >= fin_end)
    return encode(fl.from_server, flags, acks_syn, acks_fin, _rst_class(fl, cols, nxt, peer),
                  cols["payload_len"] > 0)


def select_rows(fl: Flows, flags: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows the state machine must see."""
    n = len(flags)
    n_groups = 2 * fl.n_conn
    trigger = (flags & (SYN | FIN | RST)) != 0
    for bit in (F_ACKS_SYN, F_ACKS_FIN):
        first = first_where(fl.group, (codes & bit) != 0, n_groups)
        trigger[first[first >= 0]] = True
    last_trigger = prev_where(fl.by_conn, trigger)
    order, starts = fl.by_group.order, fl.by_group.starts
    prev_same_dir = np.full(n, -1, dtype=np.int64)      # the sender's previous segment
    prev_same_dir[order[1:]] = np.where(starts[1:], -1, order[:-1])
    after_trigger = (last_trigger >= 0) & (last_trigger > prev_same_dir)
    sel = trigger | after_trigger
    first_any = first_where(fl.group, np.ones(n, dtype=bool), n_groups)
    sel[first_any[first_any >= 0]] = True
    last_any = last_where(fl.group, np.ones(n, dtype=bool), n_groups)
    sel[last_any[last_any >= 0]] = True
    return sel
