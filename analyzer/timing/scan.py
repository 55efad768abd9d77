"""Vectorized building blocks: segmented recurrences and per-group binary search.

No Python loop over rows: the recurrence uses a parallel (Hillis–Steele) scan in
O(n log n) NumPy operations, the searches one ``np.searchsorted`` over combined keys.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "KEY_OFF", "KEY_SPAN", "affine_scan", "group_key", "rfc6298", "search_in_groups", "take",
]

KEY_OFF = np.int64(1) << 40    # values in ±2**40 (1 TiB of sequence space)
KEY_SPAN = np.int64(1) << 42


def affine_scan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """y[k] = a[k]·y[k-1] + b[k] with y[-1] = 0; put a[k] = 0 where a segment restarts."""
    a = a.astype(np.float64).copy()
    y = b.astype(np.float64).copy()
    n, d = len(y), 1
    while d < n:
        y[d:] = a[d:] * y[:-d] + y[d:]
        a[d:] = a[d:] * a[:-d]
        d *= 2
    return y


def rfc6298(samples: np.ndarray, starts: np.ndarray, alpha: float = 1 / 8,
            beta: float = 1 / 4) -> tuple[np.ndarray, np.ndarray]:
    """SRTT and RTTVAR after each RTT sample, per segment of consecutive samples (RFC 6298 §2).

    The first sample R of a segment sets SRTT = R, RTTVAR = R/2; later ones
    RTTVAR ← (1-β)·RTTVAR + β·|SRTT - R|, then SRTT ← (1-α)·SRTT + α·R.
    """
    r = samples.astype(np.float64)
    if len(r) == 0:
        return r.copy(), r.copy()
    a = np.where(starts, 0.0, 1.0 - alpha)
    srtt = affine_scan(a, np.where(starts, r, alpha * r))
    prev = np.empty_like(srtt)
    prev[0] = srtt[0]
    prev[1:] = srtt[:-1]
    dev = np.abs(prev - r)
    av = np.where(starts, 0.0, 1.0 - beta)
    rttvar = affine_scan(av, np.where(starts, r / 2.0, beta * dev))
    return srtt, rttvar


def group_key(group: np.ndarray, value: np.ndarray) -> np.ndarray:
    """One sortable int64 from (group, value) for values within ±KEY_OFF."""
    v = np.clip(value.astype(np.int64), -KEY_OFF + 1, KEY_OFF - 1)
    v += KEY_OFF
    v += group.astype(np.int64) * KEY_SPAN
    return v


def search_in_groups(keys_sorted: np.ndarray, key_group: np.ndarray, q_group: np.ndarray,
                     q_value: np.ndarray, side: str) -> np.ndarray:
    """Per query: position in ``keys_sorted`` (made by group_key) found by searchsorted, or -1
    when it falls outside the query's group.

    side "left": first position with value >= q_value; side "last": last position with
    value <= q_value.
    """
    q = group_key(q_group, q_value)
    if side == "left":
        pos = np.searchsorted(keys_sorted, q, side="left")
    else:
        pos = np.searchsorted(keys_sorted, q, side="right") - 1
    ok = (pos >= 0) & (pos < len(keys_sorted))
    ok[ok] = key_group[pos[ok]] == q_group[ok]
    return np.where(ok, pos, -1)


def take(values: np.ndarray, idx: np.ndarray, fill: int | float) -> np.ndarray:
    """``values[idx]``, with ``fill`` where ``idx`` is negative (or ``values`` is empty)."""
    if len(values) == 0:
        return np.full(len(idx), fill)
    return np.where(idx >= 0, values[np.maximum(idx, 0)], fill)
