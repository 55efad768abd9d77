"""Facts read from the capture for one connection (its segments, split by 4-tuple and time).

These are read from the script's own capture, never assumed: the ``wire`` block of each
connection in the truth file. The nominal, configuration-derived values are in
``expected`` (see ``nominal_*`` below).
"""

from __future__ import annotations

import itertools
from typing import Any

from .session import Conn
from .wire import Segment

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def syn_schedule(retries: int, linear: int) -> tuple[list[float], float]:
    """Nominal SYN retransmission gaps and give-up time from the two sysctls.

    The initial SYN and the first ``linear`` retransmissions each wait the initial 1 s
    RTO; after that the RTO doubles (2, 4, 8 s ...). On Linux, tcp_syn_retries is a time
    budget, not a count: connect() fails at the first timer expiry at or after
    ``2**(retries + 1) - 1`` s (the pure-doubling duration of ``retries`` retransmissions),
    so with linear timeouts more SYNs fit into the budget than ``retries``.
    """
    budget = 2 ** (retries + 1) - 1 if retries <= 6 else 127 + (retries - 6) * 120
    gaps: list[float] = []
    elapsed = 0.0
    while True:
        k = len(gaps)
        gap = min(1.0 if k <= linear else 2.0 ** (k - linear), 120.0)
        if elapsed + gap >= budget:
            return gaps, elapsed + gap
        gaps.append(gap)
        elapsed += gap


def nominal_synack_gaps(retries: int) -> list[float]:
    """Gaps between successive SYN-ACKs of one request socket: 1 s, doubling."""
    return [float(2**k) for k in range(retries)]


def conn_segments(conn: Conn, conns: list[Conn], segs: list[Segment]) -> list[Segment]:
    """Segments of this incarnation: same 4-tuple, from its connect() until the next one's."""
    key = _tuple_key(conn)
    start = conn.events[0]["t_ns"]
    later = [c.events[0]["t_ns"] for c in conns
             if c is not conn and _tuple_key(c) == key and c.events[0]["t_ns"] > start]
    end = min(later) if later else None
    return [s for s in segs if _seg_key(s) == key and s.ts_ns >= start
            and (end is None or s.ts_ns < end)]


def _tuple_key(conn: Conn) -> frozenset[tuple[str, int | None]]:
    return frozenset({(conn.client_ip, conn.client_port), (conn.server_ip, conn.server_port)})


def _seg_key(seg: Segment) -> frozenset[tuple[str, int | None]]:
    return frozenset({(seg.src, seg.sport), (seg.dst, seg.dport)})


def _gaps(times: list[int]) -> list[float]:
    return [round((b - a) / 1e9, 6) for a, b in itertools.pairwise(times)]


def observe(conn: Conn, segs: list[Segment]) -> dict[str, Any]:
    """Counts, SYN/SYN-ACK gaps, retransmitted data chain and the close pattern."""
    from_client = [s for s in segs if s.src == conn.client_ip and s.sport == conn.client_port]
    from_server = [s for s in segs if s not in from_client]
    syns = [s for s in from_client if s.flags & SYN and not s.flags & ACK]
    synacks = [s for s in from_server if s.flags & SYN and s.flags & ACK]
    obs: dict[str, Any] = {
        "first_frame": segs[0].frame if segs else None,
        "last_frame": segs[-1].frame if segs else None,
        "segments": len(segs),
        "client_syn": len(syns), "server_synack": len(synacks),
        "client_fin": sum(1 for s in from_client if s.flags & FIN),
        "server_fin": sum(1 for s in from_server if s.flags & FIN),
        "client_rst": sum(1 for s in from_client if s.flags & RST),
        "server_rst": sum(1 for s in from_server if s.flags & RST),
        "client_payload_bytes": sum(s.payload_len for s in from_client),
        "server_payload_bytes": sum(s.payload_len for s in from_server),
        "syn_gaps_s": _gaps([s.ts_ns for s in syns]),
        "synack_gaps_s": _gaps([s.ts_ns for s in synacks]),
        "client_isn": syns[0].seq if syns else None,
        "server_isn": synacks[0].seq if synacks else None,
        "close_pattern": close_pattern(from_client, from_server),
    }
    return obs


def data_retransmissions(sender: list[Segment]) -> list[dict[str, Any]]:
    """Every payload segment whose sequence number was sent before (a retransmission)."""
    seen: set[int] = set()
    out: list[dict[str, Any]] = []
    for seg in sender:
        if seg.payload_len <= 0:
            continue
        if seg.seq in seen:
            out.append({"frame": seg.frame, "ts_ns": seg.ts_ns, "seq": seg.seq,
                        "payload_len": seg.payload_len})
        seen.add(seg.seq)
    return out


def close_pattern(from_client: list[Segment], from_server: list[Segment]) -> str | None:
    """How the connection ended on the wire.

    ``abort`` (an RST after the handshake), ``simultaneous`` (each FIN sent before the
    other was acknowledged: the second FIN does not ack the first), ``three_way`` (the
    second FIN carries the only ACK of the first), ``four_way`` (a separate ACK first),
    ``half_close`` (the second closer sent data after the first FIN), ``one_fin``,
    or None when no FIN/RST was seen.
    """
    fins = sorted([("client", s) for s in from_client if s.flags & FIN]
                  + [("server", s) for s in from_server if s.flags & FIN],
                  key=lambda x: x[1].frame)
    synacked = any(s.flags & SYN and s.flags & ACK for s in from_server + from_client)
    if synacked and any(s.flags & RST for s in from_client + from_server):
        return "abort"
    if not fins:
        return None
    first_side, first = fins[0]
    second = next((s for side, s in fins if side != first_side), None)
    if second is None:
        return "one_fin"
    fin_ack = (first.seq + first.payload_len + 1) & 0xFFFFFFFF
    if second.ack != fin_ack:
        return "simultaneous"
    closer2 = from_server if first_side == "client" else from_client
    between = [s for s in closer2 if first.frame < s.frame < second.frame]
    if any(s.payload_len > 0 for s in between):
        return "half_close"
    if any(s.ack == fin_ack for s in between):
        return "four_way"
    return "three_way"
