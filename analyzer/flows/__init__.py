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

__all__ = ["ROLE_SOURCES", "Flows", "Keyed", "build_flows", "key_connections"]


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


@dataclass(slots=True)
class Keyed:
    """The first step of the flows stage: connection ids and the grouping by connection."""

    conn: np.ndarray          # connection id per row
    fwd: np.ndarray           # True where the row goes from the lower to the higher endpoint
    n_conn: int
    by_conn: Grouping         # rows grouped by connection (capture order inside)


def key_connections(cols: dict[str, np.ndarray]) -> Keyed:
    """Connection id of every row (4-tuple incarnations) and the rows grouped by them."""
    tid, fwd, tuple_order = tuple_ids(cols["src"], cols["sport"], cols["dst"], cols["dport"])
    conn, conn_order = connection_ids(tid, fwd, cols["flags"], cols["seq"], tuple_order)
    n_conn = int(conn.max()) + 1 if len(conn) else 0
    return Keyed(conn, fwd, n_conn, Grouping.from_sorted(conn_order, conn).ascending(conn))


def build_flows(cols: dict[str, np.ndarray], keyed: Keyed | None = None) -> Flows:
    """Assign every row of the packet table to a connection and a direction (``keyed``:
    the result of :func:`key_connections` if already computed)."""
    flags = cols["flags"]
    k = key_connections(cols) if keyed is None else keyed
    conn, fwd, n_conn, by_conn = k.conn, k.fwd, k.n_conn, k.by_conn
    lo_client, source = client_is_lo(conn, fwd, flags, cols["sport"], cols["dport"], n_conn)
    from_server = fwd != lo_client[conn]
    group = conn * 2 + from_server
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
