"""Rules about connections: clean close, half-open, SYN retries, retransmission rate,
handshake RTT budgets, which side enters TIME_WAIT, and a minimum connection count.

Each judge gets the mask of connections it judges: the rule set's selection less the
connections an ``[[ignore]]`` with ``rule = ...`` exempts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from analyzer.rules.context import MAX_EVIDENCE, CaptureContext, plural, rows
from analyzer.rules.judge_findings import outcome
from analyzer.rules.model import Evidence, RuleOutcome, RuleSet

__all__ = ["CONNECTION_JUDGES"]

Judge = Callable[[RuleSet, CaptureContext, np.ndarray, int], Iterator[RuleOutcome]]


def _clean_close(rs: RuleSet, ctx: CaptureContext, mask: np.ndarray, ignored: int) -> \
        Iterator[RuleOutcome]:
    if not rs.require_clean_close:
        return
    c = ctx.conns[mask]
    rst = (c["rst_c2s"] + c["rst_s2c"]).to_numpy() > 0
    fins = (c["fin_c2s"].to_numpy() > 0) & (c["fin_s2c"].to_numpy() > 0)
    bad = c[rst | ~fins]
    shown = bad.head(MAX_EVIDENCE)
    rsts = ctx.frames_where(shown["conn_id"], "rst")
    ev = []
    for r in rows(shown):
        why = [f"RST from {side}" for side, n in (("client", r.rst_c2s), ("server", r.rst_s2c))
               if n] + [f"no FIN from {side}" for side, n in (("client", r.fin_c2s),
                                                               ("server", r.fin_s2c)) if not n]
        frames = rsts[r.conn_id] or [r.last_frame]
        ev.append(ctx.evidence(r.conn_id, frames, f"{r.summary}: {', '.join(why)} "
                               f"(client {r.client_final}, server {r.server_final})"))
    yield outcome(rs, ctx, "require_clean_close", "require_clean_close", len(bad) == 0,
                  "every connection closed by a FIN each way, no RST",
                  f"{plural(len(bad), 'connection')} not closed cleanly" if len(bad) else
                  f"all {plural(len(c), 'connection')} closed cleanly",
                  ev, len(bad), ignored)


def _min_connections(rs: RuleSet, ctx: CaptureContext, mask: np.ndarray, ignored: int) -> \
        Iterator[RuleOutcome]:
    if rs.min_connections is None:
        return
    n = int(mask.sum())
    yield outcome(rs, ctx, "min_connections", "min_connections", n >= rs.min_connections,
                  f"at least {plural(rs.min_connections, 'connection')}",
                  plural(n, "connection"), ignored=ignored)


def _half_open(rs: RuleSet, ctx: CaptureContext, mask: np.ndarray, ignored: int) -> \
        Iterator[RuleOutcome]:
    if rs.max_half_open is None:
        return
    c = ctx.conns[mask & (ctx.conns["summary"].astype(str) == "HALF-OPEN").to_numpy()]
    ok = len(c) <= rs.max_half_open
    ev = []
    if not ok:
        shown = c.head(MAX_EVIDENCE)
        syns = ctx.frames_where(shown["conn_id"], "syn")
        synacks = ctx.frames_where(shown["conn_id"], "synack")
        for r in rows(shown):
            what = "SYN never answered" if r.synack_count == 0 else \
                "SYN-ACK never acknowledged"
            ev.append(ctx.evidence(r.conn_id, syns[r.conn_id] + synacks[r.conn_id],
                                   f"HALF-OPEN: {what} (client {r.client_final}, server "
                                   f"{r.server_final})"))
    yield outcome(rs, ctx, "max_half_open", "max_half_open", ok,
                  f"at most {plural(rs.max_half_open, 'HALF-OPEN connection')}",
                  plural(len(c), "HALF-OPEN connection"), ev, 0 if ok else len(c), ignored)


def _retries(kind: str) -> Judge:
    col, key = ("syn_count", "max_syn_retries") if kind == "syn" else \
        ("synack_count", "max_synack_retries")
    word = "SYN" if kind == "syn" else "SYN-ACK"

    def judge(rs: RuleSet, ctx: CaptureContext, mask: np.ndarray, ignored: int) -> \
            Iterator[RuleOutcome]:
        most = getattr(rs, key)
        if most is None:
            return
        c = ctx.conns[mask]
        retries = np.maximum(c[col].to_numpy(np.int64) - 1, 0)
        over = c[retries > most].assign(retries=retries[retries > most])
        over = over.sort_values("retries", ascending=False, kind="stable")
        shown = over.head(MAX_EVIDENCE)
        frames = ctx.frames_where(shown["conn_id"], kind)
        ev = [ctx.evidence(r.conn_id, frames[r.conn_id],
                           f"{word} sent {getattr(r, col)} times "
                           f"({plural(r.retries, 'retransmission')})")
              for r in rows(shown)]
        worst = int(retries.max()) if len(retries) else 0
        observed = (f"{plural(len(over), 'connection')} over the limit (up to "
                    f"{plural(worst, word + ' retry', word + ' retries')})") if len(over) \
            else f"at most {plural(worst, word + ' retry', word + ' retries')} per connection"
        yield outcome(rs, ctx, key, key, len(over) == 0,
                      f"at most {plural(most, word + ' retry', word + ' retries')} per "
                      "connection", observed, ev, len(over), ignored)

    return judge


def _retx_rate(rs: RuleSet, ctx: CaptureContext, mask: np.ndarray, ignored: int) -> \
        Iterator[RuleOutcome]:
    limit = rs.max_retransmission_rate
    if limit is None:
        return
    c = ctx.conns[mask]
    segs = int((c["pkts_c2s"] + c["pkts_s2c"]).sum())
    retx = int(c["retransmissions"].sum())
    rate = retx / segs if segs else 0.0
    ok = rate <= limit
    ev: list[Evidence] = []
    total = 0
    if not ok:
        worst = c[c["retransmissions"] > 0].sort_values("retransmissions", ascending=False,
                                                        kind="stable")
        total = len(worst)
        shown = worst.head(MAX_EVIDENCE)
        frames = ctx.retransmission_frames(shown["conn_id"])
        for r in rows(shown):
            kinds = ", ".join(f"{int(getattr(r, k))} {k[5:]}" for k in
                              ("retx_rto", "retx_fast", "retx_tlp", "retx_spurious",
                               "retx_reply") if getattr(r, k))
            ev.append(ctx.evidence(r.conn_id, frames.get(r.conn_id, []),
                                   f"{r.retransmissions} of {r.pkts_c2s + r.pkts_s2c} "
                                   f"segments retransmitted ({kinds})"))
    yield outcome(rs, ctx, "max_retransmission_rate", "max_retransmission_rate", ok,
                  f"at most {limit:.2%} of segments retransmitted",
                  f"{rate:.2%} ({retx:,} of {plural(segs, 'segment')}) retransmitted",
                  ev, total, ignored)


def _rtt(rs: RuleSet, ctx: CaptureContext, mask: np.ndarray, ignored: int) -> \
        Iterator[RuleOutcome]:
    c = ctx.conns[mask]
    c = c[c["handshake_rtt_ms"].notna().to_numpy()]
    rtts = c["handshake_rtt_ms"].to_numpy(np.float64)
    for key, budget in rs.handshake_rtt_ms:
        rule = f"handshake_rtt_ms.{key}"
        expected = f"{key} handshake RTT ≤ {budget:g} ms"
        if len(rtts) == 0:
            yield outcome(rs, ctx, rule, "handshake_rtt_ms", True, expected,
                          "no handshake RTT measured (no complete handshake)", ignored=ignored)
            continue
        value = float(rtts.max() if key == "max" else np.percentile(rtts, float(key[1:])))
        ok = value <= budget
        slow = c[rtts > budget].sort_values("handshake_rtt_ms", ascending=False, kind="stable")
        yield outcome(rs, ctx, rule, "handshake_rtt_ms", ok, expected,
                      f"{key} handshake RTT {value:.3f} ms over "
                      f"{plural(len(rtts), 'connection')}",
                      [] if ok else _rtt_evidence(ctx, slow), 0 if ok else len(slow), ignored)


def _rtt_evidence(ctx: CaptureContext, slow: pd.DataFrame) -> list[Evidence]:
    shown = slow.head(MAX_EVIDENCE)
    frames = ctx.frames_where(shown["conn_id"], "handshake")
    return [ctx.evidence(r.conn_id, frames[r.conn_id],
                         f"handshake RTT {r.handshake_rtt_ms:.3f} ms (SYN → SYN-ACK "
                         f"{r.rtt_syn_synack_ms:.3f} ms, SYN-ACK → ACK "
                         f"{r.rtt_synack_ack_ms:.3f} ms)")
            for r in rows(shown)]


def _time_wait(rs: RuleSet, ctx: CaptureContext, mask: np.ndarray, ignored: int) -> \
        Iterator[RuleOutcome]:
    side = rs.time_wait_side
    if side is None:
        return
    tw = ctx.result.timing.time_wait
    ids = ctx.conns["conn_id"].to_numpy()[mask]
    bad = tw[tw["conn_id"].isin(ids).to_numpy() & (tw["endpoint"].astype(str) != side)]
    ev = [ctx.evidence(int(r.conn_id), [int(r.enter_frame)],
                       f"the {r.endpoint} ({r.host}) entered TIME_WAIT at frame "
                       f"{r.enter_frame}: it closed first")
          for r in rows(bad.head(MAX_EVIDENCE))]
    n = bad["conn_id"].nunique()
    other = "server" if side == "client" else "client"
    yield outcome(rs, ctx, "time_wait_side", "time_wait_side", n == 0,
                  f"only the {side} enters TIME_WAIT (the {side} closes first)",
                  f"the {other} entered TIME_WAIT on {plural(n, 'connection')}" if n else
                  f"no {other} entered TIME_WAIT", ev, len(bad), ignored)


#: rule key → judge, in the order outcomes are reported
CONNECTION_JUDGES: dict[str, Judge] = {
    "min_connections": _min_connections,
    "require_clean_close": _clean_close,
    "max_half_open": _half_open,
    "max_syn_retries": _retries("syn"),
    "max_synack_retries": _retries("synack"),
    "max_retransmission_rate": _retx_rate,
    "handshake_rtt_ms": _rtt,
    "time_wait_side": _time_wait,
}
