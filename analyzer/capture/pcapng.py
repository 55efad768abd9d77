"""pcapng files: sections of either byte order, interfaces, and packet blocks.

Blocks that are frames (numbered as Wireshark numbers them): Enhanced Packet (6), Simple
Packet (3), the obsolete Packet block (2), and, carrying no packet, systemd journal export
(9) and custom blocks (0xBAD, 0x40000BAD). Section Header (0x0A0D0D0A) and Interface
Description (1) blocks are interpreted (link type, snaplen, if_tsresol, if_tsoffset,
if_name, if_fcslen); all other blocks are skipped.
"""

from __future__ import annotations

import struct

import numpy as np

from analyzer.capture.base import BaseReader, Walk, ts_to_ns
from analyzer.capture.batch import (
    NO_LINKTYPE,
    CaptureInfo,
    FrameBatch,
    Interface,
    gather_u16,
    gather_u32,
)
from analyzer.capture.stream import ByteStream
from analyzer.schema import FRAME_BAD_INTERFACE, FRAME_MISSING_TIMESTAMP

__all__ = ["SHB_TYPE", "PcapngReader"]

SHB_TYPE = 0x0A0D0D0A
BYTE_ORDER_MAGIC = 0x1A2B3C4D
IDB, PB, SPB, EPB, JOURNAL = 1, 2, 3, 6, 9
CUSTOM = (0x00000BAD, 0x40000BAD)
FRAME_BLOCKS = frozenset({PB, SPB, EPB, JOURNAL, *CUSTOM})
MAX_BLOCK = 64 << 20
MAX_TICKS = 10**15                 # if_tsresol finer than femtoseconds is not plausible
MAX_TS_OFFSET = 1 << 33            # seconds (about 272 years)
OPT_NAME, OPT_TSRESOL, OPT_FCSLEN, OPT_TSOFFSET = 2, 9, 13, 14


def _tsresol(value: int) -> int:
    """Ticks per second for an if_tsresol byte: 10**-n or, with the top bit, 2**-n."""
    return 1 << (value & 0x7F) if value & 0x80 else 10 ** value


class PcapngReader(BaseReader):
    """Reader of pcapng files (any number of sections and interfaces)."""

    def __init__(self, stream: ByteStream, info: CaptureInfo, head: bytes,
                 chunk_size: int) -> None:
        self.section = -1
        self.order = "<"
        self.ids: list[int] = []           # section-local interface id -> capture-wide index
        self.last_ts = 0
        super().__init__(stream, info, head, chunk_size)

    # -- the sequential walk -------------------------------------------------------------
    def _walk(self, buf: memoryview, pos: int, base: int) -> tuple[FrameBatch | None, int, Walk]:
        n = len(buf)
        if pos + 12 <= n and int.from_bytes(buf[pos:pos + 4], "little") == SHB_TYPE:
            status = self._section(buf, pos, base)
            if status is not Walk.CONTINUE:
                return None, pos, status
            pos += struct.unpack_from(self.order + "I", buf, pos + 4)[0]
        offs: list[int] = []
        append, head = offs.append, struct.Struct(self.order + "II").unpack_from
        off, status = pos, Walk.NEED_MORE
        while off + 12 <= n:
            btype, blen = head(buf, off)
            if btype == SHB_TYPE:
                status = Walk.CONTINUE
                break
            if blen < 12 or blen & 3 or blen > MAX_BLOCK:
                self._garbage(base + off, f"block length {blen}", len(offs))
                status = Walk.STOP
                break
            if off + blen > n:
                break
            if btype in FRAME_BLOCKS:
                append(off)
            elif btype == IDB:
                self._interface(buf, off, blen)
            off += blen
        arr = np.array(offs, dtype=np.int64)
        batch, good = self._batch(np.frombuffer(buf, np.uint8), base, arr)
        if good < arr.size:
            self._garbage(base + int(arr[good]), "block length not repeated at its end", good)
            return batch, int(arr[good]), Walk.STOP
        return batch, off, status

    def _garbage(self, offset: int, what: str, pending: int = 0) -> None:
        self.warn(f"after frame {self.info.frames + pending}: invalid pcapng block at byte "
                  f"{offset} ({what}): the rest of the file is taken for garbage and not read")

    # -- blocks read one at a time -------------------------------------------------------
    def _section(self, buf: memoryview, pos: int, base: int) -> Walk:
        """Start a new section at a Section Header Block."""
        magic = int.from_bytes(buf[pos + 8:pos + 12], "little")
        if magic not in (BYTE_ORDER_MAGIC, 0x4D3C2B1A):
            self._garbage(base + pos, "section header without byte-order magic")
            return Walk.STOP
        self.order = "<" if magic == BYTE_ORDER_MAGIC else ">"
        blen = struct.unpack_from(self.order + "I", buf, pos + 4)[0]
        if blen < 28 or blen & 3 or blen > MAX_BLOCK:
            self._garbage(base + pos, f"section header length {blen}")
            return Walk.STOP
        if pos + blen > len(buf):
            return Walk.NEED_MORE
        self.section += 1
        self.ids = []
        return Walk.CONTINUE

    def _interface(self, buf: memoryview, off: int, blen: int) -> None:
        linktype, _res, snaplen = struct.unpack_from(self.order + "HHI", buf, off + 8)
        iface = Interface(linktype=linktype, snaplen=snaplen, section=self.section,
                          local_id=len(self.ids))
        for code, value in self._options(buf, off + 16, off + blen - 4):
            if code == OPT_TSRESOL and value:
                iface.ts_units = _tsresol(value[0])
                if iface.ts_units > MAX_TICKS:
                    self.warn(f"interface {iface.local_id} of section {self.section}: "
                              f"if_tsresol {value[0]:#x} is not usable; microseconds assumed")
                    iface.ts_units = 1_000_000
            elif code == OPT_TSOFFSET and len(value) == 8:
                offset = struct.unpack(self.order + "q", value)[0]
                if abs(offset) < MAX_TS_OFFSET:
                    iface.ts_offset_s = offset
            elif code == OPT_NAME:
                iface.name = value.decode("utf-8", "replace")
            elif code == OPT_FCSLEN and value:
                iface.fcs_len = value[0]
        self.ids.append(len(self.info.interfaces))
        self.info.interfaces.append(iface)

    def _options(self, buf: memoryview, pos: int, end: int) -> list[tuple[int, bytes]]:
        out = []
        while pos + 4 <= end:
            code, length = struct.unpack_from(self.order + "HH", buf, pos)
            if code == 0 or pos + 4 + length > end:
                break
            out.append((code, bytes(buf[pos + 4:pos + 4 + length])))
            pos += 4 + ((length + 3) & ~3)
        return out

    # -- vectorized per batch ------------------------------------------------------------
    def _batch(self, b: np.ndarray, base: int, offs: np.ndarray) -> tuple[FrameBatch, int]:
        """The frames of the blocks at ``offs``; also how many blocks passed the checks."""
        big = self.order == ">"
        btype = gather_u32(b, offs, big)
        blen = gather_u32(b, offs + 4, big)
        good = int(np.argmin(np.append(gather_u32(b, offs + blen - 4, big) == blen, False)))
        offs, btype, blen = offs[:good], btype[:good], blen[:good]
        is_epb, is_spb, is_pb = btype == EPB, btype == SPB, btype == PB
        has_ts = is_epb | is_pb
        lid = np.where(is_epb, gather_u32(b, offs + 8, big), 0)
        lid = np.where(is_pb, gather_u16(b, offs + 8, big), lid)
        known = lid < len(self.ids)
        ids = np.array([*self.ids, -1], dtype=np.int64)
        gidx = np.where(is_epb | is_pb | is_spb, ids[np.where(known, lid, -1)], -1)
        ifaces = self.info.interfaces
        lt_table = np.array([i.linktype for i in ifaces] + [NO_LINKTYPE], dtype=np.int32)
        linktype = lt_table[gidx]
        hdr = np.where(is_spb, 12, 28)
        origlen = np.where(has_ts, gather_u32(b, offs + 24, big), 0)
        origlen = np.where(is_spb, gather_u32(b, offs + 8, big), origlen)
        caplen = np.where(has_ts, gather_u32(b, offs + 20, big), 0)
        snap = np.array([i.snaplen or 1 << 31 for i in ifaces] + [0], dtype=np.int64)[gidx]
        caplen = np.where(is_spb, np.minimum(origlen, snap), caplen)
        room = blen - hdr - 4
        caplen = np.where(linktype == NO_LINKTYPE, 0, np.clip(caplen, 0, room))
        first = self.info.frames + 1
        frame = np.arange(first, first + offs.size, dtype=np.int64)
        ts_ns = self._timestamps(b, offs, gidx, has_ts, big)
        anomalies = [(int(frame[i]), int(ts_ns[i]), FRAME_BAD_INTERFACE,
                      f"interface id {int(lid[i])} not described in this section")
                     for i in np.flatnonzero((is_epb | is_pb) & ~known).tolist()]
        anomalies += [(int(frame[i]), int(ts_ns[i]), FRAME_MISSING_TIMESTAMP,
                       "simple packet block: no timestamp, the previous frame's is used")
                      for i in np.flatnonzero(is_spb).tolist()]
        batch = FrameBatch(
            buf=b, base=base, frame=frame, ts_ns=ts_ns, data_off=offs + hdr,
            caplen=caplen, origlen=origlen, linktype=linktype,
            iface=np.array([i.local_id for i in ifaces] + [0], dtype=np.int16)[gidx],
            anomalies=anomalies,
        )
        return batch, good

    def _timestamps(self, b: np.ndarray, offs: np.ndarray, gidx: np.ndarray,
                    has_ts: np.ndarray, big: bool) -> np.ndarray:
        units = (gather_u32(b, offs + 12, big).astype(np.uint64) << np.uint64(32)) | \
            gather_u32(b, offs + 16, big).astype(np.uint64)
        ts = np.zeros(offs.size, np.int64)
        for g in np.unique(gidx[has_ts]).tolist():
            sel = has_ts & (gidx == g)
            iface = self.info.interfaces[g] if g >= 0 else Interface(NO_LINKTYPE, 0)
            ts[sel] = ts_to_ns(units[sel], iface.ts_units, iface.ts_offset_s)
        # records without a timestamp take the previous frame's
        pos = np.where(has_ts, np.arange(offs.size), -1)
        np.maximum.accumulate(pos, out=pos)
        filled = np.where(pos >= 0, ts[np.maximum(pos, 0)], self.last_ts)
        if filled.size:
            self.last_ts = int(filled[-1])
        return filled
