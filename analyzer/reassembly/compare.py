"""Compare the bytes of overlapping copies: only the overlapping ranges are read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyzer.reassembly.layout import Layout
from analyzer.reassembly.source import BATCH_BYTES, PayloadSource

__all__ = ["OverlapBytes", "compare_overlaps"]


@dataclass(slots=True)
class OverlapBytes:
    """Per overlap of a layout: bytes that differ (-1: not compared, a cap was hit) and the
    stream offset of the first differing byte (-1 when none or not compared)."""

    differing: np.ndarray
    first: np.ndarray

    @property
    def complete(self) -> bool:
        return bool((self.differing >= 0).all())


def compare_overlaps(lay: Layout, src: PayloadSource, max_bytes: int | None = None,
                     ) -> OverlapBytes:
    """Read both copies of every overlap of ``lay`` (up to ``max_bytes`` of overlap) and
    count the bytes that differ."""
    n = len(lay.o_off)
    differing = np.full(n, -1, dtype=np.int64)
    first = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return OverlapBytes(differing, first)
    kept_file = lay.file_offset(lay.o_kept, lay.o_off)
    other_file = lay.file_offset(lay.o_other, lay.o_off)
    lens = lay.o_len
    todo = n if max_bytes is None else int(np.searchsorted(np.cumsum(lens), max_bytes,
                                                           side="right"))
    ends = np.cumsum(lens[:todo])
    i = 0
    while i < todo:
        before = int(ends[i - 1]) if i else 0
        j = max(int(np.searchsorted(ends, before + BATCH_BYTES // 2, side="right")), i + 1)
        j = min(j, todo)
        both = src.read_many(np.concatenate([kept_file[i:j], other_file[i:j]]),
                             np.concatenate([lens[i:j], lens[i:j]]))
        half = j - i
        for k in range(half):
            a = np.frombuffer(both[k], dtype=np.uint8)
            b = np.frombuffer(both[half + k], dtype=np.uint8)
            ne = np.flatnonzero(a != b)
            differing[i + k] = len(ne)
            if len(ne):
                first[i + k] = int(lay.o_off[i + k]) + int(ne[0])
        i = j
    return OverlapBytes(differing, first)
