"""Packet table → connections: connection id, direction and relative numbers per row.

See ``keys`` (4-tuples and incarnations), ``roles`` (client/server), ``relative``
(relative, unwrapped seq/ack) and ``table`` (the per-connection summary).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyzer.flows.groups import Grouping
from analyzer.flows.keys import connection_ids, tuple_ids
from analyzer.flows.relative import bases, unwrap_relative
from analyzer.flows.roles import ROLE_SOURCES, client_is_lo
from analyzer.schema import ACK, FIN, SYN

__all__ = ["ROLE_SOURCES", "Flows", "build_flows"]


@dataclass(slots=True)
class Flows:
    """Per-row and per-connection facts of the flows stage (all NumPy arrays)."""

    conn: np.ndarray          # connection id per row
    from_server: np.ndarray   # True for server → client rows
    rel_seq: np.ndarray       # unwrapped sequence number relative to the sender's ISN
    rel_ack: np.ndarray       # unwrapped ack relative to the receiver's ISN; NONE without ACK
    seg_end: np.ndarray       # rel_seq + payload length + SYN + FIN (next expected seq)
    n_conn: int
    client_is_lo: np.ndarray  # per connection
    role_source: np.ndarray   # per connection: index into ROLE_SOURCES
    isn: np.ndarray           # per (conn*2 + from_server): raw ISN, or NONE without a SYN
    base: np.ndarray          # per (conn*2 + from_server): base of the relative numbers
    by_conn: Grouping         # rows grouped by connection (capture order inside)
    by_group: Grouping        # rows grouped by (connection, direction)
    group: np.ndarray         # per row: conn*2 + direction (0 client → server, 1 server → client)


def build_flows(cols: dict[str, np.ndarray]) -> Flows:
    """Assign every row of the packet table to a connection and a direction."""
    flags = cols["flags"]
    tid, fwd, tuple_order = tuple_ids(cols["src"], cols["sport"], cols["dst"], cols["dport"])
    conn, conn_order = connection_ids(tid, fwd, flags, cols["seq"], tuple_order)
    n_conn = int(conn.max()) + 1 if len(conn) else 0
    lo_client, source = client_is_lo(conn, fwd, flags, cols["sport"], cols["dport"], n_conn)
    from_server = fwd != lo_client[conn]
    group = conn * 2 + from_server
    by_conn = Grouping.from_sorted(conn_order, conn).ascending(conn)
    by_group = by_conn.split(from_server)
    base, from_syn = bases(group, flags, cols["seq"], 2 * n_conn)
    isn = np.where(from_syn, base, np.iinfo(np.int64).min)
    rel_seq = unwrap_relative(by_group, cols["seq"], base[group], np.ones(len(group), dtype=bool))
    peer = group ^ 1
    has_ack = (flags & ACK) != 0
    rel_ack = unwrap_relative(by_group, cols["ack"], base[peer], has_ack)
    seg_end = rel_seq + cols["payload_len"].astype(np.int64) \
        + ((flags & SYN) != 0) + ((flags & FIN) != 0)
    return Flows(conn, from_server, rel_seq, rel_ack, seg_end, n_conn, lo_client, source,
                 isn, base, by_conn, by_group, group)
