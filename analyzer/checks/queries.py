"""Look-ups for a few query rows (the RSTs, the SYN-ACKs, ...) and per-group maxima.

A pass over the whole packet table costs the same whether one row needs its answer or all
do. These answer only the rows asked about, by binary search over the rows grouped by
(connection, direction) — ``result.flows.by_group``, whose blocks are each one group in
capture order — so a check that looks at the RSTs pays for the RSTs. The grouped keys are
built once per :class:`~analyzer.checks.context.Ctx`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from analyzer.flows.groups import NONE

if TYPE_CHECKING:
    from analyzer.checks.context import Ctx

__all__ = ["first_after", "group_max", "latest_in"]


def _group_keys(ctx: Ctx) -> tuple[np.ndarray, np.ndarray]:
    """Per position of ``by_group.order``: block * (n + 1) + row (sorted, as each block
    is one group in capture order); and per group its block (-1 without rows)."""
    got = ctx.memo.get("group_keys")
    if isinstance(got, tuple):
        return got
    order, starts = ctx.by_group.order, ctx.by_group.starts
    keys = np.cumsum(starts, dtype=np.int64)
    keys -= 1
    keys *= ctx.n + 1
    keys += order
    block = np.full(2 * ctx.n_conn, -1, dtype=np.int64)
    block[ctx.group[order[starts]]] = np.arange(int(np.count_nonzero(starts)))
    ctx.memo["group_keys"] = (keys, block)
    return keys, block


def _search(ctx: Ctx, rows: np.ndarray, groups: np.ndarray, mask: np.ndarray | None,
            shift: int, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    keys, block = _group_keys(ctx)
    if mask is not None:
        keys = keys[mask[ctx.by_group.order]]
    rows, groups = np.asarray(rows, dtype=np.int64), np.asarray(groups, dtype=np.int64)
    b = block[groups]
    j = np.searchsorted(keys, b * (ctx.n + 1) + rows + shift,
                        side="right" if side == "right" else "left")
    return keys, b, j, rows


def latest_in(ctx: Ctx, rows: np.ndarray, groups: np.ndarray, mask: np.ndarray | None = None,
              *, strict: bool = False) -> np.ndarray:
    """Per query: the latest row with ``mask`` (None: any) of group ``groups[i]`` at or
    before row ``rows[i]`` (strictly before with ``strict``), -1 if none."""
    keys, b, j, rows = _search(ctx, rows, groups, mask, -int(strict), "right")
    out = np.full(len(rows), -1, dtype=np.int64)
    if len(keys) == 0 or len(rows) == 0:
        return out
    span = ctx.n + 1
    j -= 1
    got = keys[np.maximum(j, 0)]
    ok = (j >= 0) & (b >= 0) & (got // span == b)
    out[ok] = got[ok] % span
    return out


def first_after(ctx: Ctx, rows: np.ndarray, groups: np.ndarray,
                mask: np.ndarray | None = None) -> np.ndarray:
    """Per query: the first row with ``mask`` (None: any) of group ``groups[i]`` strictly
    after row ``rows[i]``, -1 if none."""
    keys, b, j, rows = _search(ctx, rows, groups, mask, 1, "left")
    out = np.full(len(rows), -1, dtype=np.int64)
    if len(keys) == 0 or len(rows) == 0:
        return out
    span = ctx.n + 1
    got = keys[np.minimum(j, len(keys) - 1)]
    ok = (j < len(keys)) & (b >= 0) & (got // span == b)
    out[ok] = got[ok] % span
    return out


def group_max(ctx: Ctx, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per group (conn*2 + direction): the max of ``values`` over its rows (those with
    ``mask``), NONE where there are none."""
    out = np.full(2 * ctx.n_conn, NONE, dtype=np.int64)
    if ctx.n == 0:
        return out
    order = ctx.by_group.order
    first = np.flatnonzero(ctx.by_group.starts)
    v = np.asarray(values)[order].astype(np.int64, copy=False)
    if mask is not None:
        v = np.where(mask[order], v, NONE)
    out[ctx.group[order[first]]] = np.maximum.reduceat(v, first)
    return out
