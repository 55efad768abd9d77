"""SYN flood: many half-open connections to one service within a time window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from analyzer.checks.context import Ctx, context, first_in, make
from analyzer.checks.model import CheckSpec, Finding, register

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["SYN_FLOOD_MIN_HALF_OPEN", "SYN_FLOOD_WINDOW_S", "half_open_mask"]

#: Half-open connections to one service (address and port) within the window that make a
#: flood. Linux's default SYN queue (tcp_max_syn_backlog) holds 128 to 1024 entries and a
#: half-open entry lives about 63 s (5 SYN-ACK retries); 100 within 10 s fills a small one.
SYN_FLOOD_MIN_HALF_OPEN = 100
#: Length of the sliding window, in seconds.
SYN_FLOOD_WINDOW_S = 10.0

SYN_FLOOD = CheckSpec(
    id="syn_flood", severity="warning", category="half_open",
    title="SYN flood: many half-open connections to one service",
    title_zh="SYN 泛洪攻击：同一服务上出现大量半开连接",
    rfc="RFC 4987; RFC 9293 §3.10.7.2",
    explanation=(
        "Every SYN a server answers occupies an entry in its SYN queue (the half-open "
        "queue) until the third handshake segment arrives or the SYN-ACK retries run "
        "out. A SYN flood sends SYNs — often from spoofed source addresses that never "
        "answer — faster than the entries expire, so the queue fills and genuine clients "
        f"can no longer connect. This check counts, per service (server address and port), "
        f"connections whose handshake never completed and that were not refused, and "
        f"reports a window of {SYN_FLOOD_WINDOW_S:g} s holding at least "
        f"{SYN_FLOOD_MIN_HALF_OPEN} of them (both thresholds are parameters), with the "
        "number of distinct source addresses and ports: one source with many ports looks "
        "like a misbehaving client or a test, many sources like a distributed or spoofed "
        "attack. SYN cookies (RFC 4987) let a server survive one. Many half-open "
        "connections spread over many ports of one host are a port scan instead."),
    explanation_zh=(
        "服务器应答的每个 SYN 都会在半连接队列中占用一个条目，直到第三次握手到达或 SYN-ACK "
        "重传次数用完为止。SYN 泛洪攻击以比条目过期更快的速度发送 SYN（通常来自不会应答的"
        "伪造源地址），使队列被占满，正常客户端再也无法建立连接。这项检查按服务（服务器地址"
        "和端口）统计握手从未完成、也没有被拒绝的连接，若在 "
        f"{SYN_FLOOD_WINDOW_S:g} 秒的窗口内至少有 {SYN_FLOOD_MIN_HALF_OPEN} 个（两个阈值都是"
        "参数）就报告，并给出不同源地址和源端口的数量：一个源地址、很多端口像是行为异常的"
        "客户端或测试；很多源地址则像是分布式或伪造地址的攻击。SYN cookie（RFC 4987）可以让"
        "服务器扛住攻击。如果半开连接分散在同一主机的许多端口上，那是端口扫描而不是泛洪。"))


def half_open_mask(ctx: Ctx) -> np.ndarray:
    """Per connection: a client SYN, no completed handshake, not refused by the server."""
    n = ctx.n_conn
    syn = first_in(ctx.conn, ctx.pure_syn & ~ctx.srv, n)
    sa = first_in(ctx.conn, ctx.synack & ctx.srv, n)
    idx = np.arange(ctx.n)
    after = sa[ctx.conn]
    third = first_in(ctx.conn, ~ctx.srv & ctx.has_ack & ~ctx.rst & ((ctx.flags & 0x02) == 0)
                     & (after >= 0) & (idx > after), n)
    refused = (first_in(ctx.conn, ctx.rst & ctx.srv, n) >= 0) & (sa < 0)
    return (syn >= 0) & (third < 0) & ~refused


@register(SYN_FLOOD)
def syn_flood(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    if ctx.n_conn == 0:
        return
    ho = np.flatnonzero(half_open_mask(ctx))
    if len(ho) < SYN_FLOOD_MIN_HALF_OPEN:
        return
    conns = result.connections
    server = conns["server"].cat.codes.to_numpy().astype(np.int64)
    port = conns["server_port"].to_numpy().astype(np.int64)
    service = server * 65536 + port
    first_syn = first_in(ctx.conn, ctx.pure_syn & ~ctx.srv, ctx.n_conn)
    t = ctx.cols["ts_ns"][first_syn[ho]].astype(np.int64)
    keys, counts = np.unique(service[ho], return_counts=True)
    for key in keys[counts >= SYN_FLOOD_MIN_HALF_OPEN].tolist():
        sel = ho[service[ho] == key]
        ts = t[service[ho] == key]
        order = np.argsort(ts, kind="stable")
        sel, ts = sel[order], ts[order]
        ends = np.searchsorted(ts, ts + int(SYN_FLOOD_WINDOW_S * 1e9), side="right")
        width = ends - np.arange(len(ts))
        best = int(np.argmax(width))
        if width[best] >= SYN_FLOOD_MIN_HALF_OPEN:
            yield _flood_finding(ctx, sel, best, int(ends[best]), first_syn)


def _flood_finding(ctx: Ctx, sel: np.ndarray, lo: int, hi: int,
                   first_syn: np.ndarray) -> Finding:
    conns = ctx.result.connections
    window = sel[lo:hi]
    count = len(window)
    sources = conns["client"].cat.codes.to_numpy()[window]
    n_src = len(np.unique(sources))
    n_ports = len(np.unique(conns["client_port"].to_numpy()[window]))
    ts = ctx.cols["ts_ns"][first_syn[window]]
    span = (int(ts.max()) - int(ts.min())) / 1e9
    row = conns.iloc[int(window[0])]
    sep = ":" if int(row["ip_version"]) == 4 else "."
    svc = f"{row['server']}{sep}{row['server_port']}"
    total = len(sel)
    return make(
        ctx, "syn_flood", int(window[0]), first_syn[window[:20]].tolist(),
        expected=f"fewer than {SYN_FLOOD_MIN_HALF_OPEN} half-open connections to one service "
                 f"within {SYN_FLOOD_WINDOW_S:g} s",
        observed=f"{count} half-open connections to {svc} within {span:.3f} s from {n_src} "
                 f"source address(es) and {n_ports} source port(s); {total} in the capture",
        message=f"SYN flood on {svc}: {count} half-open connections within {span:.3f} s "
                f"(window {SYN_FLOOD_WINDOW_S:g} s) from {n_src} source address(es), "
                f"{n_ports} source port(s); {total} half-open in the whole capture",
        message_zh=f"{svc} 遭受 SYN 泛洪：{span:.3f} 秒内（窗口 {SYN_FLOOD_WINDOW_S:g} 秒）出现 "
                   f"{count} 个半开连接，来自 {n_src} 个源地址、{n_ports} 个源端口；整个抓包中共 "
                   f"{total} 个半开连接")
