"""A crafted capture whose packets and interface name carry HTML, for the escaping tests."""

from __future__ import annotations

from pathlib import Path

import dpkt
from _pcap_builders import Pcapng, ethernet, ipv4, tcp_segment

EVIL_IFACE = "<script>alert('iface')</script>"
EVIL_REQUEST = (b"GET /<script>alert(1)</script> HTTP/1.1\r\n"
                b"Host: <script>alert(2)</script>.example\r\n\r\n")
EVIL_RESPONSE = b"HTTP/1.1 200 OK\r\n\r\n<img src=x onerror=alert(3)>"
A, S, F, P = dpkt.tcp.TH_ACK, dpkt.tcp.TH_SYN, dpkt.tcp.TH_FIN, dpkt.tcp.TH_PUSH


def write_evil_capture(path: Path) -> Path:
    """One clean connection (10.0.0.1:40000 → 10.0.0.2:80) carrying HTML in both ways."""
    c, s = ("10.0.0.1", 40000), ("10.0.0.2", 80)
    ci, si = 1000, 9000
    req, resp = EVIL_REQUEST, EVIL_RESPONSE
    steps = [  # (from client, seq, ack, flags, payload)
        (True, ci, 0, S, b""), (False, si, ci + 1, S | A, b""), (True, ci + 1, si + 1, A, b""),
        (True, ci + 1, si + 1, P | A, req), (False, si + 1, ci + 1 + len(req), A, b""),
        (False, si + 1, ci + 1 + len(req), P | A, resp),
        (True, ci + 1 + len(req), si + 1 + len(resp), F | A, b""),
        (False, si + 1 + len(resp), ci + 2 + len(req), F | A, b""),
        (True, ci + 2 + len(req), si + 2 + len(resp), A, b""),
    ]
    ng = Pcapng().section().interface(linktype=1, name=EVIL_IFACE)
    t_us = 1_700_000_000_000_000
    for i, (fwd, seq, ack, flags, data) in enumerate(steps):
        src, dst = (c, s) if fwd else (s, c)
        seg = tcp_segment(sport=src[1], dport=dst[1], seq=seq, ack=ack, flags=flags,
                          payload=data)
        ng.epb(ethernet(ipv4(src[0], dst[0], seg, ident=i + 1)), ticks=t_us + i * 1000)
    ng.write(str(path))
    return path
