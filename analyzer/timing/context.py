"""Per-row facts the timing analysis needs, computed once and vectorized.

For every row: what its sender had already sent (highest sequence end), what its peer had
acknowledged, the peer's latest segment and latest *advancing* ACK before it, how many
duplicate ACKs in a row it is, and its first SACK block in relative numbers. Plus, per
(connection, direction), the running maximum of the ACKs for "first ACK covering X after
row r" look-ups (RTT samples, Eifel detection, chain answers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyzer.flows import Flows
from analyzer.flows.groups import (
    NONE,
    Grouping,
    group_cummax_excl,
    last_value_ffill,
    peer_latest,
)
from analyzer.flows.table import handshake_times
from analyzer.schema import ACK, FIN, RST, SYN
from analyzer.timing.scan import group_key, search_in_groups

__all__ = ["RowContext", "build_context"]

OOO_DEFAULT_S = 0.003   # Wireshark's out-of-order threshold when the RTT is unknown


def _signed32(x: np.ndarray) -> np.ndarray:
    return ((x.astype(np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


@dataclass(slots=True)
class RowContext:
    """Everything below is per row unless said otherwise."""

    ts: np.ndarray              # int64 ns
    group: np.ndarray           # conn*2 + from_server (the sender's direction)
    conn: np.ndarray
    occ: np.ndarray             # occupies sequence space (payload, SYN or FIN; not RST)
    max_end_before: np.ndarray  # highest seq end its sender had sent before it (NONE if none)
    peer_ack_before: np.ndarray  # highest ACK of the peer before it (NONE if none)
    last_peer: np.ndarray       # latest row of the peer before it (-1)
    last_adv_peer: np.ndarray   # latest peer row whose ACK advanced (-1)
    ack_advances: np.ndarray    # its ACK is higher than every earlier ACK of its sender
    own_ack_before: np.ndarray  # highest ACK its sender had sent before it (NONE if none)
    dup_count: np.ndarray       # consecutive duplicate ACKs ending at this row (0: not a dup)
    sack_left: np.ndarray       # first SACK block, relative to the receiver's numbers (NONE)
    sack_right: np.ndarray
    dsack: np.ndarray           # the first SACK block lies below the cumulative ACK (RFC 2883)
    rtt_ref: np.ndarray         # per connection: handshake RTT (s), NaN if not seen or resent
    zwp: np.ndarray             # zero-window probes (not retransmissions, not originals)
    other_leg: np.ndarray       # per group: the other half of the RTT seen from the capture
    sack_ok: np.ndarray         # per connection: SACK permitted both ways (or not known)
    capture_end: int
    ack_rows: np.ndarray        # rows carrying an ACK, grouped by sender group, capture order
    ack_group: np.ndarray       # their groups
    ack_key_row: np.ndarray     # group_key(group, row)  (sorted)
    ack_key_max: np.ndarray     # group_key(group, running max of rel_ack)  (sorted)

    def ooo_threshold(self) -> np.ndarray:
        """Per connection: how soon a gap-filling segment counts as out-of-order (s)."""
        return np.where(np.isnan(self.rtt_ref), OOO_DEFAULT_S, self.rtt_ref)

    def first_cover_after(self, acker_group: np.ndarray, end: np.ndarray,
                          row: np.ndarray) -> np.ndarray:
        """Row of the first ACK from ``acker_group`` after ``row`` with ack >= ``end`` (-1)."""
        if len(self.ack_rows) == 0:
            return np.full(len(acker_group), -1, dtype=np.int64)
        p_cover = search_in_groups(self.ack_key_max, self.ack_group, acker_group, end, "left")
        p_after = search_in_groups(self.ack_key_row, self.ack_group, acker_group, row + 1,
                                   "left")
        ok = (p_cover >= 0) & (p_after >= 0)
        pos = np.maximum(p_cover, p_after)
        return np.where(ok, self.ack_rows[np.where(ok, pos, 0)], -1)


def _window_probes(cols: dict[str, np.ndarray], fl: Flows, occ: np.ndarray,
                   last_peer: np.ndarray) -> np.ndarray:
    """Zero-window probes (RFC 9293 §3.8.6.1): one byte sent while the peer's window is 0.

    The byte is sent again with the data once the window opens; neither the probe nor its
    repetitions are retransmissions (nor does the probe count as the byte's original).
    """
    closed = (last_peer >= 0) & (cols["window"][np.maximum(last_peer, 0)] == 0)
    one = occ & closed & (cols["payload_len"] == 1) & ((cols["flags"] & (SYN | FIN)) == 0)
    if not one.any():
        return one
    mbe0 = group_cummax_excl(fl.by_group, np.where(occ & ~one, fl.seg_end, NONE))
    return one & ((mbe0 == NONE) | (fl.rel_seq >= mbe0))


def _dup_acks(cols: dict[str, np.ndarray], fl: Flows, outstanding: np.ndarray) -> np.ndarray:
    """RFC 5681 §2 duplicate ACKs, counted in runs per sender group."""
    n = len(fl.conn)
    out = np.zeros(n, dtype=np.int64)
    pure = ((cols["flags"] & (SYN | FIN | RST | ACK)) == ACK) & (cols["payload_len"] == 0) \
        & (fl.rel_ack != NONE) & outstanding
    if not pure.any():
        return out
    order, starts = fl.by_group.order, fl.by_group.starts
    ack = fl.rel_ack[order]
    win = cols["window"][order]
    dup = np.zeros(n, dtype=bool)
    dup[1:] = (ack[1:] == ack[:-1]) & (win[1:] == win[:-1])
    del ack, win
    dup &= pure[order]
    dup &= ~starts
    pos = np.arange(n)
    last_non = np.where(dup, -1, pos)
    np.maximum.accumulate(last_non, out=last_non)
    at = np.flatnonzero(dup)
    out[order[at]] = at - last_non[at]
    return out


def _sack(cols: dict[str, np.ndarray], fl: Flows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(fl.conn)
    left = np.full(n, NONE, dtype=np.int64)
    right = np.full(n, NONE, dtype=np.int64)
    dsack = np.zeros(n, dtype=bool)
    rows = np.flatnonzero((cols["opt_sack_blocks"] > 0) & (fl.rel_ack != NONE))
    if len(rows):
        raw_ack = cols["ack"][rows].astype(np.int64)
        ack = fl.rel_ack[rows]
        left[rows] = ack + _signed32(cols["opt_sack_left"][rows] - raw_ack)
        right[rows] = ack + _signed32(cols["opt_sack_right"][rows] - raw_ack)
        dsack[rows] = (right[rows] <= ack) & (right[rows] > left[rows])
    return left, right, dsack


def _handshake_facts(cols: dict[str, np.ndarray], fl: Flows, conns: pd.DataFrame,
                     last_peer: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per connection: handshake RTT (NaN if SYN or SYN-ACK was resent: Karn), per group:
    the RTT leg on the far side of the capture point from the group's receiver, and
    whether SACK was permitted both ways."""
    clean = (conns["syn_count"].to_numpy() <= 1) & (conns["synack_count"].to_numpy() <= 1)
    rtt = np.where(clean, conns["handshake_rtt_ms"].to_numpy(np.float64) / 1e3, np.nan)
    leg_server = np.nan_to_num(conns["rtt_syn_synack_ms"].to_numpy(np.float64) / 1e3)
    # client leg: the handshake ACK against the latest SYN-ACK before it (after SYN-ACK
    # retransmissions the first SYN-ACK would count the retransmission timeout in)
    ack = handshake_times(cols, fl)["ack"]
    prev = np.where(ack >= 0, last_peer[np.maximum(ack, 0)], -1)
    synack = (prev >= 0) & ((cols["flags"][np.maximum(prev, 0)] & (SYN | ACK)) == (SYN | ACK))
    ts = cols["ts_ns"]
    leg_client = np.where(synack, (ts[np.maximum(ack, 0)] - ts[np.maximum(prev, 0)]) / 1e9,
                          np.nan_to_num(conns["rtt_synack_ack_ms"].to_numpy(np.float64) / 1e3))
    other = np.empty(2 * fl.n_conn)
    other[0::2] = leg_client   # client sends: sample covers capture↔server, add client leg
    other[1::2] = leg_server
    syn = (cols["flags"] & SYN) != 0
    perm = cols["opt_sack_perm"].astype(bool)
    seen = np.zeros(2 * fl.n_conn, dtype=bool)
    ok = np.ones(2 * fl.n_conn, dtype=bool)
    seen[fl.group[syn]] = True
    ok[fl.group[syn & ~perm]] = False
    sack_ok = np.asarray((ok | ~seen).reshape(-1, 2).all(axis=1), dtype=bool)
    return rtt, other, sack_ok


def _ack_index(fl: Flows) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    has = fl.rel_ack != NONE
    grp: Grouping = fl.by_group.subset(has)
    rows = grp.order
    g = fl.group[rows]
    ack = fl.rel_ack[rows]
    if len(ack):
        off = np.cumsum(grp.starts, dtype=np.int64)
        off -= 1
        off *= np.int64(1) << 42
        running = ack + off
        np.maximum.accumulate(running, out=running)
        running -= off
        del off
    else:
        running = ack
    return rows, g, group_key(g, rows), group_key(g, running)


def _at(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values[rows]`` with NONE where ``rows`` is -1."""
    return np.where(rows >= 0, values[np.maximum(rows, 0)], NONE)


def build_context(cols: dict[str, np.ndarray], fl: Flows, conns: pd.DataFrame) -> RowContext:
    n = len(fl.conn)
    idx = np.arange(n, dtype=np.int64)
    ts = cols["ts_ns"]
    occ = (fl.seg_end > fl.rel_seq) & ((cols["flags"] & RST) == 0)
    last_peer = peer_latest(fl.by_conn, fl.from_server)
    zwp = _window_probes(cols, fl, occ, last_peer)
    occ &= ~zwp
    # running maxima per sender group; the peer's value before a row is the value at the
    # peer's latest row (inclusive running maxima only grow)
    mbe = group_cummax_excl(fl.by_group, np.where(occ, fl.seg_end, NONE))
    own_before = group_cummax_excl(fl.by_group, fl.rel_ack)
    ack_incl = np.maximum(own_before, fl.rel_ack)
    peer_ack_before = _at(ack_incl, last_peer)
    adv = (fl.rel_ack != NONE) & ((own_before == NONE) | (fl.rel_ack > own_before))
    adv_incl = last_value_ffill(fl.by_group, adv, idx)
    last_adv = _at(adv_incl, last_peer)
    peer_end = _at(np.maximum(mbe, np.where(occ, fl.seg_end, NONE)), last_peer)
    outstanding = (peer_end != NONE) & (fl.rel_ack < peer_end)
    left, right, dsack = _sack(cols, fl)
    rtt, other, sack_ok = _handshake_facts(cols, fl, conns, last_peer)
    rows, g, key_row, key_max = _ack_index(fl)
    return RowContext(
        ts=ts, group=fl.group, conn=fl.conn, occ=occ, max_end_before=mbe,
        peer_ack_before=peer_ack_before, last_peer=last_peer,
        last_adv_peer=np.where(last_adv == NONE, -1, last_adv), ack_advances=adv,
        own_ack_before=own_before,
        dup_count=_dup_acks(cols, fl, outstanding), sack_left=left, sack_right=right,
        dsack=dsack, rtt_ref=rtt, zwp=zwp, other_leg=other, sack_ok=sack_ok,
        capture_end=int(ts.max()) if n else 0, ack_rows=rows, ack_group=g,
        ack_key_row=key_row, ack_key_max=key_max)
