"""Data sent beyond the receiver's advertised window (RFC 9293 §3.8.6), vectorized.

The right edge a receiver offers is its ack + its window (scaled by the shift count of
RFC 7323 §2 when both SYNs carried the option; the window of a SYN or SYN-ACK is never
scaled). A sender may use the furthest edge it was ever offered (a receiver should not
shrink its window), so a data segment is beyond the window when its last byte lies past
the furthest edge the receiver had advertised before the segment was captured. Judged only
when both SYNs were captured with their options: otherwise the scale is unknown. A one-byte
segment is never judged (a zero-window probe is exactly one byte past the edge).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyzer.flows import Flows
from analyzer.flows.groups import NONE, group_cummax_excl
from analyzer.schema import ACK, ANOM_BAD_OPTIONS, ANOM_TRUNCATED_HEADER, RST, SYN

__all__ = ["BeyondWindow", "beyond_window", "window_shift"]

_LIMIT = 1 << 38  # the segmented running max needs values within ±2**39


@dataclass(slots=True)
class BeyondWindow:
    """Rows whose data ends past the receiver's furthest advertised edge."""

    rows: np.ndarray     # row indices, capture order
    edge: np.ndarray     # the receiver's furthest right edge before each row (relative)
    excess: np.ndarray   # bytes past the edge


def window_shift(cols: dict[str, np.ndarray], fl: Flows) -> np.ndarray:
    """Per group: the window shift count of its ACKs, or -1 when unknown (a SYN not seen)."""
    n_groups = 2 * fl.n_conn
    flags = cols["flags"]
    syn_rows = np.flatnonzero(((flags & SYN) != 0) & ((flags & RST) == 0))
    first = np.full(n_groups, -1, dtype=np.int64)
    first[fl.group[syn_rows][::-1]] = syn_rows[::-1]
    seen = first >= 0
    rows = np.maximum(first, 0)
    clean = seen & ((cols["anomalies"][rows] & (ANOM_TRUNCATED_HEADER | ANOM_BAD_OPTIONS)) == 0)
    ws = np.where(clean, cols["opt_wscale"][rows].astype(np.int64), -1)
    both_known = clean & clean.reshape(-1, 2)[:, ::-1].reshape(-1)
    both_scale = (ws >= 0) & (ws.reshape(-1, 2)[:, ::-1].reshape(-1) >= 0)
    return np.where(both_known, np.where(both_scale, np.clip(ws, 0, 14), 0), -1)


def _edges(cols: dict[str, np.ndarray], fl: Flows, shift: np.ndarray) -> np.ndarray:
    """Per row: the right edge (relative to the peer's numbers) it advertises, or NONE."""
    flags = cols["flags"]
    s = shift[fl.group]
    syn = (flags & SYN) != 0
    win = cols["window"].astype(np.int64) << np.where(syn, 0, np.maximum(s, 0))
    ok = ((flags & ACK) != 0) & ((flags & RST) == 0) & (fl.rel_ack != NONE) & (s >= 0)
    edge = np.clip(fl.rel_ack + win, -_LIMIT, _LIMIT)
    return np.where(ok & (np.abs(fl.rel_ack) < _LIMIT), edge, NONE)


def beyond_window(cols: dict[str, np.ndarray], fl: Flows, data: np.ndarray) -> BeyondWindow:
    """Data rows (``data`` mask) that end beyond the receiver's furthest advertised edge."""
    flags = cols["flags"]
    shift = window_shift(cols, fl)
    edges = _edges(cols, fl, shift)
    offered = np.full(len(flags), NONE, dtype=np.int64)
    for receiver in (False, True):
        mine = np.where(fl.from_server == receiver, edges, NONE)
        best = group_cummax_excl(fl.by_conn, mine)
        rows = fl.from_server != receiver
        offered[rows] = best[rows]
    plen = cols["payload_len"].astype(np.int64)
    end = fl.rel_seq + ((flags & SYN) != 0) + plen
    judged = data & (plen > 1) & ((flags & SYN) == 0) & (offered != NONE) \
        & (shift[fl.group] >= 0) & (np.abs(end) < _LIMIT)
    rows = np.flatnonzero(judged & (end > offered))
    return BeyondWindow(rows, offered[rows], end[rows] - offered[rows])
