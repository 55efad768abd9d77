"""Connections the endpoint state machine could not follow, with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from analyzer.checks.context import NONE, Ctx, context, make, who
from analyzer.checks.model import CheckSpec, Finding, register
from analyzer.schema import ANOM_BAD_FLAGS

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__: list[str] = []

STATE_UNKNOWN = CheckSpec(
    id="state_unknown", severity="warning", category="state",
    title="The state machine could not follow this connection",
    title_zh="状态机无法跟踪这个连接",
    rfc="RFC 9293 §3.3.2, §3.10",
    explanation=(
        "synack follows each endpoint through the RFC 9293 states from the segments it "
        "sends and receives. Sometimes the capture does not allow it: an endpoint sent "
        "segments but no state can be deduced from them (its state stays UNKNOWN), a "
        "segment has an impossible combination of flags (SYN with FIN, SYN with RST, or no "
        "flag at all) that no state machine accepts, or an endpoint keeps sending new data "
        "(or a SYN or FIN) after its state reached CLOSED (it sent or accepted an RST, or "
        "its connection was over). The states shown for this connection are then a best "
        "guess; the finding gives the reason and the frame where following stopped."),
    explanation_zh=(
        "synack 根据每个端点发送和接收的报文段，跟踪它在 RFC 9293 各状态之间的变化。有时抓包"
        "做不到这一点：某个端点发送了报文段，却无法从中推断出任何状态（状态一直是 UNKNOWN）；"
        "某个报文段的标志位组合不可能出现（SYN 与 FIN 同时置位、SYN 与 RST 同时置位，或一个"
        "标志位都没有），任何状态机都不会接受；或者某个端点在状态已经是 CLOSED（关闭）之后仍在"
        "发送新数据（或 SYN、FIN）（它发送或接受了 RST，或连接已经结束）。这时显示的状态只是"
        "尽力推测；这条结果会说明原因以及从哪一帧开始无法跟踪。"),
    zeek="data_after_reset", suricata="stream.suspected_rst_inject")


def _after_closed(ctx: Ctx) -> np.ndarray:
    """Per group (conn*2 + endpoint): the first row the endpoint sent after its final entry
    into CLOSED that uses new sequence space (new data, SYN or FIN), or -1.

    RSTs, copies of captured segments and late copies of old data are what a closed
    endpoint or a reordering capture shows; new sequence space is not."""
    got = ctx.memo.get("after_closed")
    if isinstance(got, np.ndarray):
        return got
    n2 = 2 * ctx.n_conn
    out = np.full(n2, -1, dtype=np.int64)
    tr = ctx.result.transitions
    closed_at = np.full(n2, -1, dtype=np.int64)
    if len(tr):
        hit = ctx.tr_is("to_state", "CLOSED")
        np.maximum.at(closed_at, ctx.tr_key[hit], tr["at_frame"].to_numpy().astype(np.int64)[hit])
    final = ctx.result.timelines.final.ravel() == "CLOSED"
    closed_at[~final] = -1
    if ctx.n == 0 or not (closed_at >= 0).any():
        ctx.memo["after_closed"] = out
        return out
    # By (conn, endpoint), capture order inside: the rows up to the CLOSED frame are a prefix.
    order, starts = ctx.by_group.order, ctx.by_group.starts
    g = ctx.group[order]
    at = closed_at[g]
    frame = ctx.cols["frame"][order].astype(np.int64)
    seg_end = ctx.seg_end[order]
    before = (at >= 0) & (frame <= at)
    reach = np.full(n2, NONE, dtype=np.int64)
    first = np.flatnonzero(starts)
    reach[g[first]] = np.maximum.reduceat(np.where(before, seg_end, NONE), first)
    late = (at >= 0) & (frame > at) & ~ctx.rst[order] & ~ctx.dup[order] & (seg_end > reach[g])
    pos = np.flatnonzero(late)
    out[g[pos][::-1]] = order[pos][::-1]
    ctx.memo["after_closed"] = out
    return out


def _reasons(ctx: Ctx, conn: int) -> Iterator[tuple[int, str, str]]:
    rows = ctx.conn_rows(conn)
    for endpoint in (0, 1):
        mine = rows[ctx.srv[rows] == bool(endpoint)]
        if len(mine) and ctx.final_state(conn, endpoint) == "UNKNOWN":
            yield (int(mine[0]), "its state stays UNKNOWN although it sent segments",
                   "它发送了报文段，状态却一直是 UNKNOWN")
        r = int(_after_closed(ctx)[conn * 2 + endpoint])
        if r >= 0:
            yield (r, f"it kept sending new data after reaching CLOSED (frame {ctx.frame(r)})",
                   f"它在进入 CLOSED（关闭）状态后仍在发送新数据（帧 {ctx.frame(r)}）")
    bad = rows[(ctx.cols["anomalies"][rows] & ANOM_BAD_FLAGS) != 0]
    if len(bad):
        r = int(bad[0])
        yield (r, f"impossible flag combination at frame {ctx.frame(r)} ({len(bad)} segment(s))",
               f"帧 {ctx.frame(r)} 的标志位组合不可能出现（共 {len(bad)} 个报文段）")


def _closed_then_talking(ctx: Ctx) -> np.ndarray:
    """Per connection: an endpoint kept sending new sequence space after reaching CLOSED."""
    return np.asarray((_after_closed(ctx) >= 0).reshape(-1, 2).any(axis=1), dtype=bool)


@register(STATE_UNKNOWN)
def state_unknown(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    final = result.timelines.final
    if len(final) == 0:
        return
    unknown = final == "UNKNOWN"
    bad_flags = np.zeros(ctx.n_conn, dtype=bool)
    bad_rows = (ctx.cols["anomalies"] & ANOM_BAD_FLAGS) != 0
    bad_flags[np.unique(ctx.conn[bad_rows])] = True
    sent = np.bincount(ctx.group, minlength=2 * ctx.n_conn).reshape(-1, 2) > 0
    cand = np.flatnonzero((unknown & sent).any(axis=1) | _closed_then_talking(ctx) | bad_flags)
    for conn in cand.tolist():
        for row, why, why_z in _reasons(ctx, conn):
            srv = bool(ctx.srv[row])
            yield make(
                ctx, "state_unknown", conn, [row],
                expected="segments that follow the RFC 9293 state machine",
                observed=why,
                message=f"cannot follow {who(ctx, conn, srv)}: {why}",
                message_zh=f"无法跟踪 {who(ctx, conn, srv, zh=True)}：{why_z}")
