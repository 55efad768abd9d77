"""Which layers of a frame matter, from tshark's ``frame.protocols`` (e.g.
``sll:ethertype:ip:udp:gtp:ipv6:tcp``).

A frame's TCP segment is its *innermost* TCP layer that is not quoted inside an ICMP/ICMPv6
error; the IP layer carrying it is the last IPv4/IPv6 layer before that TCP layer (for
tunnels — GTP, GRE, VXLAN, 6in4, IP-in-IP, PPPoE, MPLS — the inner one). Fields that occur
once per layer (``ip.src``, ``tcp.seq_raw``, ...) are printed by tshark once per layer in
dissection order, so the wanted value is the n-th occurrence, where n counts the layers of
the same protocol before it. A capture has few distinct protocol stacks, so each stack is
analysed once in Python and the result is spread to the rows with NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Layout", "layout"]

ICMP_LAYERS = frozenset({"icmp", "icmpv6"})
IP_LAYERS = frozenset({"ip", "ipv6"})


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the interesting layers of one protocol stack are."""

    kind: str            # "tcp", or a DecodeStats.non_tcp kind (udp icmp icmpv6 arp other_ip other)
    tcp_index: int       # occurrence of the chosen TCP layer among the frame's TCP layers
    tcp_layers: int      # TCP layers in the frame (quoted ones included)
    ip_version: int      # 4 or 6 (0 when there is no IP layer before the TCP layer)
    ip_index: int        # occurrence of the carrying layer among the IPv4 (or IPv6) layers
    vlan: bool           # an 802.1Q tag comes before the carrying IP layer
    fragment: bool       # the frame holds an IPv4/IPv6 fragment


def _non_tcp_kind(layers: list[str]) -> str:
    """The DecodeStats.non_tcp category: what the outermost IP layer carries."""
    if "arp" in layers:
        return "arp"
    first = next((i for i, name in enumerate(layers) if name in IP_LAYERS), -1)
    if first < 0:
        return "other"
    after = [n for n in layers[first + 1:] if not n.startswith("ipv6.")]
    nxt = after[0] if after else ""
    return nxt if nxt in ("udp", "icmp", "icmpv6") else "other_ip"


@lru_cache(maxsize=4096)
def layout(protocols: str) -> Layout:
    """The :class:`Layout` of a ``frame.protocols`` string."""
    layers = protocols.split(":") if protocols else []
    fragment = "ipv6.fraghdr" in layers
    tcp_at = [i for i, name in enumerate(layers) if name == "tcp"]
    quoted = next((i for i, name in enumerate(layers) if name in ICMP_LAYERS), len(layers))
    usable = [i for i in tcp_at if i < quoted]
    if not usable:
        kind = "icmpv6" if tcp_at and layers[quoted] == "icmpv6" else \
            "icmp" if tcp_at else _non_tcp_kind(layers)
        return Layout(kind, -1, len(tcp_at), 0, -1, False, fragment)
    t = usable[-1]
    carrier = max((i for i in range(t) if layers[i] in IP_LAYERS), default=-1)
    if carrier < 0:
        return Layout("other", -1, len(tcp_at), 0, -1, False, fragment)
    name = layers[carrier]
    return Layout(
        kind="tcp",
        tcp_index=tcp_at.index(t),
        tcp_layers=len(tcp_at),
        ip_version=4 if name == "ip" else 6,
        ip_index=sum(1 for n in layers[:carrier] if n == name),
        vlan="vlan" in layers[:carrier],
        fragment=fragment,
    )
