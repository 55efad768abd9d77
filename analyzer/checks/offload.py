"""Artefacts of NIC offloads on the capturing host: checksums not yet filled in, and
segments larger than the MSS (TSO/GSO before segmentation, GRO/LRO after coalescing)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from analyzer.checks.context import Ctx, context, first_in, make, who
from analyzer.checks.model import CheckSpec, Finding, register
from analyzer.checks.queries import group_max

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["OFFLOAD_BAD_SHARE"]

#: Without acknowledged bad segments, a direction counts as offloaded when at least this
#: share of its verified checksums are bad and the other direction has none.
OFFLOAD_BAD_SHARE = 0.5

BAD_CHECKSUM_LIKELY_OFFLOAD = CheckSpec(
    id="bad_checksum_likely_offload", severity="info", category="capture",
    title="Bad TCP checksums caused by checksum offload",
    title_zh="校验和卸载导致的 TCP 校验和错误",
    rfc="RFC 9293 §3.1 (checksum); RFC 1122 §4.2.2.7",
    explanation=(
        "Modern network cards compute TCP checksums themselves (checksum offload). A "
        "capture taken on the sending host sees each outgoing packet before the card "
        "fills in the checksum, so the checksum in the file is wrong although the packet "
        "on the wire was fine. Two signs tell this apart from real corruption: the bad "
        "checksums are on the packets one host sent, and the peer acknowledged those "
        "segments — a receiver silently drops a segment whose checksum is really wrong, "
        "so it would never acknowledge it. The finding names the sending host; disable "
        "offload (ethtool -K IFACE tx off) or capture elsewhere to see real checksums, or "
        "run synack with --no-checksums."),
    explanation_zh=(
        "现代网卡会自己计算 TCP 校验和（校验和卸载）。在发送主机上抓包时，看到的是网卡填入"
        "校验和之前的外发包，所以文件中的校验和是错的，而线路上的包其实没有问题。有两个迹象"
        "可以把它和真正的数据损坏区分开：错误的校验和都出现在某一台主机发出的包上；而且对方"
        "确认了这些报文段——接收方会悄悄丢弃校验和真正错误的报文段，绝不会确认它。结果中会"
        "指出是哪台主机发送的；关闭卸载（ethtool -K 接口 tx off）、换个位置抓包才能看到真实"
        "的校验和，也可以用 --no-checksums 运行 synack。"),
    zeek="bad_TCP_checksum")


def _acked(ctx: Ctx, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` the peer acknowledged without the sender resending them first.

    A segment counts when it consumes sequence space, the peer's acks reach its end, and
    the sender's next segment does not start inside it (no retransmission in between)."""
    peer_max = group_max(ctx, ctx.rel_ack, ctx.has_ack)
    order = ctx.by_group.order                   # the sender's next segment
    nxt = np.full(ctx.n, -1, dtype=np.int64)
    same = ~ctx.by_group.starts[1:]
    nxt[order[:-1][same]] = order[1:][same]
    end = ctx.seg_end[rows]
    after = nxt[rows]
    moved_on = (after < 0) | (ctx.rel_seq[np.maximum(after, 0)] >= end)
    consumes = end > ctx.rel_seq[rows]
    return consumes & (end <= peer_max[ctx.peer[rows]]) & moved_on


@register(BAD_CHECKSUM_LIKELY_OFFLOAD)
def bad_checksum_likely_offload(result: AnalysisResult) -> Iterator[Finding]:
    """One finding per sending host (offload is a property of the host, not of a connection)."""
    ctx = context(result)
    csum = ctx.cols["csum_ok"]
    bad = np.flatnonzero(csum == 0)
    if len(bad) == 0:
        return
    src = ctx.cols["src"].astype(np.int64)
    n_hosts = int(src.max()) + 1
    n_bad = np.bincount(src[bad], minlength=n_hosts)
    n_ver = np.bincount(src, weights=(csum >= 0), minlength=n_hosts)
    n_acked = np.bincount(src[bad], weights=_acked(ctx, bad), minlength=n_hosts)
    share = np.divide(n_bad, np.maximum(n_ver, 1))
    others = n_bad.sum() - n_bad
    likely = (n_bad > 0) & ((n_acked > 0) | ((others == 0) & (share >= OFFLOAD_BAD_SHARE)))
    for host in np.flatnonzero(likely).tolist():
        rows = bad[src[bad] == host]
        yield _offload_finding(ctx, rows, int(n_bad[host]), int(n_ver[host]),
                               int(n_acked[host]))


def _offload_finding(ctx: Ctx, rows: np.ndarray, k: int, tot: int, a: int) -> Finding:
    r = int(rows[0])
    conn, srv = int(ctx.conn[r]), bool(ctx.srv[r])
    host = ctx.result.addresses[int(ctx.cols["src"][r])]
    n_conns = len(np.unique(ctx.conn[rows]))
    if a:
        why = f"{a} of them were acknowledged by the peer, so they arrived intact"
        why_z = f"其中 {a} 个被对方确认，说明它们完好地到达了对方"
    else:
        why = "only this host's packets have bad checksums"
        why_z = "只有这台主机发出的包校验和错误"
    return make(
        ctx, "bad_checksum_likely_offload", conn, rows.tolist()[:20], main=r,
        expected="valid TCP checksums",
        observed=f"{k} of {tot} verified segments sent by {host} bad, in {n_conns} "
                 f"connection(s)",
        message=f"{k} of {tot} segments sent by {host} ({n_conns} connection(s), first "
                f"{who(ctx, conn, srv)}) have bad TCP checksums; {why}: checksum offload on "
                "that host, not corruption",
        message_zh=f"{host} 发出的 {tot} 个报文段中有 {k} 个 TCP 校验和错误（涉及 {n_conns} 个"
                   f"连接，第一个是 {who(ctx, conn, srv, zh=True)}）；{why_z}：这是该主机的"
                   "校验和卸载，不是数据损坏")


SEGMENT_EXCEEDS_MSS = CheckSpec(
    id="segment_exceeds_mss", severity="info", category="capture",
    title="Segments larger than the MSS (segmentation or receive offload)",
    title_zh="报文段超过最大报文段长度 MSS（分段卸载或接收合并）",
    rfc="RFC 9293 §3.7.1; RFC 6691",
    explanation=(
        "Each side announces on its SYN the maximum segment size (MSS) it can receive, and "
        "the peer must not send segments with more payload than that. A captured segment "
        "larger than the receiver's MSS is almost always an offload artefact: with TCP "
        "segmentation offload (TSO/GSO) the sending host hands the card one large segment "
        "that the card cuts into MSS-sized ones after the capture point; with receive "
        "offload (GRO/LRO) the receiving host merges several segments before the capture "
        "point sees them. Sizes, packet counts and timings of those segments are then not "
        "what was on the wire."),
    explanation_zh=(
        "每一方都在自己的 SYN 中宣告能接收的最大报文段长度 MSS，对方发送的报文段数据不能超过"
        "这个值。抓到的报文段比接收方的 MSS 还大，几乎总是卸载造成的：使用 TCP 分段卸载"
        "（TSO/GSO）时，发送主机交给网卡一个大报文段，网卡在抓包点之后才把它切成 MSS 大小；"
        "使用接收合并（GRO/LRO）时，接收主机在抓包点之前就把多个报文段合并了。这时这些报文段"
        "的大小、个数和时间都不是线路上的真实情况。"))


@register(SEGMENT_EXCEEDS_MSS)
def segment_exceeds_mss(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    n_groups = 2 * ctx.n_conn
    with_mss = ((ctx.flags & 0x02) != 0) & (ctx.cols["opt_mss"] > 0)
    first = first_in(ctx.group, with_mss, n_groups)
    mss = np.where(first >= 0, ctx.cols["opt_mss"][np.maximum(first, 0)], -1).astype(np.int64)
    limit = mss[ctx.peer]
    big = np.flatnonzero((limit > 0) & (ctx.plen > limit))
    done: set[int] = set()
    for r in big.tolist():
        grp = int(ctx.group[r])
        if grp in done:
            continue
        done.add(grp)
        rows = big[ctx.group[big] == grp]
        conn, srv = grp // 2, bool(grp % 2)
        largest, m = int(ctx.plen[rows].max()), int(mss[grp ^ 1])
        yield make(
            ctx, "segment_exceeds_mss", conn, rows.tolist()[:20], main=r,
            expected=f"payload ≤ MSS {m} announced by the peer",
            observed=f"{len(rows)} segments above it, largest {largest} bytes",
            message=f"{len(rows)} segment(s) from {who(ctx, conn, srv)} carry more than the "
                    f"peer's MSS of {m} bytes (largest {largest}, first at frame "
                    f"{ctx.frame(r)}): TSO/GSO on the sender or GRO/LRO on the receiver",
            message_zh=f"{who(ctx, conn, srv, zh=True)} 有 {len(rows)} 个报文段超过对方宣告的 "
                       f"MSS {m} 字节（最大 {largest} 字节，第一个在帧 {ctx.frame(r)}）：发送方"
                       f"的 TSO/GSO 或接收方的 GRO/LRO 造成")
