"""ACKs for data the capture never showed: packets the capture missed (or one direction
missing altogether), not packets TCP lost — the receiver acknowledged them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from analyzer.checks.context import MOD, NONE, Ctx, context, make, num, who
from analyzer.checks.model import CheckSpec, Finding, register

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__: list[str] = []

SEGMENT_NOT_CAPTURED = CheckSpec(
    id="segment_not_captured", severity="warning", category="capture",
    title="ACK for data the capture never showed",
    title_zh="确认了抓包中从未出现的数据",
    rfc="RFC 9293 §3.4, §3.10.7.4",
    explanation=(
        "An acknowledgement number says 'I have received every byte before this one'. When "
        "a receiver acknowledges bytes that no captured segment carried, the sender did "
        "send them and they did arrive — only the capture missed them: the capturing host "
        "dropped packets under load (see tcpdump's 'dropped by kernel'), the packets took "
        "another path (asymmetric routing, a second link), or a capture filter hid them. "
        "This is a capture artefact, not TCP packet loss, and it means the analysis of "
        "that stretch is incomplete: retransmissions or delays there may be misjudged. "
        "When a whole direction is missing, the capture is one-sided."),
    explanation_zh=(
        "确认号的意思是“这个序号之前的每个字节我都收到了”。接收方确认了抓包中没有任何报文段"
        "携带过的字节，说明发送方确实发送了、对方也确实收到了——只是抓包漏掉了：抓包主机负载"
        "过高而丢包（见 tcpdump 的“dropped by kernel”），这些包走了另一条路径（非对称路由、"
        "第二条链路），或被抓包过滤器过滤掉了。这是抓包造成的，不是 TCP 丢包，但说明这段的"
        "分析不完整：其中的重传或延迟可能被误判。如果整个方向都缺失，说明这是单向抓包。"),
    zeek="content_gap", suricata="stream.reassembly_seq_gap")


def _segmented_cummax(keys: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inclusive running max of ``v`` restarting where ``keys`` changes (sorted input)."""
    starts = np.ones(len(keys), dtype=bool)
    starts[1:] = keys[1:] != keys[:-1]
    seg = np.cumsum(starts) - 1
    span = np.int64(1) << 41
    return np.maximum.accumulate(v + seg * span) - seg * span


def _holes(ctx: Ctx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaps in each direction's captured sequence space: (group, start, end) arrays.

    Per group: its consumed ranges sorted by start (ties in capture order), reaching from
    the group's lowest seq; a gap is where a range starts beyond all before it (a SYN there
    is a new ISN, not a gap), and every group ends with an open hole past its reach. The
    groups come in ``by_group`` order; inside each, gaps by start, then the tail.
    """
    empty = np.empty(0, dtype=np.int64)
    if ctx.n == 0:
        return empty, empty, empty
    order, first_at = ctx.by_group.order, ctx.by_group.starts
    rel, seg_end, rst = ctx.rel_seq[order], ctx.seg_end[order], ctx.rst[order]
    # a zero-length segment at seq s may be a keep-alive (seq = SND.NXT - 1), so it vouches
    # for one sequence number: the peer's ACK of s + 1 is then no proof of a missed segment
    ends = np.where((seg_end == rel) & ~rst, rel + 1, seg_end)
    cons = np.flatnonzero((ends > rel) & ~rst)
    first = np.flatnonzero(first_at)
    gid = ctx.group[order[first]]
    lowest = np.minimum.reduceat(rel, first)            # every range starts at or above it
    b = (np.cumsum(first_at) - 1)[cons]
    start, end = rel[cons], ends[cons]
    if len(first) < 1 << 20 and (len(start) == 0 or int(np.abs(start).max()) < 1 << 40):
        srt = np.argsort(b * (np.int64(1) << 42) + start, kind="stable")  # nearly sorted
    else:
        srt = np.lexsort((start, b))
    b, start, end = b[srt], start[srt], end[srt]
    syn = (ctx.flags[order[cons[srt]]] & 0x02) != 0
    reach = _segmented_cummax(b, end)
    new_block = np.ones(len(b), dtype=bool)
    new_block[1:] = b[1:] != b[:-1]
    before = np.empty(len(b), dtype=np.int64)        # the reach before each range
    before[1:] = reach[:-1]
    before[new_block] = lowest[b[new_block]]
    # a gap that ends at a SYN is a new ISN (SYN or SYN-ACK resent with another seq)
    gap = np.flatnonzero((start > before) & ~syn)
    tail = lowest.copy()
    last = np.flatnonzero(np.append(new_block[1:], True)) if len(b) else empty
    tail[b[last]] = reach[last]
    hg = np.concatenate([gid[b[gap]], gid])
    h0 = np.concatenate([before[gap], tail])
    h1 = np.concatenate([start[gap], np.full(len(gid), np.iinfo(np.int64).max // 4)])
    return hg, h0, h1


def _ack_rows(ctx: Ctx) -> np.ndarray:
    """Rows whose ack field is trusted as proof of receipt (ACK set, not SYN, not RST)."""
    return ctx.has_ack & ~ctx.rst & ((ctx.flags & 0x02) == 0) & (ctx.rel_ack != NONE)


@register(SEGMENT_NOT_CAPTURED)
def segment_not_captured(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    n_groups = 2 * ctx.n_conn
    trusted = _ack_rows(ctx)
    max_ack = np.full(n_groups, NONE, dtype=np.int64)  # per group: the most its peer acked
    if ctx.n:
        order = ctx.by_group.order
        first = np.flatnonzero(ctx.by_group.starts)
        acked = np.where(trusted[order], ctx.rel_ack[order], NONE)
        max_ack[ctx.peer[order[first]]] = np.maximum.reduceat(acked, first)
    fin_end = np.full(n_groups, np.iinfo(np.int64).max // 4, dtype=np.int64)
    np.minimum.at(fin_end, ctx.group[ctx.fin], ctx.seg_end[ctx.fin])
    hg, h0, h1 = _holes(ctx)
    top = np.minimum(max_ack[hg], fin_end[hg])
    real = (max_ack[hg] != NONE) & (h0 < top)
    hg, h0, h1 = hg[real], h0[real], np.minimum(h1[real], top[real])
    for grp in np.unique(hg).tolist():
        sel = np.flatnonzero(hg == grp)
        sel = np.array([i for i in sel.tolist()
                        if not _contradicted(ctx, grp, int(h0[i]), int(h1[i]), trusted)],
                       dtype=np.int64)
        if len(sel):
            yield _gap_finding(ctx, grp, h0[sel], h1[sel], trusted)
    yield from _one_sided(ctx, trusted)


def _contradicted(ctx: Ctx, grp: int, h0: int, h1: int, trusted: np.ndarray) -> bool:
    """The sender itself shows it never sent up to ``h1``: a later segment of its starts
    below it (every segment's seq is at most SND.NXT, and SND.NXT covers all it sent), or
    it had only sent its SYN when the ACK came (an ACK beyond ISN + 1 is then just wrong)."""
    proof = _first_acking(ctx, grp, h0, trusted)
    rows = ctx.conn_rows(grp // 2)
    mine = rows[ctx.group[rows] == grp]
    later, before = mine[mine > proof], mine[mine < proof]
    if len(later) and int(ctx.rel_seq[later].max()) < h1 - 1:
        return True
    # a sender that has sent nothing but its SYN (or SYN-ACK) has no data to be acknowledged
    return bool(len(before)) and bool((ctx.flags[before] & 0x02).all())


def _first_acking(ctx: Ctx, grp: int, at: int, trusted: np.ndarray) -> int:
    rows = ctx.conn_rows(grp // 2)
    b = rows[(ctx.group[rows] != grp) & trusted[rows]]
    hit = b[ctx.rel_ack[b] > at]
    return int(hit[0])


def _gap_finding(ctx: Ctx, grp: int, h0: np.ndarray, h1: np.ndarray,
                 trusted: np.ndarray) -> Finding:
    conn, srv = grp // 2, bool(grp % 2)
    a, b = int(h0[0]), int(h1[0])
    proof = _first_acking(ctx, grp, a, trusted)
    total = int((h1 - h0).sum())
    more = f" ({len(h0)} gaps, {total} bytes in all)" if len(h0) > 1 else ""
    more_z = f"（共 {len(h0)} 处，{total} 字节）" if len(h0) > 1 else ""
    rng = f"seq {num(ctx.raw(grp, a), a)} to {num(ctx.raw(grp, b), b)}"
    frames = [proof] + [_first_acking(ctx, grp, int(x), trusted) for x in h0[1:20].tolist()]
    return make(
        ctx, "segment_not_captured", conn, frames, main=proof,
        expected=f"segments of {who(ctx, conn, srv)} covering rel {a}..{b - 1} in the capture",
        observed=f"{b - a} bytes acknowledged (frame {ctx.frame(proof)}) but never "
                 f"captured{more}",
        expected_rel=f"{a}..{b - 1}", observed_rel="missing",
        message=f"frame {ctx.frame(proof)} acknowledges {rng} sent by {who(ctx, conn, srv)}, "
                f"which the capture never showed{more}: missed by the capture, not lost",
        message_zh=f"帧 {ctx.frame(proof)} 确认了 {who(ctx, conn, srv, zh=True)} 发送的序号 "
                   f"{ctx.raw(grp, a)}（相对 {a}）到 {ctx.raw(grp, b)}（相对 {b}）的数据，"
                   f"但抓包中从未出现{more_z}：是抓包漏掉了，不是丢包")


def _one_sided(ctx: Ctx, trusted: np.ndarray) -> Iterator[Finding]:
    """Connections where one direction sent nothing captured but its data was acknowledged."""
    n_groups = 2 * ctx.n_conn
    count = np.bincount(ctx.group, minlength=n_groups)
    silent = np.flatnonzero(count == 0)
    if len(silent) == 0:
        return
    acks = np.flatnonzero(ctx.has_ack & ~ctx.rst & ((ctx.flags & 0x02) == 0))
    acks = acks[np.argsort(ctx.peer[acks], kind="stable")]      # by receiving group
    bounds = np.searchsorted(ctx.peer[acks], np.stack([silent, silent + 1]))
    for grp, lo, hi in zip(silent.tolist(), bounds[0].tolist(), bounds[1].tolist(),
                           strict=True):
        rows = acks[lo:hi]
        if len(rows) < 2:
            continue
        raw = ctx.cols["ack"][rows].astype(np.int64)
        step = ((np.diff(raw) + (1 << 31)) % MOD) - (1 << 31)
        pos = np.concatenate([[0], np.cumsum(step)])
        span = int(pos.max() - pos.min())
        if span <= 1:
            continue
        conn, srv = grp // 2, bool(grp % 2)
        r = int(rows[0])
        yield make(
            ctx, "segment_not_captured", conn, rows[:20].tolist(), main=r,
            expected=f"segments from {who(ctx, conn, srv)} in the capture",
            observed=f"none captured; the peer acknowledged {span} bytes of them",
            observed_rel="missing",
            message=f"one-sided capture: nothing from {who(ctx, conn, srv)} was captured, yet the "
                    f"peer acknowledged {span} bytes from it (first at frame {ctx.frame(r)})",
            message_zh=f"单向抓包：抓包中没有 {who(ctx, conn, srv, zh=True)} 发出的任何报文段，"
                       f"但对方确认了它发送的 {span} 字节（第一次在帧 {ctx.frame(r)}）")
