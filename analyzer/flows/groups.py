"""Vectorized group operations over rows that belong to integer groups.

Rows are in capture order; groups are integer ids (connection, or connection*2+direction).
A :class:`Grouping` holds the permutation that brings each group's rows together (in
capture order inside a group). It is computed once per grouping — by one stable sort, or
in O(n) by splitting a coarser grouping — and shared by every operation, because the sorts
are what costs time on a million rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "NONE",
    "Grouping",
    "first_where",
    "group_cummax_excl",
    "last_value_ffill",
    "last_where",
    "next_where",
    "peer_latest",
    "prev_where",
    "stable_order",
]

NONE = np.iinfo(np.int64).min


def stable_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integer keys, several times faster.

    NumPy sorts 16-bit integers stably by radix sort in linear time, but larger ones by
    merge sort. Group ids and packed keys span a small part of their type, so this sorts
    by 16-bit digits of ``keys - min``, least significant first (an LSD radix sort): one
    pass per 16 bits of the span, up to three; wider spans go to merge sort.
    """
    n = len(keys)
    if n < 1 << 12 or keys.dtype.kind not in "iu":
        return np.argsort(keys, kind="stable")
    lo, hi = int(keys.min()), int(keys.max())
    span = hi - lo
    if span == 0:
        return np.arange(n)
    if span >= 1 << 48:
        return np.argsort(keys, kind="stable")
    k = keys.astype(np.uint64) - np.uint64(lo % (1 << 64))   # wraps: exact in [0, span]
    order = np.argsort(k.astype(np.uint16), kind="stable")
    for shift in range(16, span.bit_length(), 16):
        digit = (k[order] >> np.uint64(shift)).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
    return order


@dataclass(frozen=True, slots=True)
class Grouping:
    """Rows permuted so that each group is contiguous, capture order kept inside groups."""

    order: np.ndarray   # permutation of row indices
    starts: np.ndarray  # bool per sorted position: first row of its group

    @classmethod
    def of(cls, group: np.ndarray) -> Grouping:
        """By one stable sort of the group ids."""
        order = stable_order(group)
        g = group[order]
        starts = np.ones(len(g), dtype=bool)
        starts[1:] = g[1:] != g[:-1]
        return cls(order, starts)

    @classmethod
    def from_sorted(cls, order: np.ndarray, group: np.ndarray) -> Grouping:
        """From a permutation already known to keep each group contiguous."""
        g = group[order]
        starts = np.ones(len(g), dtype=bool)
        starts[1:] = g[1:] != g[:-1]
        return cls(order, starts)

    def ascending(self, group: np.ndarray) -> Grouping:
        """The same grouping with its groups in ascending id order (an O(n) reordering of
        whole groups). Group-sorted binary searches (``analyzer.timing``) rely on it."""
        n = len(self.order)
        first = np.flatnonzero(self.starts)
        ids = group[self.order[first]]
        if n == 0 or bool(np.all(ids[1:] > ids[:-1])):
            return self
        lens = np.diff(np.append(first, n))
        perm = np.argsort(ids, kind="stable")
        new_first = np.cumsum(lens[perm]) - lens[perm]
        shift = np.repeat(first[perm] - new_first, lens[perm])
        starts = np.zeros(n, dtype=bool)
        starts[new_first] = True
        return Grouping(self.order[np.arange(n) + shift], starts)

    def split(self, flag: np.ndarray) -> Grouping:
        """Finer grouping (group, flag): a stable partition inside each group.

        One stable sort of (group number, flag) in the current order: the keys are
        already nearly sorted, which the sort's merging of runs exploits.
        """
        n = len(self.order)
        if n == 0:
            return self
        key = np.cumsum(self.starts, dtype=np.int64)
        key -= 1
        key *= 2
        key += flag[self.order]
        perm = stable_order(key)
        k = key[perm]
        starts = np.ones(n, dtype=bool)
        starts[1:] = k[1:] != k[:-1]
        return Grouping(self.order[perm], starts)

    def subset(self, mask: np.ndarray) -> Grouping:
        """The same grouping restricted to rows where ``mask`` (order kept)."""
        keep = mask[self.order]
        if keep.all():
            return self
        order = self.order[keep]
        seg = np.cumsum(self.starts)
        s = seg[keep]
        starts = np.ones(len(s), dtype=bool)
        starts[1:] = s[1:] != s[:-1]
        return Grouping(order, starts)


def first_where(group: np.ndarray, mask: np.ndarray, n_groups: int) -> np.ndarray:
    """Index of the first row with ``mask`` in each group, -1 where there is none."""
    out = np.full(n_groups, -1, dtype=np.int64)
    idx = np.flatnonzero(mask)
    if len(idx):
        out[group[idx][::-1]] = idx[::-1]  # reversed: the earliest index is written last
    return out


def last_where(group: np.ndarray, mask: np.ndarray, n_groups: int) -> np.ndarray:
    """Index of the last row with ``mask`` in each group, -1 where there is none."""
    n = len(group)
    rev = first_where(group[::-1], mask[::-1], n_groups)
    return np.where(rev >= 0, n - 1 - rev, -1)


def _segmented_running_max(v: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Running maximum that restarts at every group start (values in [-2**39, 2**39]).

    Works in place on ``v`` (int64) and returns it.
    """
    span = np.int64(1) << 41
    floor = -(span // 2) + 1
    off = np.cumsum(starts, dtype=np.int64)
    off -= 1
    off *= span
    v[v == NONE] = floor
    v += off
    np.maximum.accumulate(v, out=v)
    v -= off
    v[v <= floor] = NONE
    return v


def group_cummax_excl(grouping: Grouping, values: np.ndarray) -> np.ndarray:
    """Per row: the maximum of ``values`` over *earlier* rows of its group (NONE if none)."""
    n = len(values)
    if n == 0:
        return np.full(0, NONE, dtype=np.int64)
    order = grouping.order
    shifted = np.empty(n, dtype=np.int64)
    shifted[0] = NONE
    shifted[1:] = values[order[:-1]]
    shifted[grouping.starts] = NONE
    out = np.empty(n, dtype=np.int64)
    out[order] = _segmented_running_max(shifted, grouping.starts)
    return out


def last_value_ffill(grouping: Grouping, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row: ``values`` of the latest row at or before it in its group with ``mask`` set."""
    n = len(values)
    if n == 0:
        return np.full(0, NONE, dtype=np.int64)
    order = grouping.order
    positions = np.arange(n)
    latest = np.where(mask[order], positions, -1)
    np.maximum.accumulate(latest, out=latest)
    seg_first = np.where(grouping.starts, positions, 0)
    np.maximum.accumulate(seg_first, out=seg_first)
    ok = latest >= seg_first
    del seg_first
    np.maximum(latest, 0, out=latest)
    vals = np.asarray(values)[order[latest]].astype(np.int64, copy=False)
    out = np.empty(n, dtype=np.int64)
    out[order] = np.where(ok, vals, NONE)
    return out


def next_where(grouping: Grouping, mask: np.ndarray) -> np.ndarray:
    """Per row: index of the next row (strictly after it) in its group with ``mask``, or -1."""
    n = len(mask)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    order, starts = grouping.order, grouping.starts
    cand = np.where(mask[order], np.arange(n), n)
    following = np.append(cand[1:], n)
    nearest = np.minimum.accumulate(following[::-1])[::-1]
    ends = np.flatnonzero(np.append(starts[1:], True))
    seg_end = ends[np.cumsum(starts) - 1]
    out[order] = np.where(nearest <= seg_end, order[np.minimum(nearest, n - 1)], -1)
    return out


def prev_where(grouping: Grouping, mask: np.ndarray) -> np.ndarray:
    """Per row: index of the latest row (strictly before it) in its group with ``mask``, or -1."""
    n = len(mask)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    order, starts = grouping.order, grouping.starts
    positions = np.arange(n)
    latest = np.empty(n, dtype=np.int64)
    latest[0] = -1
    np.maximum.accumulate(np.where(mask[order[:-1]], positions[:-1], -1), out=latest[1:])
    seg_first = np.maximum.accumulate(np.where(starts, positions, 0))
    out[order] = np.where(latest >= seg_first, order[np.maximum(latest, 0)], -1)
    return out


def peer_latest(grouping: Grouping, side: np.ndarray) -> np.ndarray:
    """Per row: index of the latest earlier row of its group whose ``side`` differs, or -1.

    Over connections with ``side`` = from_server: the last segment the row's receiver sent
    before it. One pass: that row ends the run of same-side rows just before the row's own.
    """
    n = len(side)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    order, starts = grouping.order, grouping.starts
    s = side[order]
    run = starts.copy()
    run[1:] |= s[1:] != s[:-1]
    run_first = np.maximum.accumulate(np.where(run, np.arange(n), 0))
    out[order] = np.where(starts[run_first], -1, order[run_first - 1])
    return out
