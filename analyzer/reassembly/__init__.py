"""Byte-stream reassembly: each direction of a connection as the bytes its application sent.

>>> s = stream(result, conn_id=3, direction="client")   # doctest: +SKIP
>>> s.gaps, s.overlaps                                  # doctest: +SKIP
>>> for chunk in s.chunks(): ...                        # doctest: +SKIP

The layout (which packet supplies which bytes, where bytes are missing or were sent twice)
is planned from the packet table alone (``segments``, ``layout``); payload bytes are read
from the capture file on demand (``source``), so a stream of any size streams in bounded
memory. Gaps are explicit (:class:`Gap`), never filled silently; overlapping copies are
compared byte by byte (:class:`Overlap`), and the ``policy`` decides which copy is kept:
``first`` (default, as Linux keeps) or ``last``. Findings (``overlap_different_data``,
``data_below_isn``, ``data_beyond_window``) are in ``analyzer/checks/reassembly.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.reassembly.conversation import conversation
from analyzer.reassembly.layout import POLICIES
from analyzer.reassembly.stream import (
    DIRECTIONS,
    Chunk,
    Gap,
    Overlap,
    Reassembler,
    Stream,
    StreamSet,
    direction_index,
)

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = [
    "DIRECTIONS", "POLICIES", "Chunk", "Gap", "Overlap", "Reassembler", "Stream", "StreamSet",
    "conversation", "direction_index", "stream",
]


def stream(result: AnalysisResult, conn_id: int, direction: str | int = "client",
           policy: str = "first") -> Stream:
    """One direction of one connection: ``.data``, ``.chunks()``, ``.gaps``, ``.overlaps``.

    ``direction`` is "client" (the bytes the client sent; also "c2s" or 0) or "server"
    ("s2c", 1); ``policy`` picks the copy kept where copies overlap: "first" or "last".
    Raises :class:`analyzer.errors.UsageError` for a connection that does not exist.
    """
    return Reassembler(result, policy).stream(conn_id, direction)
