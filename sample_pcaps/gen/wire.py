"""Read a finished capture back (exact integer-ns timestamps) and decode it with dpkt.

dpkt's own readers turn timestamps into floats, which cannot hold nanoseconds since
1970; so the record framing (pcap and pcapng) is parsed here with ``struct`` and each
frame's bytes are decoded with dpkt (Ethernet, Linux SLL/SLL2, IPv4, IPv6, TCP).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dpkt

LINKTYPE_NAMES = {1: "EN10MB", 113: "LINUX_SLL", 276: "LINUX_SLL2", 101: "RAW"}
PCAP_MAGIC = {0xA1B2C3D4: ("<", 1000), 0xA1B23C4D: ("<", 1), 0xD4C3B2A1: (">", 1000),
              0x4D3CB2A1: (">", 1)}

# tcpdump's flag letters, in tcpdump's order (print-tcp.c tcp_flag_values).
FLAG_ORDER = ((0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"), (0x10, "."), (0x20, "U"),
              (0x40, "E"), (0x80, "W"), (0x100, "A"))


@dataclass
class Frame:
    number: int          # 1-based, as Wireshark counts
    ts_ns: int
    linktype: int
    data: bytes


@dataclass
class FileInfo:
    fmt: str              # "pcap" | "pcapng"
    linktype: int
    resolution: str       # "us" | "ns"
    snaplen: int


def flag_string(flags: int) -> str:
    return "".join(letter for bit, letter in FLAG_ORDER if flags & bit)


def read_frames(path: Path) -> tuple[FileInfo, list[Frame]]:
    raw = path.read_bytes()
    if raw[:4] == b"\x0a\x0d\x0d\x0a":
        return _read_pcapng(raw)
    return _read_pcap(raw)


def _read_pcap(raw: bytes) -> tuple[FileInfo, list[Frame]]:
    magic = struct.unpack("<I", raw[:4])[0]
    endian, mult = PCAP_MAGIC[magic]
    _, _, _, _, snaplen, linktype = struct.unpack(endian + "HHiIII", raw[4:24])
    info = FileInfo("pcap", linktype & 0x0FFFFFFF, "ns" if mult == 1 else "us", snaplen)
    frames, off, num = [], 24, 0
    while off + 16 <= len(raw):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", raw[off:off + 16])
        num += 1
        frames.append(Frame(num, sec * 1_000_000_000 + frac * mult, info.linktype,
                            raw[off + 16:off + 16 + incl]))
        off += 16 + incl
    return info, frames


def _pcapng_blocks(raw: bytes) -> Iterator[tuple[str, int, bytes]]:
    endian, off = "<", 0
    while off + 12 <= len(raw):
        if raw[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            endian = "<" if raw[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        btype, blen = struct.unpack(endian + "II", raw[off:off + 8])
        yield endian, btype, raw[off + 8:off + blen - 4]
        off += blen


def _idb_tsresol(endian: str, body: bytes) -> int:
    """Ticks per second of one interface (if_tsresol option, default 10^6)."""
    off = 8
    while off + 4 <= len(body):
        code, olen = struct.unpack(endian + "HH", body[off:off + 4])
        if code == 0:
            break
        if code == 9:
            val = int(body[off + 4])
            return int(2 ** (val & 0x7F) if val & 0x80 else 10**val)
        off += 4 + ((olen + 3) & ~3)
    return 1_000_000


def _read_pcapng(raw: bytes) -> tuple[FileInfo, list[Frame]]:
    ifaces: list[tuple[int, int, int]] = []  # linktype, ticks per second, snaplen
    frames: list[Frame] = []
    for endian, btype, body in _pcapng_blocks(raw):
        if btype == 1:
            linktype, _, snaplen = struct.unpack(endian + "HHI", body[:8])
            ifaces.append((linktype, _idb_tsresol(endian, body), snaplen))
        elif btype == 6:
            ifid, hi, lo, incl, _orig = struct.unpack(endian + "IIIII", body[:20])
            linktype, tps, _ = ifaces[ifid]
            ticks = (hi << 32) | lo
            ts_ns = ticks * 1_000_000_000 // tps
            frames.append(Frame(len(frames) + 1, ts_ns, linktype, body[20:20 + incl]))
    linktype, tps, snaplen = ifaces[0]
    resolution = {1_000_000: "us", 1_000_000_000: "ns"}.get(tps, f"1/{tps}s")
    return FileInfo("pcapng", linktype, resolution, snaplen), frames


def ip_layer(frame: Frame) -> Any:
    """The IPv4/IPv6 packet inside a frame, or None."""
    if frame.linktype == 1:
        link: Any = dpkt.ethernet.Ethernet(frame.data)
    elif frame.linktype == 276:
        link = dpkt.sll2.SLL2(frame.data)
    elif frame.linktype == 113:
        link = dpkt.sll.SLL(frame.data)
    else:
        return None
    pkt = link.data
    return pkt if isinstance(pkt, dpkt.ip.IP | dpkt.ip6.IP6) else None


@dataclass
class Segment:
    frame: int
    ts_ns: int
    src: str
    sport: int
    dst: str
    dport: int
    flags: int
    seq: int
    ack: int
    payload_len: int

    def to_json(self) -> dict[str, Any]:
        return {"frame": self.frame, "ts_ns": self.ts_ns, "src": self.src, "sport": self.sport,
                "dst": self.dst, "dport": self.dport, "flags": flag_string(self.flags),
                "flags_value": self.flags, "seq": self.seq, "ack": self.ack,
                "payload_len": self.payload_len}


def segment(frame: Frame) -> Segment | None:
    """The TCP segment carried directly by the frame's IP packet (not inside ICMP)."""
    try:
        ip = ip_layer(frame)
    except (dpkt.UnpackError, struct.error):
        return None
    if ip is None or not isinstance(ip.data, dpkt.tcp.TCP):
        return None
    tcp = ip.data
    if isinstance(ip, dpkt.ip.IP):
        fam, ip_payload = socket.AF_INET, ip.len - ip.hl * 4
    else:
        fam, ip_payload = socket.AF_INET6, ip.plen
    return Segment(frame.number, frame.ts_ns, socket.inet_ntop(fam, ip.src), tcp.sport,
                   socket.inet_ntop(fam, ip.dst), tcp.dport, tcp._off_flags & 0x0FFF,
                   tcp.seq, tcp.ack, ip_payload - tcp.off * 4)


def wire_summary(path: Path) -> tuple[FileInfo, dict[str, Any], list[Segment]]:
    """Counts and every SYN/FIN/RST-bearing segment, for the truth file's ``wire``."""
    info, frames = read_frames(path)
    segs = [s for s in (segment(f) for f in frames) if s is not None]
    control = [s.to_json() for s in segs if s.flags & 0x07]
    wire = {"total_frames": len(frames), "tcp_frames": len(segs),
            "first_ts_ns": frames[0].ts_ns if frames else None,
            "last_ts_ns": frames[-1].ts_ns if frames else None,
            "tcp_payload_bytes": sum(s.payload_len for s in segs),
            "max_tcp_payload_len": max((s.payload_len for s in segs), default=0),
            "control_frames": control}
    return info, wire, segs
