"""Open a capture: sniff gzip and the pcap/pcapng magic, and pick the reader."""

from __future__ import annotations

from analyzer.capture.base import DEFAULT_CHUNK, BaseReader
from analyzer.capture.batch import CaptureInfo
from analyzer.capture.pcap import FILE_HEADER, PCAP_MAGICS, PcapReader
from analyzer.capture.pcapng import SHB_TYPE, PcapngReader
from analyzer.capture.stream import ByteStream
from analyzer.errors import CaptureFormatError

__all__ = ["open_capture"]

EXPECTED = "pcap or pcapng magic (a1b2c3d4, a1b23c4d or 0a0d0d0a)"


def open_capture(source: str, *, chunk_size: int = DEFAULT_CHUNK) -> BaseReader:
    """Open ``source`` (a path, or ``"-"`` for stdin) and read its file header.

    Returns a reader whose ``info`` describes the capture and whose ``batches()`` yields
    :class:`~analyzer.capture.batch.FrameBatch` objects. Raises
    :class:`~analyzer.errors.UnreadableFileError` for a missing or unreadable path and
    :class:`~analyzer.errors.CaptureFormatError` when the bytes are not a capture.
    """
    stream = ByteStream(source)
    try:
        head = stream.read(max(FILE_HEADER, 4096))
        info = CaptureInfo(path=source, format="pcap", gzip=stream.gzip,
                           total_bytes=stream.total)
        magic = int.from_bytes(head[:4], "little") if len(head) >= 4 else -1
        if magic in PCAP_MAGICS and len(head) >= FILE_HEADER:
            return PcapReader(stream, info, head, chunk_size)
        if magic == SHB_TYPE and len(head) >= 12:
            if head[8:12] not in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"):
                raise CaptureFormatError(source, 8, "pcapng byte-order magic 1a2b3c4d",
                                         head[8:12].hex())
            info.format = "pcapng"
            return PcapngReader(stream, info, head, chunk_size)
    except BaseException:
        stream.close()
        raise
    stream.close()
    if len(head) == 0:
        found = f"a gzip stream without data ({stream.cut})" if stream.cut else "an empty file"
    elif magic in PCAP_MAGICS:
        found = f"a pcap header cut short ({len(head)} bytes)"
    else:
        found = f"{head[:4].hex()} {head[:4]!r}" if len(head) >= 4 else f"only {len(head)} bytes"
    raise CaptureFormatError(source, 0, EXPECTED, found)
