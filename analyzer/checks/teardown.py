"""Teardown arithmetic: the ACK of a FIN, data after a FIN, FIN retransmissions.

Half-closed connections (one FIN, data still flowing the other way) are normal and never
reported here: only the FIN sender's own data after its FIN is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from analyzer.checks.context import NONE, Ctx, context, first_in, make, num, numz, who
from analyzer.checks.model import CheckSpec, Finding, register
from analyzer.checks.queries import group_max

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__: list[str] = []


def _fin_ends(ctx: Ctx) -> tuple[np.ndarray, np.ndarray]:
    """Per group: (row of the first FIN or -1, relative end of that FIN = seq+len+1 or NONE)."""
    first = first_in(ctx.group, ctx.fin, 2 * ctx.n_conn)
    end = np.full(len(first), NONE, dtype=np.int64)
    has = first >= 0
    end[has] = ctx.seg_end[first[has]]
    return first, end


def _max_end(ctx: Ctx) -> np.ndarray:
    return group_max(ctx, ctx.seg_end)


FIN_ACK_WRONG = CheckSpec(
    id="fin_ack_wrong", severity="error", category="teardown",
    title="ACK of a FIN is not FIN seq + length + 1",
    title_zh="对 FIN 的确认号不等于 FIN 的序列号 + 数据长度 + 1",
    rfc="RFC 9293 §3.5, §3.10.7.4",
    explanation=(
        "Like a SYN, a FIN consumes one sequence number, placed after the segment's data. "
        "The peer acknowledges it with ack = FIN's seq + data length + 1. Two mistakes are "
        "reported: an ack beyond that value (it acknowledges sequence numbers the FIN "
        "sender can never send), and a peer that clearly received the FIN — it went on to "
        "close its own side and the FIN was never retransmitted — but only ever "
        "acknowledged FIN's seq + length, forgetting the +1. In the second case the FIN "
        "sender stays in FIN_WAIT_1 (or CLOSING) waiting for an ACK that never comes."),
    explanation_zh=(
        "和 SYN 一样，FIN 也要消耗一个序号，位于该报文段数据之后。对方用确认号 = FIN 的序列号"
        " + 数据长度 + 1 来确认它。这里报告两种错误：确认号超过这个值（确认了 FIN 发送方"
        "不可能再发送的序号）；以及对方显然收到了 FIN——它随后关闭了自己这一侧，FIN 也从未"
        "重传——却始终只确认到 FIN 的序列号 + 数据长度，忘了 + 1。后一种情况下，FIN 的发送方"
        "会一直停在 FIN_WAIT_1（终止等待 1）或 CLOSING（同时关闭）状态，等待一个永远不会来的"
        " ACK。"),
    suricata="stream.fin1_invalid_ack, stream.lastack_invalid_ack")


def _beyond_fin(ctx: Ctx, first: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Rows acknowledging beyond the end of the peer's FIN (when the FIN sender sent no more)."""
    idx = np.arange(ctx.n)
    f_row, f_end = first[ctx.peer], end[ctx.peer]
    clean = _max_end(ctx)[ctx.peer] <= f_end
    return np.flatnonzero((f_row >= 0) & (idx > f_row) & ctx.has_ack & ~ctx.rst & clean
                          & (ctx.rel_ack != NONE) & (ctx.rel_ack > f_end))


def _maybe_forgot(ctx: Ctx, first: np.ndarray, end: np.ndarray) -> np.ndarray:
    """FIN groups whose peer, after the FIN, acknowledged exactly FIN seq + len at most."""
    f_row = first[ctx.peer]
    after = (f_row >= 0) & (np.arange(ctx.n) > f_row) & ctx.has_ack & ~ctx.rst \
        & (ctx.rel_ack != NONE)
    best = group_max(ctx, ctx.rel_ack, after)[np.arange(2 * ctx.n_conn) ^ 1]  # by receiver
    return np.flatnonzero((first >= 0) & (best != NONE) & (best == end - 1))


def _forgot_plus_one(ctx: Ctx, grp: int, fin_row: int, e: int) -> int | None:
    """Row of the peer's ACK that acknowledged the FIN without its +1, if it clearly did."""
    rows = ctx.conn_rows(grp // 2)
    mine = rows[ctx.group[rows] == grp]
    theirs = rows[(ctx.group[rows] != grp) & (rows > fin_row)]
    acks = theirs[ctx.has_ack[theirs] & ~ctx.rst[theirs]]
    if len(acks) == 0 or ctx.rst[rows].any() or int(ctx.rel_ack[acks].max()) != e - 1:
        return None
    if int((ctx.fin[mine] & (ctx.seg_end[mine] == e)).sum()) > 1:
        return None  # the FIN was resent: it may simply have been lost
    their_fin = theirs[ctx.fin[theirs]]
    if len(their_fin) == 0:
        return None
    fin_end = int(ctx.seg_end[their_fin[0]])
    later = mine[(mine > their_fin[0]) & ctx.has_ack[mine] & (ctx.rel_ack[mine] >= fin_end)]
    return int(acks[ctx.rel_ack[acks] == e - 1][0]) if len(later) else None


@register(FIN_ACK_WRONG)
def fin_ack_wrong(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    first, end = _fin_ends(ctx)
    found: dict[int, int] = {}
    for r in _beyond_fin(ctx, first, end).tolist():
        found.setdefault(int(ctx.peer[r]), r)
    for grp in _maybe_forgot(ctx, first, end).tolist():
        if grp not in found:
            r2 = _forgot_plus_one(ctx, grp, int(first[grp]), int(end[grp]))
            if r2 is not None:
                found[grp] = r2
    for grp, r in sorted(found.items()):
        conn, fin_row, e = grp // 2, int(first[grp]), int(end[grp])
        ack, rel = int(ctx.cols["ack"][r]), int(ctx.rel_ack[r])
        exp, obs = num(ctx.raw(grp, e), e, "FIN seq + len + 1"), num(ack, rel)
        exp_z, obs_z = numz(ctx.raw(grp, e), e, "FIN 序列号 + 长度 + 1"), numz(ack, rel)
        fin_seq, plen = int(ctx.cols["seq"][fin_row]), int(ctx.plen[fin_row])
        srv = bool(grp % 2)
        yield make(
            ctx, "fin_ack_wrong", conn, [fin_row, r], main=r, expected=exp, observed=obs,
            expected_rel=str(e), observed_rel=str(rel),
            message=f"the ACK (frame {ctx.frame(r)}) of the {who(ctx, conn, srv)} FIN "
                    f"(frame {ctx.frame(fin_row)}, seq {fin_seq}, {plen} bytes) is {obs}; "
                    f"expected FIN seq + len + 1 = {exp}",
            message_zh=f"对 {who(ctx, conn, srv, zh=True)} 的 FIN（帧 {ctx.frame(fin_row)}，"
                       f"序列号 {fin_seq}，{plen} 字节）的确认（帧 {ctx.frame(r)}）为 {obs_z}；"
                       f"应为 FIN 序列号 + 数据长度 + 1 = {exp_z}（FIN 要消耗一个序号）")


DATA_AFTER_FIN = CheckSpec(
    id="data_after_fin", severity="error", category="teardown",
    title="New data sent after the sender's own FIN",
    title_zh="发送方在自己的 FIN 之后又发送了新数据",
    rfc="RFC 9293 §3.6, §3.10.4",
    explanation=(
        "A FIN says 'I have no more data to send': it is the last sequence number the "
        "sender will ever use on this connection. Retransmitting data sent before the FIN "
        "is fine, but new data placed at or beyond the FIN's sequence number breaks the "
        "protocol — the receiver has already delivered end-of-file to its application and "
        "will discard it or answer with RST. Note the direction: after a FIN the *other* "
        "side may go on sending for as long as it likes (half-close, a normal state); "
        "only the FIN sender itself must stop."),
    explanation_zh=(
        "FIN 的意思是“我没有数据要发送了”：它是发送方在这个连接上使用的最后一个序号。重传 "
        "FIN 之前发送过的数据没有问题，但在 FIN 的序号处或之后放置新数据就违反了协议——"
        "接收方已经向应用程序交付了文件结束（EOF），会丢弃这些数据或回复 RST。注意方向："
        "发送 FIN 之后，*对方*仍然可以继续发送任意长的时间（半关闭，这是正常状态）；只有 FIN "
        "的发送方自己必须停止发送。"),
    zeek="FIN_advanced_last_seq")


@register(DATA_AFTER_FIN)
def data_after_fin(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    first, end = _fin_ends(ctx)
    idx = np.arange(ctx.n)
    f_row, f_end = first[ctx.group], end[ctx.group]
    bad = np.flatnonzero((f_row >= 0) & (idx > f_row) & (ctx.plen > 0) & ~ctx.rst
                         & (ctx.rel_seq + ctx.plen > f_end - 1))
    done: set[int] = set()
    for r in bad.tolist():
        grp = int(ctx.group[r])
        if grp in done:
            continue
        done.add(grp)
        conn, srv, fin_row, e = grp // 2, bool(grp % 2), int(first[grp]), int(end[grp])
        rows = bad[ctx.group[bad] == grp]
        total = int(ctx.plen[rows].sum())
        seq, rel = int(ctx.cols["seq"][r]), int(ctx.rel_seq[r])
        yield make(
            ctx, "data_after_fin", conn, [fin_row, *rows.tolist()[:20]], main=r,
            expected=f"no data at or beyond the FIN's seq {num(ctx.raw(grp, e - 1), e - 1)}",
            observed=f"{int(ctx.plen[r])} bytes at seq {num(seq, rel)} ({len(rows)} segments, "
                     f"{total} bytes)",
            expected_rel=str(e - 1), observed_rel=str(rel),
            message=f"{who(ctx, conn, srv)} sent {total} bytes of new data after its own FIN "
                    f"(frame {ctx.frame(fin_row)}), first at frame {ctx.frame(r)} "
                    f"(seq {num(seq, rel)})",
            message_zh=f"{who(ctx, conn, srv, zh=True)} 在自己的 FIN（帧 {ctx.frame(fin_row)}）之后"
                       f"又发送了 {total} 字节新数据，第一个在帧 {ctx.frame(r)}"
                       f"（序列号 {numz(seq, rel)}）")


FIN_RETRANSMITTED = CheckSpec(
    id="fin_retransmitted", severity="warning", category="teardown",
    title="FIN retransmitted",
    title_zh="FIN 被重传",
    rfc="RFC 9293 §3.8.1, §3.10.7.4",
    explanation=(
        "A FIN occupies a sequence number, so it is retransmitted like data until it is "
        "acknowledged. Seeing the same FIN (same sequence number) more than once means the "
        "sender did not get the ACK of its FIN in time: the FIN or its ACK was lost, or the "
        "ACK was merely slow. If the capture shows the ACK before the retransmission, the "
        "ACK was lost after the capture point. A FIN resent to an endpoint in TIME_WAIT is "
        "exactly why TIME_WAIT exists: that endpoint re-sends its last ACK. (The timing of "
        "the retransmissions is judged by the timing checks.)"),
    explanation_zh=(
        "FIN 占用一个序号，所以在被确认之前会像数据一样被重传。同一个 FIN（序列号相同）出现"
        "不止一次，说明发送方没有及时收到对 FIN 的确认：FIN 或它的 ACK 丢失了，或者 ACK 只是"
        "来得太慢。如果抓包中在重传之前已经出现了这个 ACK，说明 ACK 是在抓包点之后丢失的。"
        "向处于 TIME_WAIT（时间等待）状态的一方重传 FIN，正是 TIME_WAIT 存在的原因：那一方"
        "会重发最后一个 ACK。（重传的时间间隔由计时类检查判断。）"),
    suricata="stream.pkt_retransmission")


@register(FIN_RETRANSMITTED)
def fin_retransmitted(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    first, end = _fin_ends(ctx)
    idx = np.arange(ctx.n)
    again = np.flatnonzero(ctx.fin & ~ctx.dup & (idx > first[ctx.group])
                           & (ctx.seg_end == end[ctx.group]))
    done: set[int] = set()
    for r in again.tolist():
        grp = int(ctx.group[r])
        if grp in done:
            continue
        done.add(grp)
        yield _fin_retx_finding(ctx, grp, int(first[grp]), again[ctx.group[again] == grp])


def _fin_retx_finding(ctx: Ctx, grp: int, fin_row: int, resent: np.ndarray) -> Finding:
    conn, srv, e = grp // 2, bool(grp % 2), int(ctx.seg_end[fin_row])
    ts = ctx.cols["ts_ns"]
    r = int(resent[0])
    rows = ctx.conn_rows(conn)
    acked = rows[(ctx.group[rows] != grp) & (rows > fin_row) & (rows < r)
                 & ctx.has_ack[rows] & (ctx.rel_ack[rows] >= e)]
    span = (int(ts[resent[-1]]) - int(ts[fin_row])) / 1e9
    if len(acked):
        why = f"its ACK (frame {ctx.frame(int(acked[0]))}) was captured before: lost after the " \
              "capture point"
        why_z = f"抓包中在重传之前已有对它的 ACK（帧 {ctx.frame(int(acked[0]))}）：ACK 在抓包点" \
                "之后丢失"
    else:
        why, why_z = "no ACK of it was captured before", "重传之前抓包中没有对它的 ACK"
    k = len(resent) + 1
    return make(
        ctx, "fin_retransmitted", conn, [fin_row, *resent.tolist()[:20]], main=r,
        expected="FIN sent once (acknowledged)", observed=f"FIN sent {k} times over {span:.3f} s",
        message=f"{who(ctx, conn, srv)} sent its FIN {k} times (first frame "
                f"{ctx.frame(fin_row)}, again at frame {ctx.frame(r)}); {why}",
        message_zh=f"{who(ctx, conn, srv, zh=True)} 的 FIN 发送了 {k} 次（首次帧 "
                   f"{ctx.frame(fin_row)}，重传帧 {ctx.frame(r)}）；{why_z}")
