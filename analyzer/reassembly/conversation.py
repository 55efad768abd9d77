"""Both directions of a connection interleaved as the capture delivered them.

Like Wireshark's Follow TCP Stream: a chunk appears when the packet completing it was
captured. Bytes that arrived out of order wait for the packet that fills the hole before
them, so each direction stays in stream order; a gap appears with the data after it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from analyzer.reassembly.source import PayloadSource, iter_ranges
from analyzer.reassembly.stream import Chunk, Stream

__all__ = ["conversation", "delivery_order"]

_LAST = np.iinfo(np.int64).max


def delivery_order(stream: Stream) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item of ``stream`` (its pieces, then its gaps): (is_gap, index, delivery row)."""
    off, _ln, row, _fo = stream.pieces()
    deliver = np.maximum.accumulate(row) if len(row) else row.astype(np.int64)
    g_off = np.array([g.offset for g in stream.gaps], dtype=np.int64)
    nxt = np.searchsorted(off, g_off)
    g_deliver = np.where(nxt < len(off), deliver[np.minimum(nxt, max(len(off) - 1, 0))]
                         if len(off) else _LAST, _LAST)
    is_gap = np.concatenate([np.zeros(len(off), dtype=bool), np.ones(len(g_off), dtype=bool)])
    index = np.concatenate([np.arange(len(off)), np.arange(len(g_off))])
    return is_gap, index, np.concatenate([deliver, g_deliver]).astype(np.int64)


def conversation(streams: Sequence[Stream]) -> Iterator[Chunk]:
    """Chunks of the given streams (one connection's directions), in delivery order."""
    parts = [delivery_order(s) for s in streams]
    if not streams:
        return
    which = np.concatenate([np.full(len(p[0]), i) for i, p in enumerate(parts)])
    is_gap = np.concatenate([p[0] for p in parts])
    index = np.concatenate([p[1] for p in parts])
    deliver = np.concatenate([p[2] for p in parts])
    pieces = [s.pieces() for s in streams]
    n_gaps = [len(s.gaps) for s in streams]

    def column(k: int) -> np.ndarray:
        return np.concatenate([np.concatenate([p[k], np.zeros(g, dtype=np.int64)])
                               for p, g in zip(pieces, n_gaps, strict=True)])

    g_offs = [np.array([g.offset for g in s.gaps], dtype=np.int64) for s in streams]
    offsets = np.concatenate([np.concatenate([p[0], go]) for p, go in zip(pieces, g_offs,
                                                                         strict=True)])
    order = np.lexsort((offsets, which, deliver))
    frame = streams[0].result.columns["frame"]
    data_items = order[~is_gap[order]]
    files, lens = column(3)[data_items], column(1)[data_items]
    with PayloadSource(streams[0].result.source) as src:
        data = iter_ranges(src, files, lens)
        for i in order.tolist():
            s, k = streams[which[i]], int(index[i])
            if is_gap[i]:
                g = s.gaps[k]
                yield Chunk(s.direction, g.offset, g.length, None, -1, g.reason)
                continue
            off, ln, row, _ = pieces[which[i]]
            yield Chunk(s.direction, int(off[k]), int(ln[k]), next(data), int(frame[row[k]]))
