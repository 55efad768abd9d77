"""Zeek-compatible ``conn_state`` and ``history`` columns, one row per connection.

Zeek's own rules, ported function by function (the Zeek file and function is named where each
rule is used; docs/zeek.md lists the commits read):

* ``scripts/base/protocols/conn/main.zeek`` conn_state() and the history letter table;
* ``src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc`` Process(), whose per-packet order
  (update_history, update_window, update_last_seq, UpdateStateMachine, AckReceived) fixes the
  order of letters, and the Update*State() endpoint machine;
* ``src/packet_analysis/protocol/tcp/TCP.cc`` WantConnection() (port-based '^' flip) and
  ValidateChecksum() (C/c, packet otherwise ignored);
* ``src/analyzer/protocol/tcp/TCP_Endpoint.{h,cc}`` states, DidRxmit/ZeroWindow/Gap, Size();
* ``src/Conn.{h,cc}`` CheckHistory (once per role), ScaledHistoryEntry (C/G/T/W at the 1st,
  10th, 100th... event), FlipRoles ('^');
* ``src/analyzer/protocol/tcp/TCP_Reassembler.cc`` AckReceived/Undelivered/Gap (G/g).

Only packets that can change an endpoint state or add an update_history() letter run through
the per-connection machine (``zeek_machine``), once per distinct sequence of such packets;
retransmissions, zero windows, gaps and checksum errors are vectorized, connections in chunks
of about ``CHUNK_ROWS`` packets. Approximations (timers and connection reuse are not modelled,
G without reassembly, PR zeek/zeek#2191's late flip) are in docs/zeek.md.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from analyzer.flows.groups import stable_order
from analyzer.flows.zeek_machine import (
    B_ACK,
    B_FIN,
    B_LEN,
    B_RST,
    B_SAME,
    B_SYN,
    CLOSED,
    ESTABLISHED,
    INACTIVE,
    PARTIAL,
    RESET,
    SYN_ACK_SENT,
    SYN_SENT,
    simulate,
)
from analyzer.schema import ACK, FIN, RST, SYN

__all__ = ["LIKELY_SERVER_PORTS", "zeek_columns"]

# TCP ports of Zeek's default likely_server_ports: the Bro 2.6 generated reference list
# (init-bare likely_server_ports, base/protocols/*) plus ports newer base scripts register
# (LDAP 389/3268, MySQL 1434/3306, PostgreSQL 5432, Redis 6379, Finger 79, POP3 110, MQTT 1883).
LIKELY_SERVER_PORTS: frozenset[int] = frozenset({
    21, 22, 25, 53, 79, 80, 81, 88, 110, 135, 139, 143, 389, 443, 445, 502, 563, 585, 587,
    614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389,
    5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
})

# Order of letters within one packet, as TCPSessionAdapter::Process() records them.
SUB_START, SUB_C, SUB_HIST, SUB_W, SUB_T, SUB_FLIP, SUB_G = -1, 0, 2, 3, 4, 5, 6
TOO_LARGE_SEQ_DELTA = 1048576            # TCPSessionAdapter.cc
NEG = -(1 << 40)                         # "minus infinity" for relative sequence numbers
FAR = 1 << 62                            # "plus infinity" for them
SCALE = np.array([10**k for k in range(10)], dtype=np.int64)   # ScaledHistoryEntry thresholds
CHUNK_ROWS = 1 << 18                     # packets per chunk of connections (zeek_columns)
RSTOS0_RE = re.compile(r"\^?S[^HAFGIQ]*R.*")                   # main.zeek conn_state()


# --------------------------------------------------------------------- vectorized helpers
# Row indices are int32 (half the memory of int64) unless the table is too long for them;
# per-row states are int8. Arrays are per row of the table sorted by connection.
def _index_dtype(n: int) -> type[np.signedinteger]:
    return np.int32 if n < 1 << 30 else np.int64


def _runs(keys: np.ndarray) -> np.ndarray:
    """True where a run of equal keys starts."""
    first = np.ones(len(keys), dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return first


def _seg_cummax(vals: np.ndarray, seg: np.ndarray, *, dense: bool = False) -> np.ndarray:
    """Running max restarting at each new ``seg`` value (seg nondecreasing, |vals| < 2**40).

    ``dense``: ``seg`` already numbers the runs 0, 1, 2, ...
    """
    segid = seg if dense else np.cumsum(_runs(seg), dtype=np.int64) - 1
    if len(segid) and int(segid[-1]) >= (1 << 20) - 1:            # offsets would overflow
        return pd.Series(vals).groupby(segid).cummax().to_numpy()
    off = segid.astype(np.int64)
    off <<= 42
    out = vals + off
    np.maximum.accumulate(out, out=out)
    out -= off
    return out


def _shift_in_seg(vals: np.ndarray, first: np.ndarray, fill: int) -> np.ndarray:
    """The previous value in the same run (``first`` marks run starts), else ``fill``."""
    out = np.empty_like(vals)
    out[1:] = vals[:-1]
    out[first] = fill
    return out


def _ffill_index(mask: np.ndarray, row_start: np.ndarray) -> np.ndarray:
    """Index of the last row <= i in the same connection where mask holds, else -1."""
    idx = np.where(mask, np.arange(len(mask), dtype=row_start.dtype), row_start.dtype.type(-1))
    np.maximum.accumulate(idx, out=idx)
    idx[idx < row_start] = -1
    return idx


def _scaled(rows: np.ndarray, ep: np.ndarray, cidx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Connection::ScaledHistoryEntry: the events that reach count 1, 10, 100, ... per endpoint."""
    key = cidx[rows] * np.int64(2) + ep
    order = stable_order(key)
    k = key[order]
    pos = np.arange(len(k))
    count = pos - np.maximum.accumulate(np.where(_runs(k), pos, 0)) + 1
    keep = order[np.isin(count, SCALE)]
    return rows[keep], ep[keep]


# ------------------------------------------------------------------------- the packet table
class _Table:
    """The input sorted by connection (capture order inside), with per-row derived arrays."""

    def __init__(self, pk: pd.DataFrame, ignore_checksums: bool, ports: frozenset[int],
                 order: np.ndarray) -> None:
        self.n = n = len(order)
        ix = _index_dtype(n)

        def col(name: str) -> np.ndarray:
            return pk[name].to_numpy()[order]

        conn = col("conn_id")
        first = _runs(conn)
        self.cstart = np.flatnonzero(first)
        self.conn_ids = conn[self.cstart].astype(np.int64)
        del conn
        self.cidx = np.cumsum(first, dtype=ix)
        self.cidx -= 1
        del first
        self.row_start = self.cstart.astype(ix)[self.cidx]
        src, sport, dport = col("src"), col("sport"), col("dport")
        self.dir = ((src != src[self.row_start]) | (sport != sport[self.row_start])).view(np.int8)
        first_flags = pk["flags"].to_numpy()[order[self.cstart]].astype(np.int64)
        self.port_flip = self._port_flip(first_flags, sport[self.cstart].astype(np.int64),
                                         dport[self.cstart].astype(np.int64), ports)
        del src, sport, dport
        fl = col("flags")
        self.syn, self.ack = (fl & SYN) != 0, (fl & ACK) != 0
        self.fin, self.rst = (fl & FIN) != 0, (fl & RST) != 0
        del fl
        self.plen = col("payload_len")
        self.zero_win = col("window") == 0
        self.seq = col("seq").astype(np.uint32, copy=False)
        self.ackn = col("ack").astype(np.uint32, copy=False)
        self.bad = (col("csum_ok") == 0) & (not ignore_checksums)
        self.good = ~self.bad
        flag3 = self.syn | self.fin | self.rst
        self.ctrl = self.good & flag3
        self.bits0 = self.good & ~flag3
        del flag3
        self.gkey = self.cidx * ix(2) + self.dir
        g = np.flatnonzero(self.good)
        self.dorder = g[stable_order(self.gkey[g])]   # good rows by (conn, dir)
        del g
        self.u = self._unwrap()
        # seq_one_past_segment (get_segment_len: RST payload is not sequence space)
        self.ulen = self.u + np.where(self.rst, 0, self.plen)
        self.ulen += self.syn
        self.ulen += self.fin

    @staticmethod
    def _port_flip(fl: np.ndarray, sp: np.ndarray, dp: np.ndarray,
                   ports: frozenset[int]) -> np.ndarray:
        """TCP.cc TCPAnalyzer::WantConnection(): flip roles of a connection not begun by a SYN."""
        syn = (fl & SYN) != 0
        partial = ~syn | ((fl & ACK) != 0)
        lut = np.zeros(65536, dtype=bool)
        lut[list(ports)] = True
        both = lut[sp] & lut[dp]
        return partial & lut[sp] & (~lut[dp] | (both & ~syn & (sp < dp)))

    def _unwrap(self) -> np.ndarray:
        """Per (conn, direction): seq unwrapped to 64 bits, relative to the first good seq."""
        d = self.dorder
        s = self.seq[d]
        first = _runs(self.gkey[d])
        step = np.zeros(len(d), dtype=np.int64)
        step[1:] = (s[1:] - s[:-1]).view(np.int32)      # uint32 difference, signed
        step[first] = 0
        cs = np.cumsum(step, out=step)
        fpos = np.flatnonzero(first)
        u = np.zeros(self.n, dtype=np.int64)
        u[d] = cs - np.repeat(cs[fpos], np.diff(np.append(fpos, len(d))))
        self.base = np.zeros(2 * len(self.cstart), dtype=np.int64)  # raw first seq per group
        self.base[self.gkey[d[fpos]]] = s[fpos]
        return u


# ------------------------------------------------------------- state-relevant packets
def _event_rows(t: _Table) -> np.ndarray:
    """Rows that can change an endpoint state or add a letter in update_history().

    Control packets (SYN/FIN/RST), and per (connection, sender, stretch between control
    packets) the first packet, the first data packet and the first pure ACK: between control
    packets only an INACTIVE endpoint changes state, and only on its first such packet.
    """
    # Control packets before each row (whole table): within one (conn, sender) group it
    # changes exactly where the stretch between control packets changes.
    before = np.cumsum(t.ctrl, dtype=t.cidx.dtype)
    before -= t.ctrl
    ev = t.ctrl.copy()
    d = t.dorder
    for m in (None, t.bits0 & (t.plen > 0), t.bits0 & (t.plen == 0) & t.ack):
        dm = d if m is None else d[m[d]]
        first = _runs(t.gkey[dm])
        first[1:] |= before[dm[1:]] != before[dm[:-1]]
        ev[dm[first]] = True
    return ev


def _same_bits(t: _Table, er: np.ndarray) -> np.ndarray:
    """Per event row: a single-flag SYN/FIN/RST with the same seq (seq+len for FIN) as the
    sender's previous one of that kind."""
    same = np.zeros(t.n, dtype=bool)
    dc = t.dorder[t.ctrl[t.dorder]]
    single = (t.syn[dc].view(np.int8) + t.fin[dc] + t.rst[dc]) == 1
    for kind in (t.syn, t.fin, t.rst):
        dm = dc[single & kind[dc]]
        v = t.seq[dm].astype(np.int64)
        if kind is t.fin:
            v = (v + t.plen[dm]) & 0xFFFFFFFF
        k = t.gkey[dm]
        same[dm[1:]] = (v[1:] == v[:-1]) & (k[1:] == k[:-1])
    return same[er]


class _Machines:
    """Runs the machine once per distinct event signature and maps the results to rows."""

    def __init__(self, t: _Table, memo: dict[bytes, Any]) -> None:
        self.ev = _event_rows(t)
        er = np.flatnonzero(self.ev)
        code = t.dir[er].view(np.uint8).copy()
        for arr, bit in ((t.syn, B_SYN), (t.ack, B_ACK), (t.fin, B_FIN), (t.rst, B_RST)):
            code |= arr[er].view(np.uint8) * np.uint8(bit)
        code |= (t.plen[er] > 0).view(np.uint8) * np.uint8(B_LEN)
        code |= _same_bits(t, er).view(np.uint8) * np.uint8(B_SAME)
        nconn = len(t.cstart)
        ec = t.cidx[er]
        counts = np.bincount(ec, minlength=nconn)
        evoff = np.cumsum(counts) - counts
        within = np.arange(len(er)) - evoff[ec]
        starts = evoff + np.arange(nconn)
        buf = np.empty(len(er) + nconn, dtype=np.uint8)
        buf[starts] = t.port_flip
        buf[starts[ec] + 1 + within] = code
        raw = buf.tobytes()
        keys = [raw[a:a + c + 1] for a, c in zip(starts.tolist(), counts.tolist(), strict=True)]
        sig, uniq = pd.factorize(pd.Series(keys, dtype=object))
        runs = [memo[k] if k in memo else memo.setdefault(k, simulate(k)) for k in uniq]
        sizes = np.array([len(r[0]) for r in runs], dtype=np.int64)
        sigoff = np.cumsum(sizes) - sizes
        # A trailing zero row keeps index -1 (masked everywhere) valid when there are no events.
        self.out = np.concatenate([r[0] for r in runs] + [np.zeros((1, 9), dtype=np.int64)])
        self.out8 = self.out[:, :6].astype(np.int8)      # st0 st1 pv0 pv1 orig_pre orig_post
        # omap[row]: the row of ``out`` of an event row, -1 otherwise; omap[-1] is -1 too.
        self.omap = np.full(t.n + 1, -1, dtype=t.cidx.dtype)
        self.omap[er] = sigoff[sig[ec]] + within
        retro = np.array([r[1] for r in runs], dtype=np.int64)[sig]
        at = np.append(er, -1)[np.minimum(evoff + retro, len(er))]
        self.retro_row = np.where(retro >= 0, at, -1)
        self.partial = np.array([r[2] for r in runs], dtype=bool)[sig]
        self.er = er
        self.reinit = np.zeros(t.n, dtype=bool)
        self.reinit[er] = self.out[self.omap[er], 6] == 1


class _States:
    """Per row: both endpoints' states before and after it, and who is the originator.

    ``ia``/``ib`` index ``m.out`` with the last event row at or before / strictly before the
    row (-1, the trailing zero row, INACTIVE, where there is none).
    """

    def __init__(self, t: _Table, m: _Machines) -> None:
        self.t, self.m = t, m
        li = _ffill_index(m.ev, t.row_start)
        self.has_ev = li >= 0
        self.ia = m.omap[li]
        li[1:] = li[:-1]
        if len(li):
            li[0] = -1
        li[li < t.row_start] = -1
        self.ib = m.omap[li]
        del li
        last = t.cstart + np.bincount(t.cidx, minlength=len(t.cstart)) - 1
        self.final = [m.out8[self.ia[last], x].astype(np.int64) for x in range(4)]
        self.final_orig = self.orig(last)

    def after(self, x: int | np.ndarray, rows: np.ndarray) -> np.ndarray:
        """State (x = 0, 1) or previous state (x = 2, 3) of an endpoint after ``rows``."""
        return self.m.out8[self.ia[rows], x]

    def before(self, x: int | np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """State of endpoint ``x`` before ``rows``."""
        return self.m.out8[self.ib[rows], x]

    def orig(self, rows: np.ndarray) -> np.ndarray:
        """Zeek's originator after ``rows``."""
        init = self.t.port_flip[self.t.cidx[rows]].astype(np.int8)
        return np.where(self.has_ev[rows], self.m.out8[self.ia[rows], 5], init)

    def orig_pre(self, rows: np.ndarray) -> np.ndarray:
        """Zeek's originator before an event row (its ``orig`` elsewhere)."""
        m = self.m
        return np.where(m.ev[rows], m.out8[m.omap[rows], 4], self.orig(rows))

    def clean(self, x: np.ndarray | int, rows: np.ndarray) -> np.ndarray:
        """TCP_Reassembler.cc is_clean(): established, or closed from established."""
        st, pv = self.after(x, rows), self.after(x + 2, rows)
        return (st == ESTABLISHED) | ((st == CLOSED) & (pv == ESTABLISHED))


# --------------------------------------------------------------- counted (scaled) letters
class _Seq:
    """update_last_seq() per sender (TCPSessionAdapter.cc): retransmissions and last_seq."""

    def __init__(self, t: _Table, m: _Machines, s: _States) -> None:
        d = t.dorder
        g = t.gkey[d]
        u, big_u, syn = t.u[d], t.ulen[d], t.syn[d]
        brk = _runs(g)
        brk |= m.reinit[d]                                # init_endpoint() restarts last_seq
        segid = np.cumsum(brk, dtype=t.cidx.dtype)
        segid -= 1
        rpos = np.flatnonzero(brk)
        syn_r, u_r = syn[rpos], u[rpos]
        l0 = np.where(syn_r, big_u[rpos], u_r)[segid]
        start = np.where(syn_r, u_r, u_r - 1)[segid]
        del syn_r, u_r, rpos
        resetb = s.before(t.dir[d], d) == RESET          # don't trust seq after a RST
        w = big_u.copy()
        w[resetb] = NEG
        cmax = _seg_cummax(w, segid, dense=True)
        last = self._last_before(cmax, brk, l0)
        cand = np.flatnonzero(syn | t.rst[d])
        huge = np.zeros(len(d), dtype=bool)
        huge[cand[np.abs(big_u[cand] - last[cand]) > TOO_LARGE_SEQ_DELTA]] = True
        if huge.any():
            w[huge] = NEG
            cmax = _seg_cummax(w, segid, dense=True)
            last = self._last_before(cmax, brk, l0)
        del w, segid, brk, cand
        fin_first = t.fin[d] & (last == start + 1)
        rxmit = (t.plen[d] > 0) & (big_u <= last) & ~huge & ~resetb & ~fin_first
        self.rows = d[rxmit]                             # TCP_Endpoint::DidRxmit
        del last, huge, resetb, fin_first, rxmit
        self.start = np.zeros(t.n, dtype=np.int64)
        self.start[d] = start
        ends = np.flatnonzero(np.append(g[1:] != g[:-1], True))[: len(g)]
        self.last_g = np.full(2 * len(t.cstart), NEG, dtype=np.int64)
        self.start_g = np.zeros(2 * len(t.cstart), dtype=np.int64)
        self.last_g[g[ends]] = np.maximum(l0[ends], cmax[ends])
        self.start_g[g[ends]] = start[ends]

    @staticmethod
    def _last_before(cmax: np.ndarray, first: np.ndarray, l0: np.ndarray) -> np.ndarray:
        last = _shift_in_seg(cmax, first, NEG)
        return np.maximum(l0, last, out=last)


class _Acks:
    """One direction's ACK-bearing rows, their acks unwrapped into the peer's (S) sequence space.

    TCPSessionAdapter::Process: rel_ack against the peer; TCP_Reassembler::AckReceived:
    the FIN octet is not data, acks at or below trim_seq do nothing.
    """

    def __init__(self, t: _Table, m: _Machines, s: _States, q: _Seq, d: int) -> None:
        is_s = t.good & (t.dir == d)
        ref = _ffill_index(is_s, t.row_start)
        i_re = _ffill_index(is_s & m.reinit, t.row_start)
        cand = t.good & (t.dir != d) & t.ack
        cand &= ref >= 0
        cand &= i_re >= 0
        rows = np.flatnonzero(cand)
        del cand
        r_ref, start = t.u[ref[rows]], q.start[i_re[rows]]
        del ref, i_re
        x = (t.ackn[rows].astype(np.int64) - t.base[t.cidx[rows] * np.int64(2) + d]) & 0xFFFFFFFF
        ack_u = r_ref + ((x - r_ref) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
        ok = (ack_u >= start) & (s.before(d, rows) != INACTIVE)   # else rel_ack is 0 or 1
        self.rows, self.ack_u, self.start = rows[ok], ack_u[ok], start[ok]
        i_fin = _ffill_index(is_s & t.fin, t.row_start)[self.rows]
        fin_u = np.where(i_fin >= 0, t.ulen[np.maximum(i_fin, 0)], FAR)
        self.adj = np.where(self.ack_u >= fin_u, fin_u - 1, self.ack_u)
        self.c = t.cidx[self.rows]
        self.first = _runs(self.c)
        self.runmax = _seg_cummax(self.adj, self.c)
        self.clean = s.clean(d, self.rows) & s.clean(1 - d, self.rows)


class _Data:
    """One direction's data rows (S's segments beyond its initial seq) and their running end."""

    def __init__(self, t: _Table, q: _Seq, d: int) -> None:
        data = t.good & (t.dir == d) & (t.plen > 0) & ~t.rst
        ds = np.flatnonzero(data)
        del data
        ds = ds[t.u[ds] >= q.start[ds]]
        self.rows, self.c = ds, t.cidx[ds]
        self.lo = t.u[ds] + t.syn[ds]
        self.first = _runs(self.c)
        self.hwm = _seg_cummax(self.lo + t.plen[ds], self.c)   # highest end so far, inclusive

    def hwm_before(self, t: _Table, rows: np.ndarray) -> np.ndarray:
        """Per row (not of S): the highest data end S sent before it in its connection."""
        if not len(self.rows):
            return np.full(len(rows), NEG, dtype=np.int64)
        j = np.searchsorted(self.rows, rows) - 1
        jj = np.maximum(j, 0)
        return np.where((j >= 0) & (self.c[jj] == t.cidx[rows]), self.hwm[jj], NEG)


def _holes(t: _Table, q: _Seq, a: _Acks, dt: _Data) -> np.ndarray:
    """Acks that pass a hole below data already seen from S (lost segment not resent first).

    A hole starts where a data segment begins above every byte seen before it; it is filled
    by a later segment starting exactly at the hole, unless an ack passes the hole first.
    """
    ds, c, lo = dt.rows, dt.c, dt.lo
    prev = _shift_in_seg(dt.hwm, dt.first, NEG)
    hole_at = np.maximum(prev, q.start[ds] + 1)
    jump = lo > hole_at
    holes = pd.DataFrame({"row": ds[jump], "c": c[jump], "at": hole_at[jump]})
    if holes.empty or not len(a.rows):
        return np.zeros(0, dtype=np.int64)
    segs = pd.DataFrame({"fill": ds, "c": c, "at": lo})
    fill = pd.merge_asof(holes, segs, left_on="row", right_on="fill", by=["c", "at"],
                         direction="forward", allow_exact_matches=False)["fill"].to_numpy()
    hc, at = holes["c"].to_numpy(), holes["at"].to_numpy()
    # First ack of the hole's connection whose running max passes the hole: merge the
    # holes into the (conn, running max) order; acks equal to the hole start sort first.
    typ = np.r_[np.zeros(len(a.c), dtype=np.int64), np.ones(len(hc), dtype=np.int64)]
    order = np.lexsort((typ, np.r_[a.runmax, at], np.r_[a.c, hc]))
    acks_before = np.cumsum(typ[order] == 0)
    first_pass = np.empty(len(hc), dtype=np.int64)
    first_pass[order[typ[order] == 1] - len(a.c)] = acks_before[typ[order] == 1]
    after = np.searchsorted(a.rows, holes["row"].to_numpy(), side="right")
    k = np.minimum(first_pass, len(a.rows) - 1)
    ok = (first_pass < len(a.rows)) & (a.c[k] == hc) & (first_pass >= after)
    ok &= ~(fill <= a.rows[k]) & a.clean[k]            # NaN fill: never resent
    return a.rows[k[ok]]


def _gaps(t: _Table, m: _Machines, s: _States, q: _Seq) -> tuple[np.ndarray, ...]:
    """TCP_Reassembler::AckReceived/Undelivered -> TCP_Endpoint::Gap, approximated.

    Returns the acking rows that reveal a gap, the gapped endpoint, and per (conn, endpoint)
    the highest non-RST ack received (for Size()).
    """
    rows_out, ep_out = [], []
    ack_max = np.full(2 * len(t.cstart), NEG, dtype=np.int64)
    for d in (0, 1):
        a = _Acks(t, m, s, q, d)
        dt = _Data(t, q, d)
        prev = _shift_in_seg(a.runmax, a.first, NEG)
        top = a.adj > np.maximum(np.maximum(dt.hwm_before(t, a.rows), prev), a.start + 1)
        top &= a.clean & ~(m.partial[a.c] & (a.adj - a.start <= 2))   # Undelivered()
        for rows in (a.rows[top], _holes(t, q, a, dt)):
            rows_out.append(rows)
            ep_out.append(np.full(len(rows), d, dtype=np.int64))
        nr = ~t.rst[a.rows]
        c, v = a.c[nr], a.ack_u[nr]
        if len(c):
            at = np.flatnonzero(_runs(c))
            g = c[at] * np.int64(2) + d
            ack_max[g] = np.maximum(ack_max[g], np.maximum.reduceat(v, at))
    order = stable_order(np.concatenate(rows_out))
    return np.concatenate(rows_out)[order], np.concatenate(ep_out)[order], ack_max


# ------------------------------------------------------------------------ history strings
class _Letters:
    """Letters with their packet and position inside the packet, assembled per connection."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, rows: np.ndarray, sub: int, ep: np.ndarray, char: np.ndarray | int) -> None:
        n = len(rows)
        self.parts.append((rows, np.full(n, sub), ep, np.broadcast_to(char, (n,))))

    def add_scaled(self, t: _Table, rows: np.ndarray, ep: np.ndarray, sub: int,
                   char: str) -> None:
        r, e = _scaled(rows, ep, t.cidx)
        self.add(r, sub, e, ord(char))

    def assemble(self, t: _Table, s: _States, m: _Machines) -> list[str]:
        rows, sub, ep, char = (np.concatenate([p[i] for p in self.parts]).astype(np.int64)
                               for i in range(4))
        order = np.lexsort((sub, rows))
        rows, sub, ep, char = rows[order], sub[order], ep[order], char[order]
        orig = np.where(sub < SUB_FLIP, s.orig_pre(rows), s.orig(rows))
        rr = m.retro_row[t.cidx[rows]]                   # #2191: rewritten as if flipped first
        orig = np.where((rr >= 0) & (rows < rr), s.orig_pre(np.maximum(rr, 0)), orig)
        out = np.where(ep < 0, ord("^"), np.where(ep == orig, char, char + 32))
        text = out.astype(np.uint8).tobytes().decode("ascii")
        counts = np.bincount(t.cidx[rows], minlength=len(t.cstart))
        ends = np.cumsum(counts)
        return [text[a:b] for a, b in zip((ends - counts).tolist(), ends.tolist(), strict=True)]


def _zero_windows(t: _Table, s: _States) -> np.ndarray:
    """update_window(): zero window, not on/after a RST, not after the peer's FIN."""
    rows = np.flatnonzero(t.good & t.zero_win & ~t.rst)
    own, peer = s.before(t.dir[rows], rows), s.before(1 - t.dir[rows], rows)
    return rows[(peer != CLOSED) & (own != RESET)]


def _history(t: _Table, m: _Machines, s: _States, q: _Seq,
             gaps: tuple[np.ndarray, np.ndarray]) -> list[str]:
    lt = _Letters()
    starts = t.cstart[t.port_flip | (m.retro_row >= 0)]
    lt.add(starts, SUB_START, np.full(len(starts), -1), 0)
    er = m.er
    letter = m.out[m.omap[er], 7]
    lt.add(er[letter > 0], SUB_HIST, t.dir[er[letter > 0]], letter[letter > 0])
    flips = er[m.out[m.omap[er], 8] == 1]
    lt.add(flips, SUB_FLIP, np.full(len(flips), -1), 0)
    bad = np.flatnonzero(t.bad)
    lt.add_scaled(t, bad, t.dir[bad], SUB_C, "C")        # TCP_Endpoint::ChecksumError
    w = _zero_windows(t, s)
    lt.add_scaled(t, w, t.dir[w], SUB_W, "W")            # TCP_Endpoint::ZeroWindow
    lt.add_scaled(t, q.rows, t.dir[q.rows], SUB_T, "T")  # TCP_Endpoint::DidRxmit
    lt.add_scaled(t, gaps[0], gaps[1], SUB_G, "G")       # TCP_Endpoint::Gap
    return lt.assemble(t, s, m)


# ----------------------------------------------------------------------------- conn_state
def _conn_state(t: _Table, s: _States, q: _Seq, ack_max: np.ndarray,
                hist: list[str]) -> np.ndarray:
    """scripts/base/protocols/conn/main.zeek conn_state() on the final endpoint states."""
    o = s.final_orig
    st0, st1 = s.final[0], s.final[1]
    os_, rs = np.where(o == 0, st0, st1), np.where(o == 0, st1, st0)
    g = np.arange(len(t.cstart)) * 2
    fins = np.bincount(t.gkey[t.good & t.fin], minlength=len(g) * 2) > 0
    span = np.maximum(q.last_g, ack_max) - q.start_g       # TCP_Endpoint::Size()
    has_size = (q.last_g > NEG) & (span > 1 + fins)
    size_o, size_r = np.where(o == 0, has_size[g], has_size[g + 1]), \
        np.where(o == 0, has_size[g + 1], has_size[g])
    o_in, r_in = np.isin(os_, (INACTIVE, PARTIAL)), np.isin(rs, (INACTIVE, PARTIAL))
    rstos0 = np.zeros(len(hist), dtype=bool)             # only asked where it can matter
    for i in np.flatnonzero((os_ == RESET) & r_in).tolist():
        rstos0[i] = bool(RSTOS0_RE.fullmatch(hist[i]))
    conds = [
        (rs == RESET) & (np.isin(os_, (SYN_SENT, SYN_ACK_SENT))
                         | ((os_ == RESET) & ~size_o & ~size_r)),
        (rs == RESET) & o_in, rs == RESET,
        (os_ == RESET) & r_in & rstos0, (os_ == RESET) & r_in, os_ == RESET,
        (rs == CLOSED) & (os_ == CLOSED), (os_ == CLOSED) & r_in, os_ == CLOSED,
        (rs == CLOSED) & o_in, rs == CLOSED,
        (os_ == SYN_SENT) & (rs == INACTIVE), (os_ == ESTABLISHED) & (rs == ESTABLISHED),
    ]
    names = ["REJ", "RSTRH", "RSTR", "RSTOS0", "OTH", "RSTO", "SF", "SH", "S2", "SHR", "S3",
             "S0", "S1"]
    return np.select(conds, names, default="OTH")


def _chunks(conn_sorted: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Row ranges of about ``size`` rows that never split a connection."""
    n = len(conn_sorted)
    cstart = np.flatnonzero(_runs(conn_sorted))
    at = np.searchsorted(cstart, np.arange(0, n, size))  # first connection starting there
    cuts = np.unique(cstart[at[at < len(cstart)]])
    ends = np.append(cuts[1:], n)
    return list(zip(cuts.tolist(), ends.tolist(), strict=True))


def _zeek_part(pk: pd.DataFrame, order: np.ndarray, ignore_checksums: bool,
               ports: frozenset[int], memo: dict[bytes, Any]) -> tuple[Any, ...]:
    """conn ids, conn_state, history and orig-is-first-sender of the connections in ``order``."""
    t = _Table(pk, ignore_checksums, ports, order)
    m = _Machines(t, memo)
    s = _States(t, m)
    q = _Seq(t, m, s)
    g_rows, g_ep, ack_max = _gaps(t, m, s, q)
    hist = _history(t, m, s, q, (g_rows, g_ep))
    state = _conn_state(t, s, q, ack_max, hist)
    return t.conn_ids, state, hist, s.final_orig == 0


def zeek_columns(pk: pd.DataFrame, *, ignore_checksums: bool = False,
                 likely_server_ports: frozenset[int] = LIKELY_SERVER_PORTS,
                 order: np.ndarray | None = None) -> pd.DataFrame:
    """Zeek's ``conn_state``, ``history`` and whether Zeek's originator sent the first packet.

    ``pk``: packets in capture order with conn_id, src, dst, sport, dport, seq, ack, flags,
    payload_len, window, csum_ok (1 good, 0 bad, -1 unknown) and ts_ns. Returns one row per
    conn_id. ``ignore_checksums`` mirrors ``zeek -C``. ``order``, if given, is a permutation
    that already groups the rows by connection in capture order (saves a sort).

    Connections are independent, so they are worked on in chunks of about ``CHUNK_ROWS``
    packets: memory stays bounded by the chunk, not the capture.
    """
    cols = ["conn_state", "history", "zeek_orig_is_first_sender"]
    if len(pk) == 0:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="conn_id", dtype=np.int64))
    if order is None:
        order = stable_order(pk["conn_id"].to_numpy(np.int64))
    memo: dict[bytes, Any] = {}
    parts = [_zeek_part(pk, order[a:b], ignore_checksums, likely_server_ports, memo)
             for a, b in _chunks(pk["conn_id"].to_numpy()[order], CHUNK_ROWS)]
    ids, state, first = (np.concatenate([p[i] for p in parts]) for i in (0, 1, 3))
    return pd.DataFrame({"conn_state": state, "history": [h for p in parts for h in p[2]],
                         "zeek_orig_is_first_sender": first},
                        index=pd.Index(ids, name="conn_id"))
