"""Tiny pcaps with real payload bytes for the reassembly tests.

A script step is ``(direction, flags, seq, ack, payload[, options])``: direction "c"
(client 10.0.0.1:40000 → server 10.0.0.2:80) or "s", flags a string of S A F R P, raw
seq/ack numbers (taken modulo 2**32), the payload bytes, and an optional dict with
``win`` (window field), ``wscale`` (window scale option, SYNs), ``snap`` (bytes of the
TCP payload kept in the file: a snaplen cut).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import dpkt
from _pcap_builders import Frame, ethernet, ipv4, tcp_segment, write_pcap

from analyzer.api import analyze
from analyzer.result import AnalysisResult

FLAGS = {"S": dpkt.tcp.TH_SYN, "A": dpkt.tcp.TH_ACK, "F": dpkt.tcp.TH_FIN,
         "R": dpkt.tcp.TH_RST, "P": dpkt.tcp.TH_PUSH}
CLIENT, SERVER = ("10.0.0.1", 40000), ("10.0.0.2", 80)
C, S = 1000, 5000  # client and server ISNs
HEADERS = 14 + 20  # Ethernet + IPv4 before the TCP header


def frames(script: list[tuple]) -> list[Frame]:
    out = []
    for i, step in enumerate(script):
        direction, fl, seq, ack, payload = step[:5]
        opts = step[5] if len(step) > 5 else {}
        (src, sport), (dst, dport) = (CLIENT, SERVER) if direction == "c" else (SERVER, CLIENT)
        tcp_opts = b"\x03\x03" + bytes([opts["wscale"]]) if "wscale" in opts else b""
        seg = tcp_segment(sport=sport, dport=dport, seq=seq % (1 << 32), ack=ack % (1 << 32),
                          flags=sum(FLAGS[ch] for ch in fl), win=opts.get("win", 65535),
                          opts=tcp_opts, payload=payload)
        data = ethernet(ipv4(src, dst, seg, ident=i + 1))
        cut = None
        if "snap" in opts:
            cut = len(data) - len(payload) + opts["snap"]
        ts = 1_600_000_000_000_000_000 + i * 1_000_000
        out.append(Frame(data[:cut] if cut is not None else data, ts_ns=ts,
                         origlen=len(data) if cut is not None else None))
    return out


def pcap(path: Path, script: list[tuple], compress: bool = False) -> Path:
    """Write ``script`` as a classic pcap (gzip-compressed if ``compress``)."""
    write_pcap(str(path), frames(script))
    if compress:
        gz = path.with_suffix(path.suffix + ".gz")
        gz.write_bytes(gzip.compress(path.read_bytes()))
        return gz
    return path


def run(tmp_path: Path, script: list[tuple], name: str = "t.pcap",
        compress: bool = False) -> AnalysisResult:
    return analyze(str(pcap(tmp_path / name, script, compress)))


HANDSHAKE = [("c", "S", C, 0, b""), ("s", "SA", S, C + 1, b""), ("c", "A", C + 1, S + 1, b"")]


def client_data(*pieces: tuple[int, bytes], isn: int = C) -> list[tuple]:
    """Client segments at stream offsets (offset 0 = ISN + 1), acking the server's SYN."""
    return [("c", "PA", isn + 1 + off, S + 1, data) for off, data in pieces]
