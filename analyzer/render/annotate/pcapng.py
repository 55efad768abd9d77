"""A small pcapng writer: one section, interfaces as they are first used, and Enhanced
Packet Blocks with packet comments (``opt_comment``), little-endian.

Packet bytes, captured and original lengths are written as given — nothing is decoded or
re-encoded. Timestamps keep the interface's resolution when it is a power of ten
(microseconds for classic pcap, nanoseconds for ``--time-stamp-precision nano``), else
nanoseconds.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["IfaceSpec", "PcapngWriter"]

SHB, IDB, EPB = 0x0A0D0D0A, 1, 6
OPT_END, OPT_COMMENT, OPT_SHB_USERAPPL = 0, 1, 4
OPT_IF_NAME, OPT_IF_TSRESOL, OPT_IF_FCSLEN = 2, 9, 13


@dataclass(frozen=True, slots=True)
class IfaceSpec:
    """What an output interface needs: link type, snaplen, name, FCS bytes, resolution."""

    linktype: int
    snaplen: int = 0
    name: str = ""
    fcs_len: int = 0
    ts_units: int = 1_000_000_000

    @property
    def exponent(self) -> int:
        """Decimal exponent of the resolution (9 for ns), as if_tsresol writes it."""
        units, k = self.ts_units, 0
        while units > 1 and units % 10 == 0 and k < 9:
            units //= 10
            k += 1
        return k if units == 1 else 9


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


class PcapngWriter:
    """Write frames to ``out`` (a binary stream); call :meth:`packet` per frame."""

    def __init__(self, out: BinaryIO, app: str = "synack", comment: str = "") -> None:
        self.out = out
        self.ids: dict[IfaceSpec, int] = {}
        opts = _option(OPT_SHB_USERAPPL, app.encode())
        if comment:
            opts += _option(OPT_COMMENT, comment.encode())
        body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + opts + _option(OPT_END, b"")
        out.write(_block(SHB, body))

    def interface(self, spec: IfaceSpec) -> int:
        """The output id of ``spec`` (an Interface Description Block on first use)."""
        got = self.ids.get(spec)
        if got is not None:
            return got
        opts = b""
        if spec.name:
            opts += _option(OPT_IF_NAME, spec.name.encode())
        opts += _option(OPT_IF_TSRESOL, bytes([spec.exponent]))
        if spec.fcs_len:
            opts += _option(OPT_IF_FCSLEN, bytes([spec.fcs_len]))
        body = struct.pack("<HHI", spec.linktype & 0xFFFF, 0, spec.snaplen) + opts \
            + _option(OPT_END, b"")
        self.out.write(_block(IDB, body))
        self.ids[spec] = len(self.ids)
        return self.ids[spec]

    def packet(self, spec: IfaceSpec, ts_ns: int, data: bytes, origlen: int,
               comments: list[str] | tuple[str, ...] = ()) -> None:
        """One Enhanced Packet Block; ``ts_ns`` must be a whole number of ticks."""
        iface = self.interface(spec)
        ticks = ts_ns // 10 ** (9 - spec.exponent)
        opts = b"".join(_option(OPT_COMMENT, c.encode("utf-8")) for c in comments)
        if opts:
            opts += _option(OPT_END, b"")
        body = struct.pack("<IIIII", iface, (ticks >> 32) & 0xFFFFFFFF, ticks & 0xFFFFFFFF,
                           len(data), origlen) + data + b"\0" * (-len(data) % 4) + opts
        self.out.write(_block(EPB, body))
