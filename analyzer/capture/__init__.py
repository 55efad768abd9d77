"""Reading captures: classic pcap and pcapng, plain or gzip-compressed, from a path or stdin.

>>> reader = open_capture("trace.pcapng")          # doctest: +SKIP
>>> for batch in reader.batches():                  # doctest: +SKIP
...     batch.ts_ns, batch.caplen, batch.linktype   # NumPy arrays, one element per frame

Frames come in :class:`FrameBatch` objects whose bytes stay in one chunk buffer; nothing
per frame is a Python object. Timestamps are int64 nanoseconds. A capture cut short yields
every complete frame and a warning in ``reader.info.warnings``.
"""

from analyzer.capture.base import DEFAULT_CHUNK, BaseReader
from analyzer.capture.batch import NO_LINKTYPE, CaptureInfo, FrameBatch, Interface
from analyzer.capture.reader import open_capture
from analyzer.capture.stream import STDIN, read_bytes

__all__ = [
    "DEFAULT_CHUNK",
    "NO_LINKTYPE",
    "STDIN",
    "BaseReader",
    "CaptureInfo",
    "FrameBatch",
    "Interface",
    "open_capture",
    "read_bytes",
]
