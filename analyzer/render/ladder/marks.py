"""Per-row meaning of the segments, for the whole capture at once (vectorized).

What the ladder diagram, the report and the annotated pcapng write next to a segment:
its step in the handshake or the teardown as a textbook numbers them (SYN 1/3, SYN-ACK 2/3,
ACK 3/3; FIN 1/4, ACK 2/4, FIN 3/4, ACK 4/4), whether its acknowledgement number is the one
the arithmetic asks for (ack = ISN + 1, ack = FIN seq + len + 1), the endpoint states it
changed, and its retransmission (kind, retry, gap, backoff ratio).

Step numbering is by role: the first FIN of the connection is 1/4 and its sender the
active closer; the first segment of the peer acknowledging it is 2/4; the peer's own FIN
3/4; the closer's first segment acknowledging that FIN 4/4. One segment can play two roles
(a FIN+ACK in a three-segment close is 2/4 and 3/4). Every SYN is 1/3 and every SYN-ACK
2/3 (resent ones included: their retransmission mark tells them apart); 3/3 is the
client's first acknowledgement after the first SYN-ACK.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analyzer.flows.groups import NONE, first_where
from analyzer.schema import ACK, FIN, RST, SYN

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = [
    "ACK_2", "ACK_3", "ACK_4", "FIN_1", "FIN_3", "HANDSHAKE", "STEP_BITS", "SYNACK_2",
    "SYN_1", "TEARDOWN", "Marks", "marks",
]

SYN_1, SYNACK_2, ACK_3, FIN_1, ACK_2, FIN_3, ACK_4 = 1, 2, 4, 8, 16, 32, 64
HANDSHAKE = SYN_1 | SYNACK_2 | ACK_3
TEARDOWN = FIN_1 | ACK_2 | FIN_3 | ACK_4
STEP_BITS: tuple[tuple[int, str, str], ...] = (
    (SYN_1, "handshake", "1/3"), (SYNACK_2, "handshake", "2/3"), (ACK_3, "handshake", "3/3"),
    (FIN_1, "teardown", "1/4"), (ACK_2, "teardown", "2/4"), (FIN_3, "teardown", "3/4"),
    (ACK_4, "teardown", "4/4"),
)
"""(bit, phase, "k/n") in reading order."""


@dataclass(slots=True)
class Marks:
    """Per row of the packet table (NumPy arrays), plus the retransmissions by row."""

    step: np.ndarray        # STEP bits (0: no numbered step)
    check_ok: np.ndarray    # int8: 1 the step's ack arithmetic holds, 0 it does not, -1 n/a
    check_want: np.ndarray  # int64: the relative ack the arithmetic asks for (NONE if n/a)
    retx: pd.DataFrame      # timing.retransmissions indexed by row


def _fin_roles(result: AnalysisResult, fin: np.ndarray, good_ack: np.ndarray,
               step: np.ndarray, want: np.ndarray) -> None:
    """Mark FIN 1/4 … ACK 4/4 (see the module docstring) into ``step`` and ``want``."""
    fl = result.flows
    n, n_conn = len(fin), fl.n_conn
    idx = np.arange(n)
    first_fin = np.stack([first_where(fl.conn, fin & (fl.from_server == d), n_conn)
                          for d in (False, True)], axis=1)            # (n_conn, 2) rows
    big = np.iinfo(np.int64).max
    closer = np.argmin(np.where(first_fin >= 0, first_fin, big), axis=1)  # per conn
    for d in (0, 1):
        f = first_fin[:, d]
        has = f >= 0
        is_closer = closer == d
        bit_fin = np.where(is_closer, FIN_1, FIN_3)
        bit_ack = np.where(is_closer, ACK_2, ACK_4)
        mine = fin & (fl.from_server == bool(d)) & has[fl.conn]
        step[mine] |= bit_fin[fl.conn[mine]]
        f_row = f[fl.conn]
        end = np.where(has, fl.seg_end[np.maximum(f, 0)], big)[fl.conn]
        cand = good_ack & (fl.from_server != bool(d)) & has[fl.conn] & (idx > f_row)
        exact = first_where(fl.conn, cand & (fl.rel_ack >= end), n_conn)
        near = first_where(fl.conn, cand & (fl.rel_ack >= end - 1), n_conn)
        acker = np.where(exact >= 0, exact, near)
        ok = acker >= 0
        step[acker[ok]] |= bit_ack[ok]
        want[acker[ok]] = fl.seg_end[f[ok]]


def _compute(result: AnalysisResult) -> Marks:
    cols, fl = result.columns, result.flows
    flags = cols["flags"].astype(np.int64)
    n = len(flags)
    step = np.zeros(n, dtype=np.int64)
    want = np.full(n, NONE, dtype=np.int64)
    rst = (flags & RST) != 0
    has_ack = (flags & ACK) != 0
    pure_syn = (flags & (SYN | ACK | RST)) == SYN
    synack = (flags & (SYN | ACK | RST)) == (SYN | ACK)
    fin = ((flags & FIN) != 0) & ~rst & ((flags & SYN) == 0)
    step[pure_syn] |= SYN_1
    step[synack] |= SYNACK_2
    client_isn = fl.isn[fl.conn * 2] != NONE
    server_isn = fl.isn[fl.conn * 2 + 1] != NONE
    peer_isn = np.where(fl.from_server, client_isn, server_isn)
    want[synack & peer_isn] = 1  # ack = the peer's ISN + 1 (relative 1)
    first_sa = first_where(fl.conn, synack & fl.from_server, fl.n_conn)
    after = np.arange(n) > np.where(first_sa >= 0, first_sa, n)[fl.conn]
    good_ack = has_ack & ~rst & ((flags & SYN) == 0) & (fl.rel_ack != NONE)
    third = first_where(fl.conn, good_ack & ~fl.from_server & after, fl.n_conn)
    third = third[third >= 0]
    step[third] |= ACK_3
    want[third[server_isn[third]]] = 1
    _fin_roles(result, fin, good_ack, step, want)
    ok = np.where(want == NONE, -1, (fl.rel_ack == want).astype(np.int8)).astype(np.int8)
    # a pure SYN has no ack to check
    ok[(step & (ACK_3 | SYNACK_2 | ACK_2 | ACK_4)) == 0] = -1
    tx = result.timing.retransmissions
    retx = tx.set_index("row", drop=False) if "row" in tx.columns else tx
    return Marks(step, ok, want, retx)


_CACHE: list[tuple[weakref.ref[AnalysisResult], Marks]] = []


def marks(result: AnalysisResult) -> Marks:
    """The :class:`Marks` of ``result`` (computed once per result, the last one cached)."""
    if _CACHE:
        ref, got = _CACHE[0]
        if ref() is result:
            return got
    got = _compute(result)
    _CACHE[:] = [(weakref.ref(result), got)]
    return got
