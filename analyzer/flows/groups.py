"""Small vectorized group operations over rows that belong to integer groups.

Rows are in capture order; groups are integer ids (connection, or connection*2+direction).
Every function here is O(n log n) NumPy, without a Python loop over rows.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "NONE", "first_where", "group_cummax_excl", "group_starts", "last_value_ffill", "last_where",
    "stable_order",
]

NONE = np.iinfo(np.int64).min


def stable_order(group: np.ndarray) -> np.ndarray:
    """Permutation that sorts rows by group, keeping capture order inside a group."""
    return np.argsort(group, kind="stable")


def group_starts(sorted_group: np.ndarray) -> np.ndarray:
    """Boolean mask: True at the first position of each group in a group-sorted array."""
    starts = np.ones(len(sorted_group), dtype=bool)
    starts[1:] = sorted_group[1:] != sorted_group[:-1]
    return starts


def first_where(group: np.ndarray, mask: np.ndarray, n_groups: int) -> np.ndarray:
    """Index of the first row with ``mask`` in each group, -1 where there is none."""
    out = np.full(n_groups, -1, dtype=np.int64)
    idx = np.flatnonzero(mask)
    if len(idx):
        g = group[idx]
        # reversed assignment: the earliest index wins
        out[g[::-1]] = idx[::-1]
    return out


def last_where(group: np.ndarray, mask: np.ndarray, n_groups: int) -> np.ndarray:
    """Index of the last row with ``mask`` in each group, -1 where there is none."""
    n = len(group)
    rev = first_where(group[::-1], mask[::-1], n_groups)
    return np.where(rev >= 0, n - 1 - rev, -1)


def group_cummax_excl(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row: the maximum of ``values`` over *earlier* rows of the same group (NONE if none).

    ``values`` may hold NONE for rows that should not count.
    """
    n = len(group)
    out = np.full(n, NONE, dtype=np.int64)
    if n == 0:
        return out
    order = stable_order(group)
    g = group[order]
    v = values[order].astype(np.int64)
    starts = group_starts(g)
    # shift by one inside each group, then a segmented running maximum
    shifted = np.empty(n, dtype=np.int64)
    shifted[0] = NONE
    shifted[1:] = v[:-1]
    shifted[starts] = NONE
    # segmented maximum: add a large per-group offset so groups never mix
    seg = np.cumsum(starts) - 1
    span = np.int64(1) << 40
    safe = np.where(shifted == NONE, -(span // 2) + 1, shifted)
    running = np.maximum.accumulate(safe + seg * span) - seg * span
    running = np.where(running <= -(span // 2) + 1, NONE, running)
    out[order] = running
    return out


def last_value_ffill(group: np.ndarray, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row: ``values`` of the latest row at or before it in its group with ``mask`` set.

    NONE where no such row exists yet.
    """
    n = len(group)
    out = np.full(n, NONE, dtype=np.int64)
    if n == 0:
        return out
    order = stable_order(group)
    g = group[order]
    m = mask[order]
    starts = group_starts(g)
    pos = np.where(m, np.arange(n), -1)
    seg_first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    latest = np.maximum.accumulate(pos)
    valid = latest >= seg_first
    vals = values[order].astype(np.int64)
    res = np.where(valid, vals[np.maximum(latest, 0)], NONE)
    out[order] = res
    return out
