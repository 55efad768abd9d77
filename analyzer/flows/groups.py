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
    "NONE", "Grouping", "first_where", "group_cummax_excl", "last_value_ffill", "last_where",
    "next_where",
]

NONE = np.iinfo(np.int64).min


@dataclass(frozen=True, slots=True)
class Grouping:
    """Rows permuted so that each group is contiguous, capture order kept inside groups."""

    order: np.ndarray   # permutation of row indices
    starts: np.ndarray  # bool per sorted position: first row of its group

    @classmethod
    def of(cls, group: np.ndarray) -> Grouping:
        """By one stable sort of the group ids."""
        order = np.argsort(group, kind="stable")
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

    def split(self, flag: np.ndarray) -> Grouping:
        """Finer grouping (group, flag) in O(n): a stable partition inside each group."""
        n = len(self.order)
        if n == 0:
            return self
        ones = flag[self.order].astype(np.int64)
        zeros = 1 - ones
        seg_start = np.flatnonzero(self.starts)
        seg = np.cumsum(self.starts) - 1
        zeros_before = np.cumsum(zeros) - zeros       # zeros strictly before, whole array
        ones_before = np.cumsum(ones) - ones
        zeros_in_seg = np.add.reduceat(zeros, seg_start)
        base = seg_start[seg]
        new_pos = np.where(ones == 1,
                           base + zeros_in_seg[seg] + ones_before - ones_before[base],
                           base + zeros_before - zeros_before[base])
        order = np.empty(n, dtype=self.order.dtype)
        order[new_pos] = self.order
        starts = np.zeros(n, dtype=bool)
        starts[seg_start] = True
        second = seg_start + zeros_in_seg
        seg_end = np.append(seg_start[1:], n)
        starts[second[second < seg_end]] = True
        return Grouping(order, starts)

    def subset(self, mask: np.ndarray) -> Grouping:
        """The same grouping restricted to rows where ``mask`` (order kept)."""
        keep = mask[self.order]
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
    """Running maximum that restarts at every group start (values in [-2**39, 2**39])."""
    seg = np.cumsum(starts) - 1
    span = np.int64(1) << 41
    floor = -(span // 2) + 1
    safe = np.where(v == NONE, floor, v)
    running = np.maximum.accumulate(safe + seg * span) - seg * span
    return np.where(running <= floor, NONE, running)


def group_cummax_excl(grouping: Grouping, values: np.ndarray) -> np.ndarray:
    """Per row: the maximum of ``values`` over *earlier* rows of its group (NONE if none)."""
    n = len(values)
    out = np.full(n, NONE, dtype=np.int64)
    if n == 0:
        return out
    v = values[grouping.order].astype(np.int64)
    shifted = np.empty(n, dtype=np.int64)
    shifted[0] = NONE
    shifted[1:] = v[:-1]
    shifted[grouping.starts] = NONE
    out[grouping.order] = _segmented_running_max(shifted, grouping.starts)
    return out


def last_value_ffill(grouping: Grouping, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row: ``values`` of the latest row at or before it in its group with ``mask`` set."""
    n = len(values)
    out = np.full(n, NONE, dtype=np.int64)
    if n == 0:
        return out
    m = mask[grouping.order]
    positions = np.arange(n)
    seg_first = np.maximum.accumulate(np.where(grouping.starts, positions, 0))
    latest = np.maximum.accumulate(np.where(m, positions, -1))
    vals = values[grouping.order].astype(np.int64)
    out[grouping.order] = np.where(latest >= seg_first, vals[np.maximum(latest, 0)], NONE)
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
