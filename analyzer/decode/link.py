"""Link layers, vectorized: where the network-layer header starts and what it is.

Supported (the fast path): Ethernet with any number (up to 4) of 802.1Q / 802.1ad / QinQ
tags and PPPoE sessions, Linux cooked capture SLL (113) and SLL2 (276), raw IP (101, and
12/14 as written by some systems; 228 IPv4, 229 IPv6), BSD NULL (0) and LOOP (108) in
either byte order. Every other link type is *unsupported*: its frames are counted as
"other" and listed in the anomalies table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyzer.capture.batch import FrameBatch, gather_u16, gather_u32

__all__ = [
    "ETH_ARP", "ETH_IPV4", "ETH_IPV6", "LINK_NAMES", "PROTO_NONE", "PROTO_TRUNCATED",
    "PROTO_UNSUPPORTED", "SUPPORTED_LINKTYPES", "Link", "link_layer",
]

ETH_IPV4, ETH_IPV6, ETH_ARP = 0x0800, 0x86DD, 0x0806
VLAN_TYPES = (0x8100, 0x88A8, 0x9100)
PPPOE_SESSION = 0x8864
PPP_IPV4, PPP_IPV6 = 0x0021, 0x0057
PROTO_UNSUPPORTED = -1     # the link type is not decoded natively
PROTO_TRUNCATED = -2       # the link-layer header is cut short
PROTO_NONE = -3            # a record without a packet (pcapng custom/journal block)
MAX_TAGS = 4

ETHERNET, NULL, LOOP, SLL, SLL2 = 1, 0, 108, 113, 276
RAW_ANY, RAW_V4, RAW_V6 = (101, 12, 14), 228, 229
SUPPORTED_LINKTYPES = frozenset({ETHERNET, NULL, LOOP, SLL, SLL2, *RAW_ANY, RAW_V4, RAW_V6})
LINK_NAMES = {
    0: "BSD loopback", 1: "Ethernet", 9: "PPP", 12: "raw IP", 14: "raw IP", 101: "raw IP",
    104: "Cisco HDLC", 105: "IEEE 802.11", 108: "OpenBSD loopback", 113: "Linux cooked (SLL)",
    127: "IEEE 802.11 radiotap", 129: "ARCNET (Linux)", 228: "raw IPv4", 229: "raw IPv6",
    239: "Linux NFLOG", 242: "IP over InfiniBand", 276: "Linux cooked v2 (SLL2)",
}
AF_INET6 = (10, 24, 28, 30)   # Linux, NetBSD/OpenBSD, FreeBSD, Darwin


@dataclass
class Link:
    """Per frame of a batch: network header start (in the batch buffer), protocol, VLAN."""

    l3: np.ndarray      # int64 offset of the network header in the batch buffer
    proto: np.ndarray   # int64 ethertype, or one of the PROTO_* codes
    vlan: np.ndarray    # int32 outermost VLAN id, -1 if none
    end: np.ndarray     # int64 end of the captured frame in the batch buffer


def _ethertype_chain(b: np.ndarray, sel: np.ndarray, link: Link) -> None:
    """Follow VLAN tags and PPPoE sessions from ``l3`` for rows ``sel`` (in place)."""
    for _ in range(MAX_TAGS):
        p = link.proto[sel]
        tagged = sel[np.isin(p, VLAN_TYPES) & (link.l3[sel] + 4 <= link.end[sel])]
        if not tagged.size:
            break
        at = link.l3[tagged]
        untagged = link.vlan[tagged] < 0
        link.vlan[tagged[untagged]] = gather_u16(b, at[untagged]) & 0x0FFF
        link.proto[tagged] = gather_u16(b, at + 2)
        link.l3[tagged] = at + 4
    short = sel[np.isin(link.proto[sel], VLAN_TYPES)]
    link.proto[short] = PROTO_TRUNCATED
    pppoe = sel[(link.proto[sel] == PPPOE_SESSION) & (link.l3[sel] + 8 <= link.end[sel])]
    if pppoe.size:
        first = b[link.l3[pppoe] + 6].astype(np.int64)
        short_field = (first & 1) == 1           # protocol field compression: one byte
        ppp = np.where(short_field, first, gather_u16(b, link.l3[pppoe] + 6))
        link.proto[pppoe] = np.select([ppp == PPP_IPV4, ppp == PPP_IPV6],
                                      [ETH_IPV4, ETH_IPV6], 0x10000 + ppp)
        link.l3[pppoe] += np.where(short_field, 7, 8)


def _need(link: Link, rows: np.ndarray, hdr: int) -> np.ndarray:
    """Rows whose captured frame holds ``hdr`` bytes from l3; the rest become truncated."""
    ok = link.l3[rows] + hdr <= link.end[rows]
    link.proto[rows[~ok]] = PROTO_TRUNCATED
    return rows[ok]


def _by_version(b: np.ndarray, link: Link, rows: np.ndarray) -> None:
    ver = (b[link.l3[rows]] >> 4).astype(np.int64)
    link.proto[rows] = np.select([ver == 4, ver == 6], [ETH_IPV4, ETH_IPV6], 0x20000 + ver)


def _bsd_family(b: np.ndarray, link: Link, rows: np.ndarray) -> None:
    le = gather_u32(b, link.l3[rows], big=False)
    fam = np.where(le < 256, le, gather_u32(b, link.l3[rows], big=True))
    link.proto[rows] = np.select([fam == 2, np.isin(fam, AF_INET6)],
                                 [ETH_IPV4, ETH_IPV6], 0x30000 + (fam & 0xFFFF))
    link.l3[rows] += 4


def link_layer(batch: FrameBatch) -> Link:
    """Decode the link-layer headers of every frame of ``batch``."""
    b, lt, start = batch.buf, batch.linktype, batch.data_off
    n = len(batch)
    link = Link(l3=start.copy(), proto=np.full(n, PROTO_UNSUPPORTED, np.int64),
                vlan=np.full(n, -1, np.int32), end=start + batch.caplen)
    link.proto[lt < 0] = PROTO_NONE
    groups = {int(v) for v in np.unique(lt).tolist()} & SUPPORTED_LINKTYPES
    chained: list[np.ndarray] = []
    for t in sorted(groups):
        rows = _need(link, np.flatnonzero(lt == t), _LINK_HDR[t])
        if t == ETHERNET:
            link.proto[rows] = gather_u16(b, link.l3[rows] + 12)
            link.l3[rows] += 14
            chained.append(rows)
        elif t in (SLL, SLL2):
            at = 14 if t == SLL else 0
            link.proto[rows] = gather_u16(b, link.l3[rows] + at)
            link.l3[rows] += 16 if t == SLL else 20
            chained.append(rows)
        elif t in (NULL, LOOP):
            _bsd_family(b, link, rows)
        elif t == RAW_V4:
            link.proto[rows] = ETH_IPV4
        elif t == RAW_V6:
            link.proto[rows] = ETH_IPV6
        else:
            _by_version(b, link, rows)
    if chained:
        _ethertype_chain(b, np.concatenate(chained), link)
    return link


_LINK_HDR = {ETHERNET: 14, SLL: 16, SLL2: 20, NULL: 4, LOOP: 4, RAW_V4: 0, RAW_V6: 0,
             **dict.fromkeys(RAW_ANY, 1)}
