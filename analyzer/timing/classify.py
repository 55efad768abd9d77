"""Why each retransmission was sent: its kind and the evidence for it.

Kinds (``KINDS``), tested in this order:

* ``duplicate`` — the capture holds the same segment twice (``duplicates``): not a send.
* ``spurious`` — the original had arrived: the peer's ACK or SACK for it was seen at the
  capture point shortly before (less than an ACK-clock delay, so it was still on its way to
  the sender), a D-SACK reports the copy (RFC 2883), or the ACK covering the copy echoes an
  older timestamp than the copy's (Eifel detection, RFC 3522 / RFC 7323 §4).
  An ACK seen *long* before the copy evidently never reached the sender (lost after the
  capture point): the copy is then not spurious, and ``ack_lost`` says so.
* ``reply`` — a SYN-ACK sent again in answer to the peer's repeated SYN.
* ``fast`` — right after ≥ 3 duplicate ACKs or a SACK block above the segment
  (RFC 5681 §3.2, RFC 6675, RFC 8985), or ACK-clocked while such a recovery goes on.
* ``tlp`` — a tail-loss probe (RFC 8985 §7): the highest segment sent, re-sent once, about
  2·SRTT after it, well before any RTO could fire, on a SACK connection.
* ``rto`` — everything else: the retransmission timer expired (``timer`` True), or the
  go-back-N resends ACK-clocked after an RTO (``timer`` False).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyzer.flows import Flows
from analyzer.flows.groups import NONE
from analyzer.schema import ACK, SYN
from analyzer.timing.context import RowContext
from analyzer.timing.rtt import RttEstimates

__all__ = ["KINDS", "Triggers", "ack_clock", "classify", "replies"]

KINDS = ("rto", "fast", "tlp", "spurious", "reply", "duplicate")
TRIGGERS = ("timeout", "dupacks", "sack", "ack", "probe", "peer_syn", "capture")
TLP_GUARD_S = 0.2   # the smallest RTO of any profile's established connection (Linux)


@dataclass(slots=True)
class Triggers:
    kind: np.ndarray        # object: one of KINDS
    trigger: np.ndarray     # object: one of TRIGGERS
    timer: np.ndarray       # bool: fired by the retransmission timer (rto, or a spurious one)
    spurious_by: np.ndarray  # object: "", "ack", "sack", "dsack", "timestamps"
    ack_lost: np.ndarray    # bool: the peer's ACK of the original was seen well before


def ack_clock(ctx: RowContext, rtt: RttEstimates, n_conn: int) -> np.ndarray:
    """Per connection: the longest delay (s) between an ACK seen at the capture point and a
    segment it clocked out, seen at the same point (about one RTT there and back)."""
    ref = ctx.rtt_ref.copy()
    med = rtt.median_rtt(2 * n_conn).reshape(-1, 2)
    with np.errstate(all="ignore"):
        fallback = np.nanmax(np.where(np.isnan(med), -1.0, med), axis=1)
    ref = np.where(np.isnan(ref), np.where(fallback > 0, fallback, 0.01), ref)
    return 1.25 * ref + 0.005


def replies(cols: dict[str, np.ndarray], ctx: RowContext, rows: np.ndarray,
            clock: np.ndarray) -> np.ndarray:
    """SYN-ACKs that answer the peer's repeated SYN (sent within an ACK clock of it)."""
    flags = cols["flags"]
    synack = (flags[rows] & (SYN | ACK)) == (SYN | ACK)
    lp = ctx.last_peer[rows]
    ok = synack & (lp >= 0)
    ok[ok] &= (flags[lp[ok]] & (SYN | ACK)) == SYN
    ok[ok] &= (ctx.ts[rows[ok]] - ctx.ts[lp[ok]]) / 1e9 <= clock[ctx.conn[rows[ok]]]
    # One SYN gets one answer. When two SYN-ACKs follow the same SYN, the server's own timer
    # fired in the same tick (it then re-armed, and the SYN re-armed it again): the first is
    # the timer's, the last the answer (Linux tcp_check_req: inet_rtx_syn_ack, then
    # mod_timer_pending(now + reqsk_timeout)).
    cand = np.flatnonzero(ok)[::-1]
    _, last = np.unique(lp[cand], return_index=True)
    ok[:] = False
    ok[cand[last]] = True
    return ok


def _within(ctx: RowContext, rows: np.ndarray, other: np.ndarray, limit: np.ndarray,
            ) -> np.ndarray:
    ok = other >= 0
    out = np.zeros(len(rows), dtype=bool)
    out[ok] = (ctx.ts[rows[ok]] - ctx.ts[other[ok]]) / 1e9 <= limit[ok]
    return out


def _spurious(cols: dict[str, np.ndarray], ctx: RowContext, fl: Flows, rows: np.ndarray,
              original: np.ndarray, lim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: spurious evidence ("" if none) and whether the ACK was lost after capture."""
    end, start = fl.seg_end[rows], fl.rel_seq[rows]
    acker = ctx.group[rows] ^ 1
    by = np.full(len(rows), "", dtype=object)
    acked = (ctx.peer_ack_before[rows] != NONE) & (ctx.peer_ack_before[rows] >= end)
    first_ack = ctx.first_cover_after(acker, end, np.where(original >= 0, original, rows - 1))
    recent = _within(ctx, rows, np.where(first_ack < rows, first_ack, -1), lim)
    lp = ctx.last_peer[rows]
    sacked = (lp >= 0) & (ctx.sack_left[np.maximum(lp, 0)] != NONE)
    sacked &= (ctx.sack_left[np.maximum(lp, 0)] <= start) & (ctx.sack_right[np.maximum(lp, 0)]
                                                            >= end)
    sacked &= _within(ctx, rows, lp, lim)
    by[sacked] = "sack"
    by[acked & recent] = "ack"
    ack_lost = acked & ~recent
    cover = ctx.first_cover_after(acker, end, rows)
    tsv, ecr = cols["opt_ts_val"], cols["opt_ts_ecr"]
    has = (cover >= 0) & (tsv[rows] >= 0)
    has[has] &= ecr[cover[has]] >= 0
    older = np.zeros(len(rows), dtype=bool)
    diff = (ecr[cover[has]] - tsv[rows[has]] + (1 << 31)) % (1 << 32) - (1 << 31)
    older[has] = diff < 0
    by[older & (by == "") & ~ack_lost] = "timestamps"
    by[_dsacked(ctx, fl, rows)] = "dsack"
    return by, ack_lost & (by == "")


def _dsacked(ctx: RowContext, fl: Flows, rows: np.ndarray) -> np.ndarray:
    """Rows reported by a later D-SACK (the latest copy before the D-SACK gets the blame)."""
    out = np.zeros(len(rows), dtype=bool)
    d = np.flatnonzero(ctx.dsack)
    if len(d) == 0 or len(rows) == 0:
        return out
    left = pd.DataFrame({"g": ctx.group[d] ^ 1, "d": d, "lo": ctx.sack_left[d],
                         "hi": ctx.sack_right[d]})
    right = pd.DataFrame({"g": ctx.group[rows], "i": np.arange(len(rows)), "r": rows,
                          "s": fl.rel_seq[rows], "e": fl.seg_end[rows]})
    m = left.merge(right, on="g")
    m = m[(m["r"] < m["d"]) & (m["s"] < m["hi"]) & (m["e"] > m["lo"])]
    if len(m):
        out[m.sort_values("r").groupby("d")["i"].last().to_numpy()] = True
    return out


def _fast_evidence(ctx: RowContext, fl: Flows, rows: np.ndarray, lim: np.ndarray,
                   ) -> tuple[np.ndarray, np.ndarray]:
    lp = ctx.last_peer[rows]
    near = _within(ctx, rows, lp, lim)
    lps = np.maximum(lp, 0)
    dup = near & (ctx.dup_count[lps] >= 3)
    sack = near & (ctx.sack_left[lps] != NONE) & (ctx.sack_left[lps] > fl.rel_seq[rows])
    return dup, sack & ~dup


def classify(cols: dict[str, np.ndarray], ctx: RowContext, fl: Flows, rtt: RttEstimates,
             rows: np.ndarray, original: np.ndarray, dup: np.ndarray, reply: np.ndarray,
             first_resend: np.ndarray, tail: np.ndarray, clock: np.ndarray,
             gap: np.ndarray) -> Triggers:
    """Kinds of the retransmitted ``rows`` (capture order); ``gap`` = s since previous send."""
    conn = ctx.conn[rows]
    lim = clock[conn]
    trigger = np.full(len(rows), "timeout", dtype=object)
    dupacks, sack = _fast_evidence(ctx, fl, rows, lim)
    trigger[sack] = "sack"
    trigger[dupacks] = "dupacks"
    clocked = _within(ctx, rows, ctx.last_adv_peer[rows], lim) & (trigger == "timeout")
    trigger[clocked] = "ack"
    srtt, var = rtt.at(ctx.group[rows], rows)
    srtt = np.where(np.isnan(srtt), lim / 1.25, srtt)
    var = np.nan_to_num(var, nan=0.0)
    bound = np.minimum(3 * srtt + 0.025, 0.9 * (srtt + np.maximum(4 * var, TLP_GUARD_S)))
    data = (cols["flags"][rows] & SYN) == 0
    tlp = (trigger == "timeout") & tail & first_resend & data & ctx.sack_ok[conn] & (gap <= bound)
    trigger[tlp] = "probe"
    trigger[reply] = "peer_syn"
    trigger[dup] = "capture"
    kind = np.full(len(rows), "rto", dtype=object)
    kind[(trigger == "dupacks") | (trigger == "sack")] = "fast"
    kind[tlp] = "tlp"
    kind[clocked] = _episode_kind(ctx.group[rows], kind, clocked)
    spurious_by, ack_lost = _spurious(cols, ctx, fl, rows, original, lim)
    spurious_by[dup | reply] = ""
    kind[spurious_by != ""] = "spurious"
    kind[reply] = "reply"
    kind[dup] = "duplicate"
    timer = (trigger == "timeout") & ~dup
    return Triggers(kind, trigger, timer, spurious_by, ack_lost & ~dup)


def _episode_kind(group: np.ndarray, kind: np.ndarray, clocked: np.ndarray) -> np.ndarray:
    """For ACK-clocked resends: the kind of the latest not ACK-clocked one of the direction
    (the recovery episode they belong to); "fast" when there is none (SACK/RACK recovery)."""
    s = pd.Series(kind.astype(object)).mask(pd.Series(clocked))
    filled = s.groupby(group).ffill().to_numpy()
    out = filled[clocked]
    return np.where(pd.isna(out), "fast", out)
