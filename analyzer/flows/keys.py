"""4-tuple keys and connection incarnations, vectorized.

A connection is one incarnation of a 4-tuple, keyed by its initial sequence numbers: a
pure SYN carrying an ISN not seen before on the 4-tuple opens a new incarnation when its
sender already sent something in the current one (after a close, a reset, mid-connection
traffic, or an earlier SYN with another ISN: a new connection attempt); a SYN repeating
a known ISN is a retransmission and rejoins its own incarnation, even when SYNs of other
attempts came in between. Wireshark 4.0 also splits on a new ISN, but starts yet another
stream for such an interleaved retransmission (see docs/decisions.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.flows.groups import stable_order
from analyzer.schema import ACK, SYN

__all__ = ["connection_ids", "tuple_ids"]


def _endpoint_keys(src: np.ndarray, sport: np.ndarray, dst: np.ndarray, dport: np.ndarray,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    e1 = src.astype(np.int64)
    e1 <<= 16
    e1 |= sport
    e2 = dst.astype(np.int64)
    e2 <<= 16
    e2 |= dport
    fwd = e1 <= e2
    return np.minimum(e1, e2), np.maximum(e1, e2), fwd


def tuple_ids(src: np.ndarray, sport: np.ndarray, dst: np.ndarray, dport: np.ndarray,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: tuple id (0, 1, ... by first appearance), True where the row goes from the
    lower to the higher endpoint, and the stable permutation that groups rows by tuple."""
    lo, hi, fwd = _endpoint_keys(src, sport, dst, dport)
    n = len(lo)
    if n == 0:
        return np.empty(0, np.int64), fwd, np.empty(0, np.int64)
    span = int(hi.max()) + 1
    if int(lo.max()) < (1 << 62) // span:  # one exact int64 key: the usual case
        lo *= span
        lo += hi
        codes, _ = pd.factorize(lo, sort=False)          # hashing: ids by first appearance
        tid = codes.astype(np.int64, copy=False)
        return tid, fwd, stable_order(tid)
    order = np.lexsort((hi, lo))                          # very many addresses
    new = np.ones(n, dtype=bool)
    new[1:] = (lo[order][1:] != lo[order][:-1]) | (hi[order][1:] != hi[order][:-1])
    sorted_id = np.cumsum(new) - 1
    first_row = order[new]  # stable sort: the first row of each tuple in capture order
    rank = np.empty(len(first_row), dtype=np.int64)
    rank[np.argsort(first_row, kind="stable")] = np.arange(len(first_row))
    tid = np.empty(n, dtype=np.int64)
    tid[order] = rank[sorted_id]
    return tid, fwd, stable_order(tid)


def _tuple_incarnations(pure_syn: np.ndarray, direction: np.ndarray, seq: np.ndarray,
                        ) -> np.ndarray:
    """Incarnation number per row of ONE 4-tuple (rows in capture order).

    Walks only the pure SYNs; the rows between two SYNs belong to the incarnation that the
    earlier SYN made current. A SYN (direction d, ISN x) rejoins the incarnation that
    already holds (d, x) — a retransmission, even after other SYNs came in between;
    otherwise it opens a new incarnation if direction d already sent something in the
    current one, and joins the current one if not (e.g. a SYN captured after its own
    SYN-ACK, or the second SYN of a simultaneous open).
    """
    n = len(pure_syn)
    d_cum = np.cumsum(direction)            # rows from the "lower" end so far
    o_cum = np.cumsum(~direction)
    label = np.zeros(n, dtype=np.int64)
    owner: dict[tuple[bool, int], int] = {}
    sent: list[list[bool]] = [[False, False]]  # per incarnation: [lower sent, higher sent]
    current, seg_start = 0, 0
    for p in np.flatnonzero(pure_syn).tolist():
        if p > seg_start:  # close the segment [seg_start, p) that belonged to `current`
            label[seg_start:p] = current
            lo = d_cum[p - 1] - (d_cum[seg_start - 1] if seg_start else 0)
            hi = o_cum[p - 1] - (o_cum[seg_start - 1] if seg_start else 0)
            sent[current][0] |= bool(lo)
            sent[current][1] |= bool(hi)
        d, x = bool(direction[p]), int(seq[p])
        side = 0 if d else 1
        if (d, x) in owner:
            current = owner[(d, x)]
        elif sent[current][side]:
            current = len(sent)
            sent.append([False, False])
        owner.setdefault((d, x), current)
        seg_start = p
    label[seg_start:] = current
    return label


def _incarnations(order: np.ndarray, starts: np.ndarray, fwd: np.ndarray, flags: np.ndarray,
                  seq: np.ndarray) -> np.ndarray:
    """Incarnation number per row within its 4-tuple (0 for the usual single one)."""
    n = len(order)
    inc = np.zeros(n, dtype=np.int64)
    pure_syn = (flags[order] & (SYN | ACK)) == SYN
    cand = np.flatnonzero(pure_syn & ~starts)
    if len(cand) == 0:
        return inc
    tuple_start = np.flatnonzero(starts)
    tuple_end = np.append(tuple_start[1:], n)
    which = np.unique(np.searchsorted(tuple_start, cand, side="right") - 1)
    for s, e in zip(tuple_start[which].tolist(), tuple_end[which].tolist(), strict=True):
        rows = order[s:e]
        inc[rows] = _tuple_incarnations(pure_syn[s:e], fwd[rows], seq[rows])
    return inc


def connection_ids(tid: np.ndarray, fwd: np.ndarray, flags: np.ndarray, seq: np.ndarray,
                   tuple_order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Connection id per row (0, 1, ... by first packet) and a permutation grouping rows by
    connection with capture order inside each connection."""
    n = len(tid)
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    t = tid[tuple_order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = t[1:] != t[:-1]
    inc = _incarnations(tuple_order, starts, fwd, flags, seq)
    if not inc.any():
        return tid, tuple_order
    key = tid * (int(inc.max()) + 1) + inc
    uniq, first_idx, inverse = np.unique(key, return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(first_idx, kind="stable")] = np.arange(len(uniq))
    conn = rank[inverse.reshape(-1)]
    return conn, stable_order(conn)
