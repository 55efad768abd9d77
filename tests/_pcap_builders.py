"""Small capture files for tests, written byte by byte (packets built with dpkt or by hand).

Writers: classic pcap (any magic, either byte order) and pcapng (sections of either byte
order, interfaces with if_tsresol/if_tsoffset, EPB/SPB/PB/custom blocks). Packet builders:
Ethernet (+VLAN tags), IPv4/IPv6 (+extension headers) and TCP with correct checksums,
computed here independently of analyzer.decode.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

import dpkt

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def inet_sum(data: bytes) -> int:
    """RFC 1071 ones'-complement sum of 16-bit words, folded."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def tcp_segment(sport: int = 1234, dport: int = 80, seq: int = 1000, ack: int = 0,
                flags: int = dpkt.tcp.TH_SYN, win: int = 65535, opts: bytes = b"",
                payload: bytes = b"", reserved: int = 0) -> bytes:
    """A TCP header (checksum 0) + payload; options padded to 4 bytes with EOL."""
    opts += b"\0" * (-len(opts) % 4)
    off = (20 + len(opts)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4 | (flags >> 8) | reserved,
                      flags & 0xFF, win, 0, 0)
    return hdr + opts + payload


def with_checksum(segment: bytes, pseudo: bytes, bad: bool = False) -> bytes:
    csum = 0xFFFF - inet_sum(pseudo + segment)
    if bad:
        csum ^= 0x5A5A
    return segment[:16] + struct.pack("!H", csum) + segment[18:]


def ipv4(src: str, dst: str, l4: bytes, proto: int = 6, ident: int = 1, frag: int = 0x4000,
         ttl: int = 64, total: int | None = None, bad_csum: bool = False) -> bytes:
    s, d = socket.inet_pton(socket.AF_INET, src), socket.inet_pton(socket.AF_INET, dst)
    if proto == 6:
        l4 = with_checksum(l4, s + d + struct.pack("!BBH", 0, 6, len(l4)), bad_csum)
    length = 20 + len(l4) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, ident, frag, ttl, proto, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", 0xFFFF - inet_sum(hdr)) + hdr[12:]
    return hdr + l4


def ipv6(src: str, dst: str, l4: bytes, ext: Sequence[tuple[int, bytes]] = (), proto: int = 6,
         hop: int = 64, bad_csum: bool = False) -> bytes:
    """IPv6 with extension headers given as (type, body without next-header byte)."""
    s, d = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    if proto == 6:
        l4 = with_checksum(l4, s + d + struct.pack("!IxxxB", len(l4), 6), bad_csum)
    chain = b""
    types = [t for t, _ in ext] + [proto]
    for (_t, body), nxt in zip(ext, types[1:], strict=True):
        chain += bytes([nxt]) + body
    payload = chain + l4
    first = types[0]
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), first, hop, s, d) + payload


def ext_header(length_units: int = 0) -> bytes:
    """Body (after next-header) of a hop-by-hop/destination/routing header: PadN filler."""
    size = 8 * (length_units + 1) - 1
    return bytes([length_units]) + bytes([1, size - 3]) + b"\0" * (size - 3)


def ethernet(payload: bytes, ethertype: int = 0x0800, tags: Sequence[tuple[int, int]] = (),
             pad_to: int = 0) -> bytes:
    """Ethernet II frame; tags are (TPID, VLAN id) from the outside in."""
    out = MAC_B + MAC_A
    for tpid, vid in tags:
        out += struct.pack("!HH", tpid, vid)
    out += struct.pack("!H", ethertype) + payload
    return out + b"\0" * max(0, pad_to - len(out))


@dataclass
class Frame:
    data: bytes
    ts_ns: int = 1_600_000_000_000_000_000
    origlen: int | None = None
    iface: int = 0


def write_pcap(path: str, frames: Sequence[Frame], linktype: int = 1, nano: bool = False,
               big: bool = False, snaplen: int = 65535, raw_ts: Sequence[tuple[int, int]] = (),
               kuznetzov: bool = False) -> None:
    order = ">" if big else "<"
    magic = 0xA1B2CD34 if kuznetzov else (0xA1B23C4D if nano else 0xA1B2C3D4)
    with open(path, "wb") as f:
        f.write(struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        for i, fr in enumerate(frames):
            if i < len(raw_ts):
                sec, frac = raw_ts[i]
            else:
                sec, rem = divmod(fr.ts_ns, 1_000_000_000)
                frac = rem if nano else rem // 1000
            orig = len(fr.data) if fr.origlen is None else fr.origlen
            f.write(struct.pack(order + "IIII", sec, frac, len(fr.data), orig))
            if kuznetzov:
                f.write(b"\0" * 8)
            f.write(fr.data)


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


@dataclass
class Pcapng:
    """Builds a pcapng file block by block."""

    big: bool = False
    blocks: list[bytes] = field(default_factory=list)

    @property
    def order(self) -> str:
        return ">" if self.big else "<"

    def block(self, btype: int, body: bytes) -> Pcapng:
        body = _pad4(body)
        n = len(body) + 12
        self.blocks.append(struct.pack(self.order + "II", btype, n) + body +
                           struct.pack(self.order + "I", n))
        return self

    def option(self, code: int, value: bytes) -> bytes:
        return struct.pack(self.order + "HH", code, len(value)) + _pad4(value)

    def section(self, big: bool | None = None) -> Pcapng:
        if big is not None:
            self.big = big
        body = struct.pack(self.order + "IHHq", 0x1A2B3C4D, 1, 0, -1)
        return self.block(0x0A0D0D0A, body)

    def interface(self, linktype: int = 1, snaplen: int = 0, tsresol: int | None = None,
                  tsoffset: int | None = None, name: str = "") -> Pcapng:
        opts = b""
        if name:
            opts += self.option(2, name.encode())
        if tsresol is not None:
            opts += self.option(9, bytes([tsresol]))
        if tsoffset is not None:
            opts += self.option(14, struct.pack(self.order + "q", tsoffset))
        if opts:
            opts += self.option(0, b"")
        return self.block(1, struct.pack(self.order + "HHI", linktype, 0, snaplen) + opts)

    def epb(self, data: bytes, iface: int = 0, ticks: int = 0,
            origlen: int | None = None) -> Pcapng:
        orig = len(data) if origlen is None else origlen
        body = struct.pack(self.order + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF,
                           len(data), orig) + data
        return self.block(6, body)

    def spb(self, data: bytes, origlen: int | None = None) -> Pcapng:
        orig = len(data) if origlen is None else origlen
        return self.block(3, struct.pack(self.order + "I", orig) + data)

    def pb(self, data: bytes, iface: int = 0, ticks: int = 0) -> Pcapng:
        body = struct.pack(self.order + "HHIIII", iface, 0, ticks >> 32, ticks & 0xFFFFFFFF,
                           len(data), len(data)) + data
        return self.block(2, body)

    def custom(self, payload: bytes = b"hello") -> Pcapng:
        return self.block(0x00000BAD, struct.pack(self.order + "I", 32473) + payload)

    def skip(self) -> Pcapng:
        """A name resolution block and an interface statistics block (both ignored)."""
        self.block(4, struct.pack(self.order + "HH", 0, 0))
        return self.block(5, struct.pack(self.order + "III", 0, 0, 0))

    def write(self, path: str) -> None:
        with open(path, "wb") as f:
            f.write(b"".join(self.blocks))


def simple_tcp_frame(sport: int = 1234, dport: int = 80, seq: int = 1000,
                     flags: int = dpkt.tcp.TH_SYN, payload: bytes = b"", **kw: object) -> bytes:
    """Ethernet/IPv4/TCP with valid checksums."""
    seg = tcp_segment(sport=sport, dport=dport, seq=seq, flags=flags, payload=payload)
    return ethernet(ipv4("10.0.0.1", "10.0.0.2", seg, **kw))  # type: ignore[arg-type]
