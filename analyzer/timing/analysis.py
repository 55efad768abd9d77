"""The timing stage: retransmissions, chains, RTT, profile fit and TIME_WAIT in one pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analyzer.checks.context import context
from analyzer.schema import SYN
from analyzer.timing.chains import assign_chains, segment_kinds, timeout_numbers
from analyzer.timing.classify import ack_clock, classify, replies
from analyzer.timing.context import RowContext, build_context
from analyzer.timing.fit import choose_profile, predict
from analyzer.timing.outcomes import chain_table
from analyzer.timing.percon import per_connection
from analyzer.timing.profiles import ABS_SLACK_S, EARLY, Profile, ratios_ok, within_tolerance
from analyzer.timing.rtt import RttEstimates, estimate_rtt
from analyzer.timing.segments import find_resends
from analyzer.timing.timewait import time_wait_series, time_wait_table

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["Timing", "analyze_timing"]


@dataclass(slots=True)
class Timing:
    """Everything the timing stage found in one capture (see docs/timing.md)."""

    profile: Profile
    fit: pd.DataFrame               # one row per profile: how well it explains the timeouts
    retransmissions: pd.DataFrame   # one row per retransmitted segment
    chains: pd.DataFrame            # one row per retransmitted segment's chain of sends
    rtt: pd.DataFrame               # one row per RTT sample, with SRTT/RTTVAR/RTO after it
    time_wait: pd.DataFrame         # one row per endpoint that entered TIME_WAIT
    time_wait_series: pd.DataFrame  # per host: sockets in TIME_WAIT after each change
    per_connection: pd.DataFrame    # indexed by conn_id: columns for the connections table
    out_of_order: np.ndarray        # frames that filled a gap out of order (not retransmissions)


def analyze_timing(result: AnalysisResult, profile: str = "auto") -> Timing:
    """Timing analysis of ``result`` under ``profile`` (auto|linux|rfc|macos|windows)."""
    cols, fl, conns = result.columns, result.flows, result.core_connections
    ctx = build_context(cols, fl, conns)
    res = find_resends(cols, ctx, fl)
    rows, ts = res.rows, ctx.ts
    dup = context(result).dup[rows]     # duplicate_mask, shared with the checks
    rtt = estimate_rtt(ctx, fl, res, dup)
    clock = ack_clock(ctx, rtt, fl.n_conn)
    reply = replies(cols, ctx, rows, clock) & ~dup
    counted = ~dup & ~reply
    idx = assign_chains(fl, ts, rows, res.original, ~dup, counted)
    trig = classify(cols, ctx, fl, rtt, rows, res.original, dup, reply, idx.retry == 1,
                    res.tail, clock, idx.gap)
    timer = trig.timer & counted
    k, prev_gap = timeout_numbers(idx.chain_id, timer, idx.gap)
    data = (cols["flags"][rows] & SYN) == 0
    probe = _probe_at_rto(ctx, rows, idx.chain_id, res.tail & (idx.retry == 1) & data, k,
                          idx.gap / prev_gap, prev_gap)
    if probe.any():
        trig.kind[probe], trig.trigger[probe] = "tlp", "probe"
        timer &= ~probe
        k, prev_gap = timeout_numbers(idx.chain_id, timer, idx.gap)
    base_row = np.where(idx.prev_send >= 0, idx.prev_send, rows)
    srtt, rttvar = rtt.at(ctx.group[rows], base_row)
    tx = pd.DataFrame({
        "conn_id": ctx.conn[rows], "direction": np.where(fl.from_server[rows], "s2c", "c2s"),
        "frame": cols["frame"][rows], "ts_ns": ts[rows],
        "original_frame": np.where(res.original >= 0, cols["frame"][np.maximum(res.original, 0)],
                                   -1),
        "segment": segment_kinds(cols, rows), "rel_seq": fl.rel_seq[rows],
        "seg_len": fl.seg_end[rows] - fl.rel_seq[rows], "kind": trig.kind,
        "trigger": trig.trigger, "timer": timer, "spurious_by": trig.spurious_by,
        "ack_lost": trig.ack_lost, "chain_id": idx.chain_id, "retry": idx.retry, "timeout": k,
        "gap_s": idx.gap, "prev_timeout_gap_s": prev_gap, "ratio": idx.gap / prev_gap,
        "srtt_s": srtt, "rttvar_s": rttvar, "row": rows,
        "timer_gap_s": _timer_gap(ctx, rows, idx.prev_send),
    })
    chosen, fit = choose_profile(profile, tx[tx["timer"] & (tx["timeout"] >= 1)])
    tx["expected_rto_s"], tx["fits_profile"] = _expected(chosen, tx)
    return _finish(result, ctx, chosen, fit, tx, rtt, res.ooo_rows, idx.head)


def _probe_at_rto(ctx: RowContext, rows: np.ndarray, chain: np.ndarray,
                  first_tail: np.ndarray, k: np.ndarray, ratio: np.ndarray,
                  prev_gap: np.ndarray) -> np.ndarray:
    """First "timeouts" that were Linux tail-loss probes fired at the RTO.

    With one segment in flight Linux arms the probe at 2·SRTT + TCP_RTO_MIN, clamped to the
    time left before the RTO (``tcp_schedule_loss_probe``): the probe goes out when the RTO
    would have, and the RTO timer then re-arms *without* backoff. The next timeout's gap
    equals the first one instead of doubling: that shows the first was the probe.
    """
    second = (k == 2) & ratios_ok(ratio, np.ones(len(k)), prev_gap)
    return (k == 1) & first_tail & np.isin(chain, chain[second]) & ctx.sack_ok[ctx.conn[rows]]


def _timer_gap(ctx: RowContext, rows: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """s from when the sender's timer was last (re)started — the previous send of the segment
    or a later ACK that acknowledged new data (RFC 6298 §5.3) — to the retransmission."""
    adv = ctx.last_adv_peer[rows]
    ref = np.where(prev >= 0, ctx.ts[np.maximum(prev, 0)], -1)
    later = (adv >= 0) & (adv > prev)
    ref = np.where(later, np.maximum(ref, ctx.ts[np.maximum(adv, 0)]), ref)
    return np.where(ref >= 0, (ctx.ts[rows] - ref) / 1e9, np.nan)


def _expected(profile: Profile, tx: pd.DataFrame) -> tuple[np.ndarray, pd.arrays.BooleanArray]:
    """Per row: the gap the profile expects before this timeout, and whether it fits."""
    out = np.full(len(tx), np.nan)
    ok = np.zeros(len(tx), dtype=bool)
    sel = tx["timer"].to_numpy() & (tx["timeout"].to_numpy() >= 1)
    if sel.any():
        pred, lower_only = predict(profile, tx[sel])
        gap = tx["gap_s"].to_numpy()[sel]
        out[sel] = pred
        ok[sel] = np.where(lower_only, gap >= pred * (1 - EARLY) - ABS_SLACK_S,
                           within_tolerance(gap, pred))
    known = sel & ~np.isnan(out) & ~np.isnan(tx["gap_s"].to_numpy())
    return out, pd.arrays.BooleanArray(ok, ~known)


def _finish(result: AnalysisResult, ctx: RowContext, profile: Profile, fit: pd.DataFrame,
            tx: pd.DataFrame, rtt_est: RttEstimates, ooo: np.ndarray, heads: np.ndarray,
            ) -> Timing:
    cols, fl = result.columns, result.flows
    chains = chain_table(cols, fl, ctx, tx, heads, profile)
    rto = profile.rto(rtt_est.srtt, rtt_est.rttvar)
    rtt = rtt_est.frame(cols, rto)
    tw = time_wait_table(cols, fl, ctx, result.core_connections, result.transitions,
                         result.timelines.time_wait_enter_ns, profile)
    series = time_wait_series(tw)
    percon = per_connection(fl.n_conn, tx, chains, tw, rtt)
    return Timing(profile, fit, tx.reset_index(drop=True), chains, rtt, tw, series, percon,
                  cols["frame"][ooo])
