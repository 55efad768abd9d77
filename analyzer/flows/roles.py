"""Who is the client? Decided per connection from the best evidence available.

Order of evidence (recorded in ``role_source``): the sender of the first pure SYN
(``syn``); the receiver of the first SYN-ACK (``synack``); port numbers — a port below
1024 against one above, or a registered port against an ephemeral one (``port``); and
last the sender of the first packet (``first_packet``). Everything but ``syn`` is an
inference and is shown as such.
"""

from __future__ import annotations

import numpy as np

from analyzer.flows.groups import first_where
from analyzer.schema import ACK, SYN

__all__ = ["ROLE_SOURCES", "client_is_lo"]

ROLE_SOURCES = ("syn", "synack", "port", "first_packet")


def _port_vote(lo_port: np.ndarray, hi_port: np.ndarray) -> np.ndarray:
    """+1: the lower endpoint is the client; -1: the higher one; 0: no opinion."""
    lo_p = lo_port.astype(np.int64)
    hi_p = hi_port.astype(np.int64)
    vote = np.zeros(len(lo_p), dtype=np.int8)
    lo_wk, hi_wk = lo_p < 1024, hi_p < 1024
    vote[hi_wk & ~lo_wk] = 1      # the higher endpoint listens on a well-known port
    vote[lo_wk & ~hi_wk] = -1
    undecided = vote == 0
    lo_eph, hi_eph = lo_p >= 32768, hi_p >= 32768
    vote[undecided & lo_eph & ~hi_eph] = 1
    vote[undecided & hi_eph & ~lo_eph] = -1
    return vote


def client_is_lo(conn: np.ndarray, fwd: np.ndarray, flags: np.ndarray, sport: np.ndarray,
                 dport: np.ndarray, n_conn: int) -> tuple[np.ndarray, np.ndarray]:
    """Per connection: (True if the client is the lower 4-tuple end, role source code 0..3)."""
    pure_syn = (flags & (SYN | ACK)) == SYN
    synack = (flags & (SYN | ACK)) == (SYN | ACK)
    first_syn = first_where(conn, pure_syn, n_conn)
    first_synack = first_where(conn, synack, n_conn)
    first_any = first_where(conn, np.ones(len(conn), dtype=bool), n_conn)

    result = np.zeros(n_conn, dtype=bool)
    source = np.full(n_conn, 3, dtype=np.int8)

    has_fp = first_any >= 0
    fp = first_any[has_fp]
    result[has_fp] = fwd[fp]
    lo_port = np.where(fwd[fp], sport[fp], dport[fp])
    hi_port = np.where(fwd[fp], dport[fp], sport[fp])
    vote = _port_vote(lo_port, hi_port)
    idx = np.flatnonzero(has_fp)
    result[idx[vote == 1]] = True
    result[idx[vote == -1]] = False
    source[idx[vote != 0]] = 2

    has_sa = first_synack >= 0
    result[has_sa] = ~fwd[first_synack[has_sa]]
    source[has_sa] = 1

    has_syn = first_syn >= 0
    result[has_syn] = fwd[first_syn[has_syn]]
    source[has_syn] = 0
    return result, source
