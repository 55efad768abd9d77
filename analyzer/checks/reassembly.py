"""Reassembly findings: overlapping copies with different bytes, data below the ISN, data
beyond the receiver's window (see analyzer.reassembly). ``data_after_fin`` is a teardown
check (analyzer/checks/teardown.py); the reassembled stream leaves those bytes out.

Only ``overlap_different_data`` reads payload bytes, and only the overlapping ranges,
after a vectorized pass has found them; it does nothing when the capture cannot be read
again (stdin) and stops comparing after ``MAX_COMPARE_BYTES`` (with a warning).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from analyzer.checks.context import Ctx, context, make, num, numz, who
from analyzer.checks.model import CheckSpec, Finding, register
from analyzer.reassembly.compare import compare_overlaps
from analyzer.reassembly.layout import Layout, lay_out
from analyzer.reassembly.segments import Placement, Segments, data_segments, place
from analyzer.reassembly.source import PayloadSource, rereadable
from analyzer.reassembly.window import beyond_window

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["MAX_COMPARE_BYTES", "MAX_PER_STREAM", "overlapping_groups"]

#: Overlapping bytes compared per analysis (each copy is read): a cap on hostile input.
MAX_COMPARE_BYTES = 64 << 20
#: Findings per stream (connection direction) and check; the first one counts them all.
MAX_PER_STREAM = 20

OVERLAP_DIFFERENT_DATA = CheckSpec(
    id="overlap_different_data", severity="error", category="reassembly",
    title="Overlapping segments carry different bytes",
    title_zh="重叠的报文段携带了不同的数据",
    rfc="RFC 9293 §3.10.7.4; RFC 1122 §4.2.2.10",
    explanation=(
        "A retransmission must repeat exactly the bytes sent before at those sequence "
        "numbers: each sequence number names one byte of the stream. Two captured copies "
        "of the same stream range whose bytes differ mean either a sender or middlebox bug "
        "(a NAT or proxy rewriting payloads, a broken offload engine) or a deliberate "
        "evasion: an attacker sends one version to the intrusion-detection system and "
        "another to the host, knowing that receivers keep different copies (Linux keeps "
        "the first bytes it received, other stacks the last). What the application really "
        "read depends on which copy reached it first; `synack follow --policy first|last` "
        "shows either version."),
    explanation_zh=(
        "重传必须在相同的序号上重复之前发送过的完全相同的字节：每个序号对应数据流中的一个字节。"
        "抓到的同一段数据的两个副本内容不同，说明发送方或中间设备有缺陷（改写数据的 NAT 或代理、"
        "有问题的卸载引擎），或者是有意的规避攻击：攻击者给入侵检测系统看一个版本、给主机另一个"
        "版本，利用的正是不同的接收方保留不同的副本（Linux 保留最先收到的字节，另一些协议栈保留"
        "最后收到的）。应用程序实际读到哪个版本取决于哪个副本先到达；`synack follow --policy "
        "first|last` 可以分别显示两个版本。"),
    suricata="stream.reassembly_overlap_different_data")

DATA_BELOW_ISN = CheckSpec(
    id="data_below_isn", severity="warning", category="reassembly",
    title="Data at or below the sender's initial sequence number",
    title_zh="数据位于发送方初始序号（ISN）处或之前",
    rfc="RFC 9293 §3.4, §3.10.7.4",
    explanation=(
        "The SYN's sequence number (the ISN) is used by the SYN itself; the first data byte "
        "of the connection has sequence number ISN + 1. A segment carrying bytes at or "
        "before the ISN cannot belong to this connection's stream: it is an old duplicate "
        "from an earlier connection on the same addresses and ports (which is what "
        "TIME_WAIT protects against), a segment of a connection whose SYN was resent with "
        "another ISN, or crafted. The receiver drops those bytes as outside its window; "
        "the reassembled stream leaves them out."),
    explanation_zh=(
        "SYN 的序列号（ISN）由 SYN 本身占用；连接的第一个数据字节的序号是 ISN + 1。携带 ISN 处"
        "或之前字节的报文段不可能属于这个连接的数据流：它是同一地址和端口上先前连接的旧重复报文"
        "（这正是 TIME_WAIT 要防止的），或者是 SYN 以另一个 ISN 重发的连接的报文段，或者是伪造的。"
        "接收方会把这些字节当作窗口之外的数据丢弃；重组后的数据流也不包含它们。"),
    suricata="stream.reassembly_segment_before_base_seq")

DATA_BEYOND_WINDOW = CheckSpec(
    id="data_beyond_window", severity="warning", category="reassembly",
    title="Data sent beyond the receiver's advertised window",
    title_zh="发送的数据超出了接收方通告的窗口",
    rfc="RFC 9293 §3.8.6, §3.10.7.4; RFC 7323 §2",
    explanation=(
        "A receiver tells the sender how many bytes past its acknowledgement it can accept "
        "(the window, scaled by the factor both SYNs agreed on). A sender must not send "
        "bytes beyond that right edge: the receiver drops them, and the sender has to "
        "send them again. Seeing it means a sender that ignores flow control, a middlebox "
        "that rewrote the window or the window-scale option, or window updates the capture "
        "missed. A one-byte segment past a zero window is a legitimate window probe and "
        "is not reported."),
    explanation_zh=(
        "接收方告诉发送方在其确认号之后还能接收多少字节（即窗口，并按两个 SYN 协商的扩大因子"
        "放大）。发送方不得发送超出这个右边界的字节：接收方会丢弃它们，发送方只能重发。出现这种"
        "情况说明发送方无视流量控制，或中间设备改写了窗口或窗口扩大选项，或者抓包漏掉了窗口更新。"
        "零窗口时越过边界的单字节报文段是合法的窗口探测，不会报告。"),
    suricata="stream.est_packet_out_of_window")


def overlapping_groups(seg: Segments) -> np.ndarray:
    """Groups in which some captured segment overlaps an earlier-sorted one (vectorized)."""
    if len(seg.row) < 2:
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((seg.start, seg.group))
    g, s, e = seg.group[order], seg.start[order], seg.cap_end[order]
    starts = np.ones(len(g), dtype=bool)
    starts[1:] = g[1:] != g[:-1]
    seg_id = np.cumsum(starts) - 1
    span = np.int64(1) << 42
    reach = np.maximum.accumulate(e + seg_id * span) - seg_id * span
    hit = np.flatnonzero(~starts[1:] & (s[1:] < reach[:-1])) + 1
    return np.unique(g[hit])


_LAST: list[tuple[weakref.ref[AnalysisResult], Placement]] = []


def _placement(ctx: Ctx) -> Placement:
    """The stream placement of ``ctx.result`` (computed once for the three checks)."""
    if _LAST and _LAST[0][0]() is ctx.result:
        return _LAST[0][1]
    p = place(ctx.cols, ctx.result.flows)
    _LAST[:] = [(weakref.ref(ctx.result), p)]
    return p


@register(OVERLAP_DIFFERENT_DATA)
def overlap_different_data(result: AnalysisResult) -> Iterator[Finding]:
    if not rereadable(result.source) or len(result.columns["frame"]) == 0:
        return
    ctx = context(result)
    p = _placement(ctx)
    seg = data_segments(ctx.cols, result.flows, p)
    groups = overlapping_groups(seg)
    if len(groups) == 0:
        return
    lay = lay_out(seg, groups, p.length, "first")
    with PayloadSource(result.source) as src:
        cmp = compare_overlaps(lay, src, MAX_COMPARE_BYTES)
    if not cmp.complete:
        result.warnings.append(
            f"overlap_different_data: compared the first {MAX_COMPARE_BYTES >> 20} MiB of "
            "overlapping bytes only (cap); later overlaps were not checked")
    bad = np.flatnonzero(cmp.differing > 0)
    for grp in np.unique(lay.o_group[bad]).tolist():
        mine = bad[lay.o_group[bad] == grp]
        for k, i in enumerate(mine[:MAX_PER_STREAM].tolist()):
            yield _overlap_finding(ctx, p, lay, i, int(cmp.differing[i]), int(cmp.first[i]),
                                   len(mine) if k == 0 else 0)


def _overlap_finding(ctx: Ctx, p: Placement, lay: Layout, i: int, ndiff: int, first: int,
                     total: int) -> Finding:
    seg = lay.seg
    grp = int(lay.o_group[i])
    conn, srv = grp // 2, bool(grp % 2)
    kept, other = int(seg.row[lay.o_kept[i]]), int(seg.row[lay.o_other[i]])
    a, n = int(lay.o_off[i]), int(lay.o_len[i])
    origin = int(p.origin[grp])
    rel_a, rel_b = a + origin, a + n - 1 + origin
    raw_a = ctx.raw(grp, rel_a)
    fk, fo = ctx.frame(kept), ctx.frame(other)
    ko, oo = int(seg.start[lay.o_kept[i]]), int(seg.start[lay.o_other[i]])
    more = f" ({total} such overlaps in this direction)" if total > 1 else ""
    more_z = f"（该方向共 {total} 处）" if total > 1 else ""
    return make(
        ctx, "overlap_different_data", conn, [kept, other], main=other,
        expected=f"frame {fo} repeats the bytes of frame {fk} at stream offsets {a}–{a + n - 1} "
                 f"(seq {num(raw_a, rel_a)})",
        observed=f"{ndiff} of {n} bytes differ, first at offset {first}",
        expected_rel=f"{rel_a}–{rel_b}", observed_rel=str(first + origin),
        message=f"{who(ctx, conn, srv)} sent two different versions of stream bytes "
                f"{a}–{a + n - 1}: frame {fk} (segment at offset {ko}, kept: first copy, as "
                f"Linux keeps) and frame {fo} (segment at offset {oo}) differ in {ndiff} of "
                f"{n} bytes, first at offset {first}{more}",
        message_zh=f"{who(ctx, conn, srv, zh=True)} 对数据流字节 {a}–{a + n - 1} 发送了两个不同"
                   f"的版本：帧 {fk}（报文段起始偏移 {ko}，保留：与 Linux 一样保留第一个副本）"
                   f"和帧 {fo}"
                   f"（报文段起始偏移 {oo}）在 {n} 个字节中有 {ndiff} 个不同，第一个位于偏移 "
                   f"{first}{more_z}")


def _per_group(ctx: Ctx, rows: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(group, its rows) for rows sorted by capture order."""
    grp = ctx.group[rows]
    for g in np.unique(grp).tolist():
        yield g, rows[grp == g]


@register(DATA_BELOW_ISN)
def data_below_isn(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    if ctx.n == 0:
        return
    p = _placement(ctx)
    rows_all = np.flatnonzero(p.below_isn)
    for grp, rows in _per_group(ctx, rows_all):
        conn, srv = grp // 2, bool(grp % 2)
        r = int(rows[0])
        isn = ctx.isn(grp)
        below = np.minimum(p.sent_end[rows], 0) - p.start[rows]
        nbytes = int(below.sum())
        seq, rel = int(ctx.cols["seq"][r]), int(ctx.rel_seq[r])
        first_ok = ctx.raw(grp, 1)
        yield make(
            ctx, "data_below_isn", conn, rows.tolist()[:MAX_PER_STREAM], main=r,
            expected=f"data at seq ≥ ISN + 1 = {num(first_ok, 1)}",
            observed=f"{int(ctx.plen[r])} bytes at seq {num(seq, rel)}; {len(rows)} segment(s), "
                     f"{nbytes} bytes at or below the ISN",
            expected_rel="1", observed_rel=str(rel),
            message=f"{who(ctx, conn, srv)} sent {nbytes} bytes at or below its ISN {isn} in "
                    f"{len(rows)} segment(s), first at frame {ctx.frame(r)} (seq "
                    f"{num(seq, rel)}); they are not part of the stream",
            message_zh=f"{who(ctx, conn, srv, zh=True)} 在其 ISN {isn} 处或之前发送了 "
                       f"{nbytes} 字节，共 {len(rows)} 个报文段，第一个在帧 {ctx.frame(r)}（序列号 "
                       f"{numz(seq, rel)}）；它们不属于数据流")


@register(DATA_BEYOND_WINDOW)
def data_beyond_window(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    if ctx.n == 0:
        return
    p = _placement(ctx)
    _LAST.clear()  # the last of the three checks: do not keep the placement alive
    bw = beyond_window(ctx.cols, result.flows, p.data)
    for grp, rows in _per_group(ctx, bw.rows):
        conn, srv = grp // 2, bool(grp % 2)
        at = np.searchsorted(bw.rows, rows)
        r, edge, excess = int(rows[0]), int(bw.edge[at[0]]), int(bw.excess[at[0]])
        end = edge + excess
        yield make(
            ctx, "data_beyond_window", conn, rows.tolist()[:MAX_PER_STREAM], main=r,
            expected=f"data up to the receiver's right edge {num(ctx.raw(grp, edge), edge)}",
            observed=f"data up to {num(ctx.raw(grp, end), end)}: {excess} bytes beyond; "
                     f"{len(rows)} segment(s), up to {int(bw.excess[at].max())} bytes beyond",
            expected_rel=str(edge), observed_rel=str(end),
            message=f"{who(ctx, conn, srv)} sent data past the window {who(ctx, conn, not srv)} "
                    f"advertised: frame {ctx.frame(r)} ends {excess} bytes beyond the right edge "
                    f"(ack + window); {len(rows)} segment(s) in all",
            message_zh=f"{who(ctx, conn, srv, zh=True)} 发送的数据超出了 "
                       f"{who(ctx, conn, not srv, zh=True)} 通告的窗口：帧 {ctx.frame(r)} "
                       f"越过右边界（确认号 + 窗口）{excess} 字节；共 {len(rows)} 个报文段")
