"""What the capture readers produce: interfaces, capture metadata and frame batches."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "NO_LINKTYPE",
    "CaptureInfo",
    "FrameBatch",
    "Interface",
    "gather_bytes",
    "gather_rows",
    "gather_u16",
    "gather_u32",
]

NO_LINKTYPE = -1
"""Link type of records that are frames for Wireshark but carry no packet (pcapng custom
and systemd-journal blocks): they are numbered but never decoded."""


@dataclass
class Interface:
    """One capture interface (classic pcap has exactly one)."""

    linktype: int
    snaplen: int
    section: int = 0
    local_id: int = 0            # id within its pcapng section (what frame.interface_id shows)
    ts_units: int = 1_000_000    # timestamp ticks per second (10**6 = µs, 10**9 = ns, 2**n)
    ts_offset_s: int = 0         # if_tsoffset, seconds added to every timestamp
    fcs_len: int = 0             # bytes of frame check sequence at the end of each frame
    name: str = ""


@dataclass
class CaptureInfo:
    """Facts about the capture as a whole, filled in while reading."""

    path: str
    format: str                  # "pcap" or "pcapng"
    gzip: bool
    interfaces: list[Interface] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    total_bytes: int | None = None   # size of the file as stored (compressed), if known
    bytes_read: int = 0              # raw bytes read so far
    frames: int = 0

    @property
    def snaplen(self) -> int:
        """Largest snapshot length of any interface (0 when unknown)."""
        return max((i.snaplen for i in self.interfaces), default=0)


@dataclass
class FrameBatch:
    """A run of consecutive frames whose bytes all sit in ``buf``.

    One element per frame in every array. ``iface`` is the interface id as Wireshark
    shows it (``frame.interface_id``: per pcapng section; 0 for classic pcap). Timestamps
    are int64 ns.

    ``buf`` is a view of the reader's chunk buffer. The reader alternates between two
    buffers, so ``buf`` stays valid while the *next* batch is read and is overwritten
    when the one after it is: copy what must outlive that (offsets into the stream,
    ``stream_off``, are permanent; :func:`analyzer.capture.read_bytes` reads them back).
    """

    buf: np.ndarray              # uint8 view of the chunk
    base: int                    # stream offset of buf[0] (decompressed stream)
    frame: np.ndarray            # int64, 1-based, as Wireshark numbers frames
    ts_ns: np.ndarray            # int64
    data_off: np.ndarray         # int64 offset of the frame's first byte in buf
    caplen: np.ndarray           # int64 bytes present
    origlen: np.ndarray          # int64 bytes on the wire
    linktype: np.ndarray         # int32 (NO_LINKTYPE for non-packet records)
    iface: np.ndarray            # int16 interface id (per pcapng section)
    anomalies: list[tuple[int, int, str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.frame.size)

    @property
    def stream_off(self) -> np.ndarray:
        """Offset of each frame's first byte in the decompressed stream."""
        return self.data_off + self.base


def gather_u16(b: np.ndarray, idx: np.ndarray, big: bool = True) -> np.ndarray:
    """Unsigned 16-bit values at byte offsets ``idx`` of ``b`` (int64 result)."""
    hi, lo = (b[idx], b[idx + 1]) if big else (b[idx + 1], b[idx])
    return (hi.astype(np.int64) << 8) | lo


def gather_u32(b: np.ndarray, idx: np.ndarray, big: bool = True) -> np.ndarray:
    """Unsigned 32-bit values at byte offsets ``idx`` of ``b`` (int64 result)."""
    if big:
        return (gather_u16(b, idx) << 16) | gather_u16(b, idx + 2)
    return (gather_u16(b, idx + 2, False) << 16) | gather_u16(b, idx, False)


def gather_rows(b: np.ndarray, at: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Copy ``dtype.itemsize`` bytes at each offset ``at`` of ``b`` as records of ``dtype``.

    The caller guarantees ``at + itemsize <= b.size``. Much faster than indexing with a
    2-D offset array: each row is one contiguous copy out of a sliding-window view.
    """
    width = dtype.itemsize
    if b.size < width:
        return np.empty(0, dtype)
    return sliding_window_view(b, width)[at].view(dtype).reshape(-1)


def gather_bytes(b: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """(len(at), width) uint8 copy of the bytes at each offset (``at + width <= b.size``)."""
    if b.size < width:
        return np.empty((0, width), np.uint8)
    return sliding_window_view(b, width)[at]
