"""IPv4 and IPv6, vectorized: which frames carry a TCP segment, and where it is.

IPv4: version, IHL, total length (0 means TSO/BIG TCP: the frame length is used), the
fragment bits (MF set or offset non-zero: an ``ip_fragment`` anomaly, not reassembled).
IPv6: payload length (0: jumbogram/TSO, frame length used) and the extension-header chain
(hop-by-hop, routing, destination options, fragment, AH) walked for the few rows that
have one. Ethernet padding never counts: the IP lengths say where the segment ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyzer.capture.batch import gather_bytes, gather_rows
from analyzer.decode.addresses import AddressBook
from analyzer.decode.link import ETH_ARP, ETH_IPV4, ETH_IPV6, PROTO_TRUNCATED, Link
from analyzer.decode.model import FrameIssues
from analyzer.schema import (
    ANOM_BAD_IP_LEN,
    FRAME_BAD_IP,
    FRAME_IP_FRAGMENT,
    FRAME_TRUNCATED_IP,
    FRAME_TRUNCATED_LINK,
)

__all__ = ["Net", "network_layer"]

TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
HOPOPT, ROUTING, FRAGMENT, AH, DSTOPTS = 0, 43, 44, 51, 60
EXT_HEADERS = (HOPOPT, ROUTING, DSTOPTS, FRAGMENT, AH)
MAX_EXT = 8


@dataclass
class Net:
    """One element per TCP segment found in the batch (``rows`` index the batch's frames)."""

    rows: np.ndarray       # int64 frame index within the batch
    version: np.ndarray    # uint8 4 or 6
    l4: np.ndarray         # int64 TCP header offset in the batch buffer
    tcp_len: np.ndarray    # int64 TCP segment length per the IP header(s)
    pseudo: np.ndarray     # int64 sum of the pseudo-header's 16-bit words
    ip_id: np.ndarray      # int32, -1 for IPv6
    ttl: np.ndarray        # uint8
    anomalies: np.ndarray  # uint32 ANOM_* bits found at the IP layer
    verifiable: np.ndarray  # bool: the checksum can be verified (no IPv6 routing header)
    src: np.ndarray        # int32 address codes (see AddressBook)
    dst: np.ndarray


IPV4_HEADER = np.dtype([
    ("vihl", "u1"), ("tos", "u1"), ("len", ">u2"), ("id", ">u2"), ("frag", ">u2"),
    ("ttl", "u1"), ("proto", "u1"), ("sum", ">u2"), ("src", ">u4"), ("dst", ">u4"),
])


def _count_kinds(proto: np.ndarray, counts: dict[str, int], v6: bool) -> None:
    counts["udp"] += int(np.count_nonzero(proto == UDP))
    icmp = np.count_nonzero(proto == (ICMPV6 if v6 else ICMP))
    counts["icmpv6" if v6 else "icmp"] += int(icmp)
    counts["other_ip"] += int(np.count_nonzero((proto != TCP) & (proto != UDP))) - int(icmp)


def _ipv4(b: np.ndarray, link: Link, wire_end: np.ndarray, rows: np.ndarray,
          issues: FrameIssues, counts: dict[str, int]) -> dict[str, np.ndarray]:
    short = link.l3[rows] + 20 > link.end[rows]
    issues.add(rows[short], FRAME_TRUNCATED_IP, "IPv4 header cut short")
    counts["other_ip"] += int(short.sum())
    rows = rows[~short]
    h = gather_rows(b, link.l3[rows], IPV4_HEADER)
    vihl, proto = h["vihl"], h["proto"]
    ihl = (vihl & 15).astype(np.int64) * 4
    tot = h["len"].astype(np.int64)
    wire = wire_end[rows] - link.l3[rows]
    tot = np.where(tot == 0, wire, tot)
    bad = ((vihl >> 4) != 4) | (ihl < 20) | (tot < ihl)
    issues.add(rows[bad], FRAME_BAD_IP, "IPv4 version, header length or total length invalid")
    cut = ~bad & (link.l3[rows] + ihl > link.end[rows])
    issues.add(rows[cut], FRAME_TRUNCATED_IP, "IPv4 options cut short")
    frag_bits = h["frag"].astype(np.int64)
    frag = ~bad & ~cut & ((frag_bits & 0x3FFF) != 0)
    fr = np.flatnonzero(frag)
    ids, offs, mfs, protos = h["id"][fr], frag_bits[fr] & 0x1FFF, frag_bits[fr] >> 13 & 1, proto[fr]

    def describe(k: np.ndarray) -> list[str]:
        return [f"IPv4 fragment id {i} offset {o * 8} MF={m} proto {p}" for i, o, m, p in zip(
            ids[k].tolist(), offs[k].tolist(), mfs[k].tolist(), protos[k].tolist(), strict=True)]

    issues.add(rows[fr], FRAME_IP_FRAGMENT, describe)
    counts["other_ip"] += int(np.count_nonzero(bad | cut | frag))
    ok = ~(bad | cut | frag)
    _count_kinds(proto[ok], counts, v6=False)
    tcp = ok & (proto == TCP)
    if not tcp.all():
        t = np.flatnonzero(tcp)
        rows, h, ihl, tot, wire = rows[t], h[t], ihl[t], tot[t], wire[t]
    src, dst = h["src"].astype(np.int64), h["dst"].astype(np.int64)
    tcp_len = np.minimum(tot, wire) - ihl
    return {
        "rows": rows, "l4": link.l3[rows] + ihl, "tcp_len": tcp_len,
        "pseudo": (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + TCP + tcp_len,
        "ip_id": h["id"].astype(np.int32), "ttl": h["ttl"],
        "anomalies": np.where(tot > wire, ANOM_BAD_IP_LEN, 0).astype(np.uint32),
        "verifiable": np.ones(src.size, bool), "src4": src, "dst4": dst,
    }


def _ipv6_ext(b: np.ndarray, l4: np.ndarray, nh: np.ndarray, limit: np.ndarray,
              end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Walk extension headers for all rows at once (only rows with one do any work).

    Returns l4, next header, status (0 ok, 1 fragment, 2 cut short, 3 bad) and whether a
    routing header was seen.
    """
    status = np.zeros(nh.size, np.int8)
    routing = np.zeros(nh.size, bool)
    for _ in range(MAX_EXT):
        act = np.flatnonzero(np.isin(nh, EXT_HEADERS) & (status == 0))
        if not act.size:
            break
        at = l4[act]
        short = at + 8 > end[act]
        status[act[short]] = 2
        act, at = act[~short], at[~short]
        kind, nxt, hlen = nh[act], b[at].astype(np.int64), b[at + 1].astype(np.int64)
        frag_word = b[at + 2].astype(np.int64) << 8 | b[at + 3]
        is_frag = (kind == FRAGMENT) & ((frag_word & 0xFFF9) != 0)
        status[act[is_frag]] = 1
        size = np.select([kind == FRAGMENT, kind == AH], [8, (hlen + 2) * 4], (hlen + 1) * 8)
        routing[act[kind == ROUTING]] = True
        l4[act], nh[act] = at + size, nxt
    status[(status == 0) & np.isin(nh, EXT_HEADERS)] = 3
    status[(status == 0) & (l4 > limit)] = 3
    return l4, nh, status, routing


def _ipv6(b: np.ndarray, link: Link, wire_end: np.ndarray, rows: np.ndarray,
          issues: FrameIssues, counts: dict[str, int]) -> dict[str, np.ndarray]:
    short = link.l3[rows] + 40 > link.end[rows]
    issues.add(rows[short], FRAME_TRUNCATED_IP, "IPv6 header cut short")
    counts["other_ip"] += int(short.sum())
    rows = rows[~short]
    l3 = link.l3[rows]
    h = gather_bytes(b, l3, 40)
    hi = h.astype(np.int64)
    wire = wire_end[rows] - l3
    plen = hi[:, 4] << 8 | hi[:, 5]
    tot = np.where(plen == 0, wire, 40 + plen)
    bad_ver = (hi[:, 0] >> 4) != 6
    l4, nh, status, routing = _ipv6_ext(b, l3 + 40, hi[:, 6].copy(), l3 + tot, link.end[rows])
    status[bad_ver] = 3
    for code, st, text in ((FRAME_IP_FRAGMENT, 1, "IPv6 fragment"),
                           (FRAME_TRUNCATED_IP, 2, "IPv6 extension header cut short"),
                           (FRAME_BAD_IP, 3, "IPv6 version or extension headers invalid")):
        issues.add(rows[status == st], code, text)
    counts["other_ip"] += int(np.count_nonzero(status))
    _count_kinds(nh[status == 0], counts, v6=True)
    t = (status == 0) & (nh == TCP)
    hi, tot, wire, l4 = hi[t], tot[t], wire[t], l4[t]
    words = hi[:, 8:40:2] << 8 | hi[:, 9:40:2]
    tcp_len = np.minimum(tot, wire) - (l4 - l3[t])
    return {
        "rows": rows[t], "l4": l4, "tcp_len": tcp_len,
        "pseudo": words.sum(axis=1) + (tcp_len >> 16) + (tcp_len & 0xFFFF) + TCP,
        "ip_id": np.full(tot.size, -1, np.int32), "ttl": hi[:, 7].astype(np.uint8),
        "anomalies": np.where(tot > wire, ANOM_BAD_IP_LEN, 0).astype(np.uint32),
        "verifiable": ~routing[t], "src6": h[t, 8:24], "dst6": h[t, 24:40],
    }


def network_layer(b: np.ndarray, link: Link, wire_end: np.ndarray, book: AddressBook,
                  issues: FrameIssues, counts: dict[str, int]) -> Net:
    """Find the TCP segments of a batch; count and record everything else.

    ``wire_end`` is where each frame ends on the wire (data offset + original length),
    against which IP lengths are checked.
    """
    proto = link.proto
    issues.add(np.flatnonzero(proto == PROTO_TRUNCATED), FRAME_TRUNCATED_LINK,
               "link-layer header cut short")
    counts["arp"] += int(np.count_nonzero(proto == ETH_ARP))
    v4 = _ipv4(b, link, wire_end, np.flatnonzero(proto == ETH_IPV4), issues, counts)
    v6 = _ipv6(b, link, wire_end, np.flatnonzero(proto == ETH_IPV6), issues, counts)
    counts["other"] += int(np.count_nonzero(~np.isin(proto, (ETH_ARP, ETH_IPV4, ETH_IPV6))))
    n4, n6 = v4["rows"].size, v6["rows"].size
    codes4 = book.v4(np.concatenate([v4["src4"], v4["dst4"]]))
    codes6 = book.v6(np.concatenate([v6["src6"], v6["dst6"]]))
    v4["src"], v4["dst"] = codes4[:n4], codes4[n4:]
    v6["src"], v6["dst"] = codes6[:n6], codes6[n6:]
    v4["version"], v6["version"] = np.full(n4, 4, np.uint8), np.full(n6, 6, np.uint8)
    order = None if not (n4 and n6) else np.argsort(
        np.concatenate([v4["rows"], v6["rows"]]), kind="stable")

    def cat(key: str) -> np.ndarray:
        if order is None:
            return v4[key] if n4 else v6[key]
        return np.concatenate([v4[key], v6[key]])[order]

    return Net(**{f: cat(f) for f in ("rows", "version", "l4", "tcp_len", "pseudo", "ip_id",
                                      "ttl", "anomalies", "verifiable", "src", "dst")})
