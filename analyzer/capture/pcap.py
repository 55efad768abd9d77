"""Classic libpcap files: µs (a1b2c3d4) and ns (a1b23c4d) magics, either byte order.

File header (24 bytes): magic, version, thiszone, sigfigs, snaplen, linktype (low 16 bits;
bit 26 set means bits 28-31 give the FCS length in 16-bit words). Record header (16 bytes):
ts_sec, ts_frac, incl_len, orig_len. The modified (Kuznetzov) variant a1b2cd34 has 24-byte
record headers and is read as well.
"""

from __future__ import annotations

import struct

import numpy as np

from analyzer.capture.base import MAX_CAPLEN, BaseReader, Walk
from analyzer.capture.batch import CaptureInfo, FrameBatch, Interface, gather_rows, gather_u32
from analyzer.capture.stream import ByteStream
from analyzer.schema import FRAME_BAD_TIMESTAMP

__all__ = ["PCAP_MAGICS", "PcapReader"]

# magic as read little-endian -> (byte order, ticks per second, record header size)
PCAP_MAGICS: dict[int, tuple[str, int, int]] = {
    0xA1B2C3D4: ("<", 1_000_000, 16),
    0xD4C3B2A1: (">", 1_000_000, 16),
    0xA1B23C4D: ("<", 1_000_000_000, 16),
    0x4D3CB2A1: (">", 1_000_000_000, 16),
    0xA1B2CD34: ("<", 1_000_000, 24),
    0x34CDB2A1: (">", 1_000_000, 24),
}
FILE_HEADER = 24


class PcapReader(BaseReader):
    """Reader of classic pcap files (one interface)."""

    def __init__(self, stream: ByteStream, info: CaptureInfo, head: bytes,
                 chunk_size: int) -> None:
        magic = int.from_bytes(head[:4], "little")
        self.header = bytes(head[:FILE_HEADER])   # kept for readers of later parts
        self.order, self.ticks, self.rec_hdr = PCAP_MAGICS[magic]
        _maj, _min, _zone, _sig, snaplen, lt_field = struct.unpack_from(
            self.order + "HHiIII", head, 4)
        fcs_len = 2 * (lt_field >> 28) if lt_field & (1 << 26) else 0
        info.interfaces.append(Interface(linktype=lt_field & 0xFFFF, snaplen=snaplen,
                                         ts_units=self.ticks, fcs_len=fcs_len))
        self.max_caplen = max(MAX_CAPLEN, snaplen)
        self._caplen_at = struct.Struct(self.order + "I").unpack_from
        self.rec_dtype = np.dtype([("sec", self.order + "u4"), ("frac", self.order + "u4"),
                                   ("incl", self.order + "u4"), ("orig", self.order + "u4")])
        super().__init__(stream, info, head[FILE_HEADER:], chunk_size)

    def _walk(self, buf: memoryview, pos: int, base: int) -> tuple[FrameBatch | None, int, Walk]:
        offs = self._offsets(buf, pos)
        b = np.frombuffer(buf, np.uint8)
        big = self.order == ">"
        caplen = gather_u32(b, offs + 8, big)
        status = Walk.NEED_MORE
        bad = np.flatnonzero(caplen > self.max_caplen)
        if bad.size:
            k = int(bad[0])
            self.warn_frames(f"frame {{frame}} at byte {base + int(offs[k])} claims "
                             f"{int(caplen[k])} captured bytes (more than {self.max_caplen}): "
                             "the rest of the file is taken for garbage and not read",
                             frame=self.info.frames + k + 1)
            offs, caplen, status = offs[:k], caplen[:k], Walk.STOP
        else:
            ends = offs + self.rec_hdr + caplen
            k = int(np.searchsorted(ends, len(buf), "right"))
            offs, caplen = offs[:k], caplen[:k]
        end = int(offs[-1] + self.rec_hdr + caplen[-1]) if offs.size else pos
        return self._batch(b, base, offs, caplen), end, status

    def _offsets(self, buf: memoryview, pos: int) -> np.ndarray:
        """Offsets of the record headers from ``pos``; the last one may be incomplete."""
        offs: list[int] = []
        append, caplen_at, hdr = offs.append, self._caplen_at, self.rec_hdr
        off = pos
        try:
            while True:
                append(off)
                off += hdr + caplen_at(buf, off + 8)[0]
        except struct.error:
            pass
        return np.array(offs[:-1], dtype=np.int64)

    def _batch(self, b: np.ndarray, base: int, offs: np.ndarray,
               caplen: np.ndarray) -> FrameBatch:
        n = offs.size
        rec = gather_rows(b, offs, self.rec_dtype)
        sec, frac = rec["sec"].astype(np.int64), rec["frac"].astype(np.int64)
        first = self.info.frames + 1
        frame = np.arange(first, first + n, dtype=np.int64)
        anomalies = []
        bad = np.flatnonzero(frac >= self.ticks)
        if bad.size:
            unit = "nanosecond" if self.ticks == 1_000_000_000 else "microsecond"
            for i in bad.tolist():
                anomalies.append((int(frame[i]), 0, FRAME_BAD_TIMESTAMP,
                                  f"{unit} field {int(frac[i])} is not below {self.ticks}; "
                                  "clamped to the end of the second"))
            frac = np.minimum(frac, self.ticks - 1)
        ts_ns = sec * 1_000_000_000 + frac * (1_000_000_000 // self.ticks)
        anomalies = [(f, int(ts_ns[f - first]), c, d) for f, _, c, d in anomalies]
        iface = self.info.interfaces[0]
        return FrameBatch(
            buf=b, base=base, frame=frame, ts_ns=ts_ns,
            data_off=offs + self.rec_hdr, caplen=caplen,
            origlen=rec["orig"].astype(np.int64),
            linktype=np.full(n, iface.linktype, np.int32),
            iface=np.zeros(n, np.int16), anomalies=anomalies,
        )
