"""Which segments carry sequence space that was sent before (retransmissions), which ones
only fill a gap (out-of-order), and which earlier row first carried those bytes.

Per (connection, direction), the rows that push the highest sequence end forward carry new
bytes in increasing, disjoint intervals ``[new_lo, new_hi)``; the spaces between two of
them are *holes* (bytes the capture had not seen yet). A row starting below the highest end
sent before it is

* a retransmission when its first byte lies in one of those intervals (the row that
  carried the interval is the original), or in a hole that an earlier row already filled;
* otherwise the first copy of bytes from a hole: out-of-order when it came within the
  connection's RTT (3 ms if unknown, as Wireshark) of the row that opened the hole, else a
  retransmission whose original the capture did not see (``original`` = -1).

Keep-alives (one byte or none at SND.NXT-1 with everything acknowledged) are neither.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyzer.flows import Flows
from analyzer.flows.groups import NONE
from analyzer.schema import FIN, SYN
from analyzer.timing.context import RowContext
from analyzer.timing.scan import group_key, search_in_groups, take

__all__ = ["Resends", "find_resends"]


@dataclass(slots=True)
class Resends:
    rows: np.ndarray        # retransmitted rows (capture order), duplicates of the capture included
    original: np.ndarray    # per row in ``rows``: row that first carried its first byte, or -1
    tail: np.ndarray        # per row in ``rows``: it re-sends the highest data sent so far
    ooo_rows: np.ndarray    # out-of-order rows (not retransmissions)
    keepalive_rows: np.ndarray
    adv_rows: np.ndarray    # rows carrying new bytes (group-sorted, capture order) ...
    adv_lo: np.ndarray      # ... and the new interval [adv_lo, adv_hi) each one carried
    adv_hi: np.ndarray
    adv_group: np.ndarray

    def first_carrier(self, group: np.ndarray, byte: np.ndarray) -> np.ndarray:
        """Row that first carried ``byte`` of ``group`` (-1 if the capture did not see it)."""
        keys = group_key(self.adv_group, self.adv_lo)
        pos = search_in_groups(keys, self.adv_group, group, byte, "last")
        ok = take(self.adv_hi, pos, NONE) > byte
        return np.where(ok, take(self.adv_rows, pos, -1), -1)


def _advancing(ctx: RowContext, fl: Flows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows carrying new bytes, with the new interval's start (group-sorted, capture order)."""
    mbe = ctx.max_end_before
    adv = ctx.occ & ((mbe == NONE) | (fl.seg_end > mbe))
    order = fl.by_group.order
    rows = order[adv[order]]
    lo = np.where(mbe[rows] == NONE, fl.rel_seq[rows], np.maximum(fl.rel_seq[rows], mbe[rows]))
    return rows, lo, fl.seg_end[rows]


def _keepalive(cols: dict[str, np.ndarray], ctx: RowContext, fl: Flows) -> np.ndarray:
    mbe = ctx.max_end_before
    return (ctx.occ & (mbe != NONE) & (cols["payload_len"] <= 1)
            & ((cols["flags"] & (SYN | FIN)) == 0) & (fl.rel_seq == mbe - 1)
            & (ctx.peer_ack_before != NONE) & (ctx.peer_ack_before >= mbe))


def find_resends(cols: dict[str, np.ndarray], ctx: RowContext, fl: Flows) -> Resends:
    mbe = ctx.max_end_before
    cand = ctx.occ & (mbe != NONE) & (fl.rel_seq < mbe)
    keep = _keepalive(cols, ctx, fl)
    cand &= ~keep
    a_rows, a_lo, a_hi = _advancing(ctx, fl)
    a_group = fl.group[a_rows]
    keys = group_key(a_group, a_lo)
    c_rows = np.flatnonzero(cand)
    start = fl.rel_seq[c_rows]
    pos = search_in_groups(keys, a_group, fl.group[c_rows], start, "last")
    covered = take(a_hi, pos, NONE) > start
    original = np.where(covered, take(a_rows, pos, -1), -1)
    # the hole each uncovered row falls in was opened by the next advancing row of its group
    nxt = search_in_groups(keys, a_group, fl.group[c_rows], start + 1, "left")
    opener = np.where(covered, -1, take(a_rows, nxt, -1))
    fill_idx = np.flatnonzero(~covered)
    is_ooo = np.zeros(len(c_rows), dtype=bool)
    if len(fill_idx):
        original[fill_idx], is_ooo[fill_idx] = _fills(
            c_rows[fill_idx], opener[fill_idx], ctx, fl)
    rows = c_rows[~is_ooo]
    tail = fl.seg_end[rows] >= mbe[rows]
    return Resends(rows, original[~is_ooo], tail, c_rows[is_ooo], np.flatnonzero(keep),
                   a_rows, a_lo, a_hi, a_group)


def _hole_reported(ctx: RowContext, opener: int, start: int) -> bool:
    """Had the receiver already reported the hole before the row that revealed it (a SACK
    block above ``start`` or a duplicate ACK)? Then the hole predates the capture's view and
    the fill is a retransmission, not a reordered segment."""
    if opener < 0:
        return False
    lp = int(ctx.last_peer[opener])
    if lp < 0:
        return False
    above = ctx.sack_left[lp] != NONE and ctx.sack_left[lp] > start
    return bool(above or ctx.dup_count[lp] > 0)


def _fills(rows: np.ndarray, opener: np.ndarray, ctx: RowContext, fl: Flows,
           ) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose first byte was in a hole: the earlier fill they repeat, or out-of-order.

    Few rows (losses before the capture point, reordering): a loop over them is fine.
    """
    original = np.full(len(rows), -1, dtype=np.int64)
    ooo = np.zeros(len(rows), dtype=bool)
    thresh = ctx.ooo_threshold()
    seen: dict[int, list[tuple[int, int, int]]] = {}
    for i, (r, op) in enumerate(zip(rows.tolist(), opener.tolist(), strict=True)):
        g, s = int(fl.group[r]), int(fl.rel_seq[r])
        prior = next((row for lo, hi, row in seen.get(g, []) if lo <= s < hi), -1)
        if prior >= 0:
            original[i] = prior
            continue
        seen.setdefault(g, []).append((s, int(fl.seg_end[r]), r))
        age = (ctx.ts[r] - ctx.ts[op]) / 1e9 if op >= 0 else np.inf
        ooo[i] = age < thresh[fl.conn[r]] and not _hole_reported(ctx, op, s)
    return original, ooo
