"""4-tuple keys and connection incarnations, vectorized.

A connection is one incarnation of a 4-tuple. A pure SYN opens a new incarnation when
the current one already carried anything other than pure SYNs (a SYN-ACK, data, FIN,
RST, or mid-connection traffic) and the SYN is not a retransmission (same ISN as a SYN
of the same direction in the current incarnation). A SYN resent with a *new* ISN before
anything answered stays in its connection (the `syn_resent_with_new_isn` situation);
Wireshark 4.0 would start a new stream there (see docs/decisions.md).
"""

from __future__ import annotations

import numpy as np

from analyzer.schema import ACK, SYN

__all__ = ["connection_ids", "tuple_ids"]


def tuple_ids(src: np.ndarray, sport: np.ndarray, dst: np.ndarray, dport: np.ndarray,
              ) -> tuple[np.ndarray, np.ndarray]:
    """Return (tuple id per row, True where the row goes from the lower to the higher end)."""
    e1 = (src.astype(np.int64) << 16) | sport.astype(np.int64)
    e2 = (dst.astype(np.int64) << 16) | dport.astype(np.int64)
    fwd = e1 <= e2
    lo = np.where(fwd, e1, e2)
    hi = np.where(fwd, e2, e1)
    _, lo_code = np.unique(lo, return_inverse=True)
    hi_vals, hi_code = np.unique(hi, return_inverse=True)
    combined = lo_code.astype(np.int64) * len(hi_vals) + hi_code
    _, tid = np.unique(combined, return_inverse=True)
    return tid.astype(np.int64), fwd


def _split_points(tid: np.ndarray, fwd: np.ndarray, flags: np.ndarray, seq: np.ndarray,
                  ) -> np.ndarray:
    """Rows (capture positions) that start a new incarnation of their 4-tuple."""
    n = len(tid)
    order = np.argsort(tid, kind="stable")
    t_sorted = tid[order]
    first_in_tuple = np.ones(n, dtype=bool)
    first_in_tuple[1:] = t_sorted[1:] != t_sorted[:-1]
    pure_syn = (flags[order] & (SYN | ACK)) == SYN
    cand = pure_syn & ~first_in_tuple
    if not cand.any():
        return np.empty(0, dtype=np.int64)
    # cumulative count of rows that are not pure SYNs, per sorted position
    other_cum = np.cumsum(~pure_syn)
    splits: list[int] = []
    tuples = np.unique(t_sorted[cand])
    starts = np.searchsorted(t_sorted, tuples, side="left")
    ends = np.searchsorted(t_sorted, tuples, side="right")
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        inc_start = s
        syn_seqs: dict[bool, set[int]] = {True: set(), False: set()}
        for p in np.flatnonzero(pure_syn[s:e]).tolist():
            pos = s + p
            row = int(order[pos])
            direction = bool(fwd[row])
            sq = int(seq[row])
            before = other_cum[pos - 1] - (other_cum[inc_start - 1] if inc_start > 0 else 0) \
                if pos > inc_start else 0
            if pos > inc_start and before > 0 and sq not in syn_seqs[direction]:
                splits.append(row)
                inc_start = pos
                syn_seqs = {True: set(), False: set()}
            syn_seqs[direction].add(sq)
    return np.asarray(splits, dtype=np.int64)


def connection_ids(tid: np.ndarray, fwd: np.ndarray, flags: np.ndarray, seq: np.ndarray,
                   ) -> np.ndarray:
    """Connection id per row: 0, 1, 2, ... in order of each connection's first packet."""
    n = len(tid)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    marks = np.zeros(n, dtype=np.int64)
    marks[_split_points(tid, fwd, flags, seq)] = 1
    order = np.argsort(tid, kind="stable")
    t_sorted = tid[order]
    m_sorted = marks[order]
    group_start = np.ones(n, dtype=bool)
    group_start[1:] = t_sorted[1:] != t_sorted[:-1]
    cum = np.cumsum(m_sorted)
    base = np.maximum.accumulate(np.where(group_start, cum - m_sorted, 0))
    inc = np.empty(n, dtype=np.int64)
    inc[order] = cum - base
    key = tid * (int(inc.max()) + 1) + inc
    uniq, first_idx, inverse = np.unique(key, return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(first_idx, kind="stable")] = np.arange(len(uniq))
    return rank[inverse]
