"""Reassembled byte streams: :class:`Reassembler` (one per result and policy) and :class:`Stream`.

A :class:`Stream` is one direction of one connection. Its layout (pieces, gaps, overlaps)
is known without reading a byte; ``chunks()`` then reads the bytes from the capture file
batch by batch, so a stream of any size is followed in bounded memory. ``data`` joins the
chunks for small streams, and refuses when bytes are missing rather than filling them in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import IO, TYPE_CHECKING

import numpy as np

from analyzer.errors import UsageError
from analyzer.flows.groups import NONE
from analyzer.reassembly.compare import OverlapBytes, compare_overlaps
from analyzer.reassembly.layout import GAP_REASONS, POLICIES, Layout, lay_out
from analyzer.reassembly.segments import Placement, data_segments, place
from analyzer.reassembly.source import PayloadSource, iter_ranges, rereadable

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["DATA_LIMIT", "DIRECTIONS", "Chunk", "Gap", "Overlap", "Reassembler", "Stream",
           "direction_index"]

DIRECTIONS = ("client", "server")
#: ``Stream.data`` refuses streams larger than this: use ``chunks()`` or ``write()``.
DATA_LIMIT = 256 << 20

_ALIASES = {"client": 0, "c2s": 0, "c": 0, "0": 0, "server": 1, "s2c": 1, "s": 1, "1": 1}


def direction_index(direction: str | int) -> int:
    """"client"/"c2s"/0 → 0 (bytes the client sent), "server"/"s2c"/1 → 1."""
    key = str(direction).lower()
    if key not in _ALIASES:
        raise UsageError(f"direction must be client or server (c2s/s2c), not {direction!r}")
    return _ALIASES[key]


@dataclass(frozen=True, slots=True)
class Gap:
    """Bytes of the stream the capture does not give: ``reason`` not_captured, snaplen (cut
    by the capture's snapshot length) or ip_fragments (tshark engine: a segment rebuilt from
    IP fragments, whose bytes are not in one piece of the file)."""

    offset: int
    length: int
    reason: str


@dataclass(frozen=True, slots=True)
class Overlap:
    """Two captured copies of the same stream bytes ``[offset, offset+length)``.

    ``kept_frame`` supplied the bytes under the policy, ``other_frame`` is the copy that
    lost; ``*_start`` are the stream offsets where each copy's segment starts. ``different``
    is None when the bytes could not be compared (capture not readable again).
    """

    offset: int
    length: int
    kept_frame: int
    other_frame: int
    kept_start: int
    other_start: int
    different: bool | None
    differing_bytes: int | None = None
    first_difference: int | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of stream bytes from one packet (``data``), or a gap (``data`` is None)."""

    direction: str
    offset: int
    length: int
    data: bytes | None
    frame: int
    reason: str = ""

    @property
    def is_gap(self) -> bool:
        return self.data is None

    @property
    def end(self) -> int:
        return self.offset + self.length


class Reassembler:
    """Stream layouts of one result under one policy (placement computed once)."""

    def __init__(self, result: AnalysisResult, policy: str = "first") -> None:
        if policy not in POLICIES:
            raise UsageError(f"policy must be first or last, not {policy!r}")
        self.result = result
        self.policy = policy

    @cached_property
    def placement(self) -> Placement:
        return place(self.result.columns, self.result.flows)

    @property
    def readable(self) -> bool:
        return rereadable(self.result.source)

    def layout(self, groups: np.ndarray) -> Layout:
        """Lay out the streams ``groups`` (conn*2 + direction) at once."""
        p = self.placement
        seg = data_segments(self.result.columns, self.result.flows, p, groups)
        return lay_out(seg, groups, p.length, self.policy)

    def stream(self, conn_id: int, direction: str | int) -> Stream:
        self.result.connection(conn_id)
        group = 2 * int(conn_id) + direction_index(direction)
        return StreamSet(self, self.layout(np.array([group]))).stream(group)

    def all_streams(self) -> StreamSet:
        """Every stream of the capture, laid out together (one pass)."""
        return StreamSet(self, self.layout(np.arange(2 * self.result.flows.n_conn)))


class StreamSet:
    """Streams sharing one layout; overlaps compared once for all of them."""

    def __init__(self, owner: Reassembler, layout: Layout) -> None:
        self.owner = owner
        self.layout = layout

    @cached_property
    def overlap_bytes(self) -> OverlapBytes | None:
        if not self.owner.readable:
            return None
        with PayloadSource(self.owner.result.source) as src:
            return compare_overlaps(self.layout, src)

    def stream(self, group: int) -> Stream:
        return Stream(self, int(group))


def _bounds(keys: np.ndarray, group: int) -> tuple[int, int]:
    return int(np.searchsorted(keys, group)), int(np.searchsorted(keys, group, side="right"))


class Stream:
    """One direction of one connection, reassembled (see the module docstring)."""

    def __init__(self, owner: StreamSet, group: int) -> None:
        self._set = owner
        self._lay = owner.layout
        self.result = owner.owner.result
        self.group = group
        self.conn_id = group // 2
        self.direction = DIRECTIONS[group % 2]
        self.policy = owner.owner.policy
        self._p = _bounds(self._lay.p_group, group)
        self._g = _bounds(self._lay.g_group, group)
        self._o = _bounds(self._lay.o_group, group)
        p = owner.owner.placement
        self.length = int(p.length[group])
        self.starts_mid_stream = not bool(p.isn_known[group])
        self.fin_offset: int | None = None if p.fin_off[group] == NONE else int(p.fin_off[group])
        self.origin = int(p.origin[group])

    def __repr__(self) -> str:
        return (f"<Stream conn {self.conn_id} {self.direction}: {self.length} bytes, "
                f"{len(self.gaps)} gaps, {self.overlap_count} overlaps>")

    # --- layout (no bytes read) -------------------------------------------------------------
    def pieces(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per piece, in stream order: (offset, length, packet-table row, file offset)."""
        a, b = self._p
        lay = self._lay
        return lay.p_off[a:b], lay.p_len[a:b], lay.p_row[a:b], lay.p_file[a:b]

    @property
    def captured(self) -> int:
        """Bytes of the stream the capture has."""
        a, b = self._p
        return int(self._lay.p_len[a:b].sum())

    @cached_property
    def gaps(self) -> list[Gap]:
        a, b = self._g
        lay = self._lay
        return [Gap(int(o), int(n), GAP_REASONS[int(r)]) for o, n, r in
                zip(lay.g_off[a:b], lay.g_len[a:b], lay.g_reason[a:b], strict=True)]

    @property
    def gap_bytes(self) -> int:
        return sum(g.length for g in self.gaps)

    @property
    def overlap_count(self) -> int:
        return self._o[1] - self._o[0]

    @cached_property
    def overlaps(self) -> list[Overlap]:
        """Overlapping copies, with their bytes compared when the capture can be re-read."""
        a, b = self._o
        lay, seg = self._lay, self._lay.seg
        frame = self.result.columns["frame"]
        cmp = self._set.overlap_bytes
        out = []
        for i in range(a, b):
            k, o = int(lay.o_kept[i]), int(lay.o_other[i])
            diff = None if cmp is None else cmp.differing[i]
            first = None if cmp is None or cmp.first[i] < 0 else int(cmp.first[i])
            out.append(Overlap(int(lay.o_off[i]), int(lay.o_len[i]), int(frame[seg.row[k]]),
                               int(frame[seg.row[o]]), int(seg.start[k]), int(seg.start[o]),
                               None if diff is None else bool(diff > 0),
                               None if diff is None else int(diff), first))
        return out

    # --- bytes ------------------------------------------------------------------------------
    def chunks(self, gaps: bool = True) -> Iterator[Chunk]:
        """The stream in order: data chunks (one per packet run) and, if ``gaps``, gaps."""
        off, ln, row, fo = self.pieces()
        frame = self.result.columns["frame"]
        holes = iter(self.gaps if gaps else [])
        hole = next(holes, None)
        with PayloadSource(self.result.source) as src:
            data = iter_ranges(src, fo, ln)
            for i in range(len(off)):
                while hole is not None and hole.offset < off[i]:
                    yield Chunk(self.direction, hole.offset, hole.length, None, -1, hole.reason)
                    hole = next(holes, None)
                yield Chunk(self.direction, int(off[i]), int(ln[i]), next(data),
                            int(frame[row[i]]))
        while hole is not None:
            yield Chunk(self.direction, hole.offset, hole.length, None, -1, hole.reason)
            hole = next(holes, None)

    def to_bytes(self, fill: bytes | None = None) -> bytes:
        """The whole stream; gaps filled with ``fill`` repeated, or UsageError if None."""
        if self.length > DATA_LIMIT:
            raise UsageError(f"stream of {self.length:,} bytes is too large for .data: iterate "
                             ".chunks() or use .write()")
        if self.gaps and fill is None:
            raise UsageError(f"conn {self.conn_id} {self.direction} stream has "
                             f"{len(self.gaps)} gap(s), {self.gap_bytes:,} bytes missing "
                             "(see .gaps): use .chunks(), or .to_bytes(fill=b'\\0') to fill them")
        return b"".join(_filled(self.chunks(), fill))

    @property
    def data(self) -> bytes:
        """The stream's bytes (small streams without gaps; see :meth:`to_bytes`)."""
        return self.to_bytes()

    def write(self, out: IO[bytes], fill: bytes | None = None) -> tuple[int, str]:
        """Write the stream to ``out`` (gaps skipped, or filled with ``fill``).

        Returns (bytes written, SHA-256 of them).
        """
        h = hashlib.sha256()
        n = 0
        for piece in _filled(self.chunks(gaps=fill is not None), fill):
            out.write(piece)
            h.update(piece)
            n += len(piece)
        return n, h.hexdigest()


def _filled(chunks: Iterator[Chunk], fill: bytes | None) -> Iterator[bytes]:
    for c in chunks:
        if c.data is not None:
            yield c.data
        elif fill is not None:
            unit = fill or b"\0"
            yield from _repeat(unit, c.length)


def _repeat(unit: bytes, n: int, block: int = 1 << 20) -> Iterator[bytes]:
    chunk = (unit * (block // len(unit) + 1))[:block]
    while n > 0:
        yield chunk[:min(n, block)]
        n -= block
