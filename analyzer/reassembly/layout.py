"""The layout of byte streams: which packet supplies which bytes, where the gaps and overlaps are.

Planned from the segments' offsets alone, vectorized over any number of streams at once:

1. Every segment boundary (start, end of the captured bytes, end of the bytes sent) and
   each stream's ends cut the streams into *elementary intervals*: within one, every
   segment either covers all of it or none of it.
2. Coverage counts come from one cumulative sum of +1/−1 at the boundaries: 0 captured
   copies is a gap (a snaplen gap if some segment *sent* those bytes; ip_fragments if they
   are in a segment rebuilt from IP fragments, which has no place in the file; else not
   captured), 2 or more is an overlap.
3. The copy kept in each interval is the covering segment captured first (policy
   ``first``, what Linux keeps) or last (``last``): a "range chmin" problem solved by an
   iterative segment tree, one vectorized pass per tree level, over the intervals of
   overlapping segments only (a segment alone on its bytes simply keeps them).
4. Runs of intervals kept from the same packet become *pieces*; runs of intervals where a
   segment lost to another become *overlaps* (the bytes to compare).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from analyzer.reassembly.segments import MAX_OFFSET, Segments

__all__ = ["GAP_REASONS", "MAX_OVERLAP_INTERVALS", "POLICIES", "Layout", "cover_min", "lay_out"]

POLICIES = ("first", "last")
GAP_REASONS = ("not_captured", "snaplen", "ip_fragments")
#: Cap on (segment, interval) pairs examined for overlaps, so that hostile input (thousands
#: of copies of one range) cannot make the layout quadratic; ``Layout.capped`` says if hit.
MAX_OVERLAP_INTERVALS = 2_000_000

_SHIFT = 41  # offsets < 2**40 <= 2**41: (group index << 41) | offset keeps the order
_MASK = (1 << _SHIFT) - 1
_BIG = np.iinfo(np.int64).max


@dataclass(slots=True)
class Layout:
    """Pieces, gaps and overlaps of the laid-out streams, each sorted by (group, offset).

    ``groups``/``length`` per stream; ``p_*`` per piece (``row`` of the packet supplying
    the bytes, ``file`` offset of the first byte); ``g_*`` per gap (``reason`` index into
    GAP_REASONS); ``o_*`` per overlap (``kept``/``other``: segment indices into ``seg``).
    """

    seg: Segments
    groups: np.ndarray
    length: np.ndarray
    p_group: np.ndarray
    p_off: np.ndarray
    p_len: np.ndarray
    p_row: np.ndarray
    p_file: np.ndarray
    g_group: np.ndarray
    g_off: np.ndarray
    g_len: np.ndarray
    g_reason: np.ndarray
    o_group: np.ndarray
    o_off: np.ndarray
    o_len: np.ndarray
    o_kept: np.ndarray
    o_other: np.ndarray
    capped: bool = False

    def file_offset(self, seg_idx: np.ndarray, off: np.ndarray) -> np.ndarray:
        """Capture-file offset of stream offset ``off`` inside segment ``seg_idx``."""
        return self.seg.file_off[seg_idx] + (off - self.seg.start[seg_idx])


def cover_min(ks: np.ndarray, ke: np.ndarray, prio: np.ndarray, m: int) -> np.ndarray:
    """Per point 0..m-1: the minimum ``prio`` over the ranges ``[ks, ke)`` covering it.

    Points no range covers get int64 max. An iterative segment tree: each range is applied
    to O(log m) nodes, level by level for all ranges at once; a point's value is the
    minimum over its leaf's ancestors.
    """
    size = 1 << max(1, int(max(m, 1) - 1).bit_length())
    tree = np.full(2 * size, _BIG, dtype=np.int64)
    lo, hi, p = ks + size, ke + size, prio.astype(np.int64)
    live = lo < hi
    lo, hi, p = lo[live], hi[live], p[live]
    while len(lo):
        odd = (lo & 1) == 1
        np.minimum.at(tree, lo[odd], p[odd])
        lo = lo + odd
        odd = (hi & 1) == 1
        hi = hi - odd
        np.minimum.at(tree, hi[odd], p[odd])
        lo, hi = lo >> 1, hi >> 1
        live = lo < hi
        lo, hi, p = lo[live], hi[live], p[live]
    node = np.arange(m, dtype=np.int64) + size
    out = tree[node]
    while len(node) and node[0] > 1:
        node = node >> 1
        out = np.minimum(out, tree[node])
    return out


def _runs(mask: np.ndarray, same_as_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index of each run of ``mask`` positions joined by ``same_as_prev``."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return idx, idx
    new = np.ones(len(idx), dtype=bool)
    new[1:] = ~((idx[1:] == idx[:-1] + 1) & same_as_prev[idx[1:]])
    first = idx[new]
    last = idx[np.append(np.flatnonzero(new)[1:] - 1, len(idx) - 1)]
    return first, last


def _coverage(ks: np.ndarray, ke: np.ndarray, m: int) -> np.ndarray:
    diff = np.bincount(ks, minlength=m + 1) - np.bincount(ke, minlength=m + 1)
    return np.cumsum(diff)[:m]


@dataclass(slots=True)
class _Grid:
    """Elementary intervals: boundary keys and per-segment interval ranges."""

    pts: np.ndarray
    ks: np.ndarray
    kc: np.ndarray
    kse: np.ndarray
    unread: np.ndarray

    @property
    def m(self) -> int:
        return max(len(self.pts) - 1, 0)

    @property
    def group_index(self) -> np.ndarray:
        return self.pts >> _SHIFT

    @property
    def off(self) -> np.ndarray:
        return self.pts & _MASK


def _grid(seg: Segments, groups: np.ndarray, length: np.ndarray) -> _Grid:
    gi = np.searchsorted(groups, seg.group).astype(np.int64) << _SHIFT
    own = np.arange(len(groups), dtype=np.int64) << _SHIFT
    ends = np.minimum(length, MAX_OFFSET)
    pts = np.unique(np.concatenate([own, own | ends, gi | seg.start, gi | seg.cap_end,
                                    gi | seg.sent_end]))
    return _Grid(pts, np.searchsorted(pts, gi | seg.start), np.searchsorted(pts, gi | seg.cap_end),
                 np.searchsorted(pts, gi | seg.sent_end), seg.unread)


def lay_out(seg: Segments, groups: np.ndarray, length: np.ndarray, policy: str = "first",
            overlaps: bool = True) -> Layout:
    """Lay out the streams ``groups`` (``length`` per group id) from their segments ``seg``."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
    groups = np.unique(np.asarray(groups, dtype=np.int64))
    groups = groups[length[groups] > 0]
    inside = np.isin(seg.group, groups)
    if not inside.all():
        seg = Segments(*(getattr(seg, f.name)[inside] for f in fields(Segments)))
    grid = _grid(seg, groups, length[groups])
    m = grid.m
    gidx = grid.group_index
    valid = gidx[:-1] == gidx[1:] if m else np.zeros(0, dtype=bool)
    cap_n = _coverage(grid.ks, grid.kc, m)
    read = ~grid.unread
    sent_n = _coverage(grid.ks[read], grid.kse[read], m)
    frag_n = _coverage(grid.ks[~read], grid.kse[~read], m)
    multi = np.concatenate([[0], np.cumsum(cap_n >= 2)])
    involved = multi[grid.kc] - multi[grid.ks] > 0  # segments sharing bytes with another
    win = _winners(seg, grid, involved, policy)
    covered = cap_n > 0
    pg, po, pl, pr, pf = _pieces(seg, grid, win, covered)
    reason = np.where(sent_n > 0, 1, np.where(frag_n > 0, 2, 0))
    g_idx, g_off, g_len, g_reason = _gaps(grid, valid & ~covered, reason)
    ov, capped = _overlaps(seg, grid, win, np.flatnonzero(involved)) if overlaps \
        else (_empty(5), False)
    og, oo, ol, ok, oth = ov
    return Layout(seg, groups, length[groups], pg, po, pl, pr, pf, groups[g_idx], g_off, g_len,
                  g_reason, og, oo, ol, ok, oth, capped=capped)


def _expand(ks: np.ndarray, ke: np.ndarray, which: np.ndarray,
            ) -> tuple[np.ndarray, np.ndarray]:
    """(segment, interval) pairs of the segments ``which``: every k in [ks, ke)."""
    counts = ke[which] - ks[which]
    s = np.repeat(which, counts)
    first_pos = np.repeat(np.cumsum(counts) - counts, counts)
    return s, ks[s] + (np.arange(len(s)) - first_pos)


def _winners(seg: Segments, grid: _Grid, involved: np.ndarray, policy: str) -> np.ndarray:
    """Per interval: the index of the segment whose copy is kept (-1 where none).

    A segment that shares no byte with another owns all its intervals; only the overlapping
    ones go through :func:`cover_min`, on their own (compacted) intervals, so the tree is as
    small as the overlaps.
    """
    win = np.full(grid.m, -1, dtype=np.int64)
    s, k = _expand(grid.ks, grid.kc, np.flatnonzero(~involved))
    win[k] = s
    inv = np.flatnonzero(involved)
    if len(inv) == 0:
        return win
    ks, kc = grid.ks[inv], grid.kc[inv]
    used = _coverage(ks, kc, grid.m) > 0
    rank = np.concatenate([[0], np.cumsum(used)])
    prio = seg.row[inv] if policy == "first" else -seg.row[inv]
    best = cover_min(rank[ks], rank[kc], prio, int(rank[-1]))
    win[np.flatnonzero(used)] = np.searchsorted(seg.row, np.abs(best))
    return win


def _empty(k: int) -> tuple[np.ndarray, ...]:
    return tuple(np.empty(0, dtype=np.int64) for _ in range(k))


def _pieces(seg: Segments, grid: _Grid, win: np.ndarray, covered: np.ndarray,
            ) -> tuple[np.ndarray, ...]:
    same = np.zeros(len(win), dtype=bool)
    same[1:] = win[1:] == win[:-1]
    first, last = _runs(covered, same)
    off = grid.off
    w = win[first]
    p_off = off[first]
    p_file = seg.file_off[w] + (p_off - seg.start[w])
    return (seg.group[w], p_off, off[last + 1] - p_off, seg.row[w], p_file)


def _gaps(grid: _Grid, hole: np.ndarray, reason: np.ndarray) -> tuple[np.ndarray, ...]:
    same = np.zeros(len(hole), dtype=bool)
    same[1:] = reason[1:] == reason[:-1]
    first, last = _runs(hole, same)
    off = grid.off
    return (grid.group_index[first], off[first], off[last + 1] - off[first],
            reason[first].astype(np.int64))


def _overlaps(seg: Segments, grid: _Grid, win: np.ndarray, involved: np.ndarray,
              ) -> tuple[tuple[np.ndarray, ...], bool]:
    """Runs of intervals where a segment's captured bytes lost to another segment's."""
    counts = grid.kc[involved] - grid.ks[involved]
    capped = bool(counts.sum() > MAX_OVERLAP_INTERVALS)
    if capped:
        involved = involved[np.cumsum(counts) <= MAX_OVERLAP_INTERVALS]
    s, k = _expand(grid.ks, grid.kc, involved)
    lose = win[k] != s
    s, k = s[lose], k[lose]
    w = win[k]
    if len(k) == 0:
        return _empty(5), capped
    new = np.ones(len(k), dtype=bool)
    new[1:] = ~((s[1:] == s[:-1]) & (w[1:] == w[:-1]) & (k[1:] == k[:-1] + 1))
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:] - 1, len(k) - 1)
    off = grid.off
    o_off = off[k[starts]]
    o_len = off[k[ends] + 1] - o_off
    o_group = seg.group[s[starts]]
    order = np.lexsort((o_off, o_group))
    out = (o_group[order], o_off[order], o_len[order], w[starts][order], s[starts][order])
    return out, capped
