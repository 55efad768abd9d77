"""The chains table: one row per retransmitted segment, its sends, and how it ended.

Outcomes:

* ``answered`` — the peer's ACK covering the segment followed the last send, and the
  sender showed it got it (it did not reset; a SYN's sender acknowledged the SYN-ACK);
* ``gave_up`` — no answer reached the sender, and it sent nothing more for at least the
  gap the profile expects before the next retry (or sent an RST only later, to other
  traffic): the retry limit was reached (tcp_retries2, tcp_syn_retries, ...);
* ``reset`` — the sender aborted with an RST within that gap;
* ``capture_end`` — the capture stopped before the next retry was due;
* ``continued`` — the sender went on with other segments without a visible answer;
* ``unknown`` — the capture never shows the peer's direction (one-sided capture).

``answer_seen`` marks answers that were on the wire but evidently never reached the sender
(lost after the capture point).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.flows import Flows
from analyzer.flows.groups import first_where, last_where
from analyzer.schema import RST
from analyzer.timing.context import RowContext
from analyzer.timing.profiles import ABS_SLACK_S, EARLY, LATE, Profile
from analyzer.timing.scan import group_key, search_in_groups

__all__ = ["CHAIN_COLUMNS", "chain_table"]

CHAIN_COLUMNS = (
    "chain_id", "conn_id", "direction", "segment", "rel_seq", "original_frame", "original_ns",
    "retries", "timeouts", "kinds", "frames", "times_s", "gaps_s", "ratios", "expected_s",
    "span_s", "outcome", "answer_frame", "answer_seen", "next_gap_s", "peer_silent",
)


def _lists(counted: pd.DataFrame, t0: pd.Series) -> pd.DataFrame:
    """Per chain (sorted by id): the sends' kinds, frames, times, gaps, ratios as arrays."""
    c = counted.sort_values(["chain_id", "row"], kind="stable")
    ids = c["chain_id"].to_numpy()
    cut = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    t = (c["ts_ns"].to_numpy() - t0.loc[ids].to_numpy()) / 1e9
    out = {"kinds": c["kind"].to_numpy(), "frames": c["frame"].to_numpy(), "times_s": t,
           "gaps_s": c["gap_s"].to_numpy(), "ratios": c["ratio"].to_numpy(),
           "expected_s": c["expected_rto_s"].to_numpy()}
    index = pd.Index(np.unique(ids), name="chain_id")
    bounds = list(zip([0, *cut.tolist()], [*cut.tolist(), len(ids)], strict=True))
    return pd.DataFrame({k: pd.Series([v[a:b] for a, b in bounds], index=index, dtype=object)
                         for k, v in out.items()}, index=index)


def _next_gap(profile: Profile, seg: np.ndarray, k: np.ndarray, gap: np.ndarray,
              rto_now: np.ndarray) -> np.ndarray:
    out = rto_now.copy()
    for i in np.flatnonzero(k >= 1):
        if seg[i] in ("syn", "synack"):
            out[i] = profile.handshake_gap(seg[i], int(k[i]) + 1)
        else:
            out[i] = min(gap[i] * profile.data_ratio(int(k[i]) + 1), profile.rto_max)
    return out


def _next_sender_row(fl: Flows, group: np.ndarray, after: np.ndarray) -> np.ndarray:
    order = fl.by_group.order
    keys = group_key(fl.group[order], order)
    pos = search_in_groups(keys, fl.group[order], group, after + 1, "left")
    return np.where(pos >= 0, order[np.maximum(pos, 0)], -1)


def chain_table(cols: dict[str, np.ndarray], fl: Flows, ctx: RowContext, tx: pd.DataFrame,
                heads: np.ndarray, profile: Profile) -> pd.DataFrame:
    counted = tx[tx["retry"] > 0]
    if len(counted) == 0:
        return pd.DataFrame({c: [] for c in CHAIN_COLUMNS})
    g = counted.groupby("chain_id", sort=True)
    last = g.tail(1).set_index("chain_id").sort_index()
    first = g.head(1).set_index("chain_id").sort_index()
    ids = first.index.to_numpy()
    head = heads[ids]
    t0 = pd.Series(ctx.ts[head], index=ids)
    last_any = tx.groupby("chain_id")["row"].max().loc[ids].to_numpy()
    group = ctx.group[head]
    out = pd.DataFrame({
        "chain_id": ids, "conn_id": first["conn_id"].to_numpy(),
        "direction": first["direction"].to_numpy(), "segment": first["segment"].to_numpy(),
        "rel_seq": fl.rel_seq[head], "original_frame": first["original_frame"].to_numpy(),
        "original_ns": t0.to_numpy(), "retries": g.size().to_numpy(),
        "timeouts": g["timeout"].max().to_numpy()}).set_index("chain_id", drop=False)
    out = out.join(_lists(counted, t0))
    out["span_s"] = (last["ts_ns"].to_numpy() - t0.to_numpy()) / 1e9
    rto_now = profile.rto(last["srtt_s"].to_numpy(), last["rttvar_s"].to_numpy())
    nxt_gap = _next_gap(profile, out["segment"].to_numpy(), last["timeout"].to_numpy(),
                        last["gap_s"].to_numpy(), rto_now)
    out["next_gap_s"] = nxt_gap
    ans = ctx.first_cover_after(group ^ 1, fl.seg_end[last_any], last_any)
    nxt = _next_sender_row(fl, group, last_any)
    out["answer_frame"] = np.where(ans >= 0, cols["frame"][np.maximum(ans, 0)], -1)
    peer_last = last_where(fl.group, np.ones(len(fl.group), dtype=bool), 2 * fl.n_conn)[group ^ 1]
    peer_first = first_where(fl.group, np.ones(len(fl.group), dtype=bool), 2 * fl.n_conn)[
        group ^ 1]
    out["peer_silent"] = peer_last < head
    acked_before = ctx.peer_ack_before[last_any] >= fl.seg_end[last_any]
    out["outcome"] = _outcomes(cols, ctx, out["segment"].to_numpy(), last_any, ans, nxt,
                               nxt_gap, peer_first < 0, acked_before)
    out["answer_seen"] = (ans >= 0) & (out["outcome"] != "answered")
    return out[list(CHAIN_COLUMNS)].reset_index(drop=True)


def _outcomes(cols: dict[str, np.ndarray], ctx: RowContext, seg: np.ndarray,
              last: np.ndarray, ans: np.ndarray, nxt: np.ndarray, next_gap: np.ndarray,
              one_sided: np.ndarray, acked_before: np.ndarray) -> np.ndarray:
    """See the module docstring. Data and FIN already acknowledged at the capture point
    before their last copy count as answered when the sender stops re-sending them (the
    ACK, late or lost once, got through); a handshake segment's answer must show in the
    sender's behaviour (07: the server retries its SYN-ACK although the ACKs are captured)."""
    ts = ctx.ts
    is_rst = (nxt >= 0) & ((cols["flags"][np.maximum(nxt, 0)] & RST) != 0)
    acted = (nxt >= 0) & ~is_rst
    data = (seg == "data") | (seg == "fin")
    answered = ((ans >= 0) & np.where(seg == "syn", acted & (nxt > ans), ~is_rst)) \
        | (data & acked_before & ~is_rst)
    wait = (np.where(nxt >= 0, ts[np.maximum(nxt, 0)], ctx.capture_end) - ts[last]) / 1e9
    due = wait >= next_gap * (1 - EARLY) - ABS_SLACK_S
    out = np.where(due, "gave_up", "capture_end").astype(object)
    out[acted] = "continued"
    rst_soon = is_rst & (wait <= next_gap * (1 + LATE) + ABS_SLACK_S)
    out[is_rst] = "gave_up"
    out[rst_soon] = "reset"
    out[one_sided & (seg != "syn")] = "unknown"
    out[answered] = "answered"
    return out
