"""Relative sequence and acknowledgement numbers, as Wireshark shows them, unwrapped.

Each direction's numbers are counted from its ISN (the SYN's seq) when the SYN was
captured, else from the first seq seen minus one, so that the first byte is 1 either way.
Consecutive values are unwrapped modulo 2**32, so a connection that crosses the
sequence-number wrap-around (or carries more than 4 GiB) keeps increasing numbers.
"""

from __future__ import annotations

import numpy as np

from analyzer.flows.groups import NONE, Grouping
from analyzer.schema import SYN

__all__ = ["bases", "unwrap_relative"]


def _signed32(x: np.ndarray) -> np.ndarray:
    return ((x.astype(np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


def bases(group: np.ndarray, flags: np.ndarray, seq: np.ndarray, n_groups: int,
          ) -> tuple[np.ndarray, np.ndarray]:
    """Per (conn, direction) group: (base seq as int64 or NONE, True if a SYN set it)."""
    base = np.full(n_groups, NONE, dtype=np.int64)
    from_syn = np.zeros(n_groups, dtype=bool)
    idx = np.arange(len(group))
    first_any = np.full(n_groups, -1, dtype=np.int64)
    first_any[group[::-1]] = idx[::-1]
    ok = first_any >= 0
    base[ok] = seq[first_any[ok]].astype(np.int64) - 1
    syn_rows = np.flatnonzero(flags & SYN)
    first_syn = np.full(n_groups, -1, dtype=np.int64)
    first_syn[group[syn_rows][::-1]] = syn_rows[::-1]
    has = first_syn >= 0
    base[has] = seq[first_syn[has]].astype(np.int64)
    from_syn[has] = True
    base[ok] %= 1 << 32
    return base, from_syn


def unwrap_relative(grouping: Grouping, values: np.ndarray, base_per_row: np.ndarray,
                    mask: np.ndarray) -> np.ndarray:
    """Unwrapped ``values - base`` per row where ``mask``; NONE elsewhere.

    ``grouping`` groups rows by (connection, direction). The first masked value of a group
    is taken modulo 2**32 as a signed distance from the base; each later one adds the
    signed 32-bit difference from its predecessor. One cumulative sum covers every group:
    each group's first difference is set so that the running sum restarts at its value.
    """
    out = np.full(len(values), NONE, dtype=np.int64)
    sub = grouping.subset(mask & (base_per_row != NONE))
    r = sub.order
    if len(r) == 0:
        return out
    v = values[r].astype(np.uint32, copy=False)
    diffs = np.empty(len(r), dtype=np.int64)
    diffs[0] = 0
    diffs[1:] = np.subtract(v[1:], v[:-1]).view(np.int32)  # uint32 wraps: signed distance
    starts = np.flatnonzero(sub.starts)
    first = _signed32(v[starts].astype(np.int64) - base_per_row[r[starts]])
    diffs[starts] = 0
    last = first + np.add.reduceat(diffs, starts)         # each group's final value
    diffs[starts] = first
    diffs[starts[1:]] -= last[:-1]
    np.cumsum(diffs, out=diffs)
    out[r] = diffs
    return out
