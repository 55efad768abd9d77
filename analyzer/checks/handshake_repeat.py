"""Repeated or crossing handshake segments: a SYN resent with a new ISN, a SYN-ACK resent
with other numbers, and simultaneous open."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from analyzer.checks.context import MOD, Ctx, context, first_in, make, num, numz, opt, who
from analyzer.checks.model import CheckSpec, Finding, register

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__: list[str] = []


def _by_group(ctx: Ctx, rows: np.ndarray) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for r in rows.tolist():
        out.setdefault(int(ctx.group[r]), []).append(r)
    return out


SYN_RESENT_WITH_NEW_ISN = CheckSpec(
    id="syn_resent_with_new_isn", severity="warning", category="handshake",
    title="SYN resent with a different initial sequence number",
    title_zh="重传的 SYN 使用了不同的初始序列号",
    rfc="RFC 9293 §3.4.1, §3.8.1",
    explanation=(
        "When a SYN gets no answer, TCP retransmits it after the retransmission timeout "
        "(RTO), and a retransmission carries the same initial sequence number (ISN): it is "
        "the same segment sent again. A second SYN on the same 4-tuple with a different "
        "ISN, before anything answered the first, is a new connection attempt on top of "
        "the first one — typical of an application that closes and reconnects from the "
        "same port, of a load generator, of a NAT rewriting sequence numbers, or of "
        "spoofed SYNs. The server may answer either SYN; the SYN-ACK's ack shows which."),
    explanation_zh=(
        "SYN 得不到应答时，TCP 会在超时重传时间（RTO）后重传它，重传的报文段使用相同的初始"
        "序列号（ISN）：它就是同一个报文段再发一次。在第一个 SYN 得到任何应答之前，同一个"
        "四元组上又出现了初始序列号不同的 SYN，这是叠加在第一次之上的一次新的连接尝试——"
        "常见于应用关闭后从同一端口重新连接、压测工具、改写序列号的 NAT，或伪造的 SYN。"
        "服务器可能应答其中任何一个 SYN，看 SYN-ACK 的确认号就知道是哪一个。"),
    zeek="SYN_seq_jump", suricata="stream.3whs_syn_resend_diff_seq_on_syn_recv")


@register(SYN_RESENT_WITH_NEW_ISN)
def syn_resent_with_new_isn(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    for first, new_rows in _within_connection(ctx) + _across_connections(ctx):
        yield _new_isn_finding(ctx, first, new_rows)


def _within_connection(ctx: Ctx) -> list[tuple[int, list[int]]]:
    """SYNs of one connection and direction whose seq differs from the first SYN's."""
    syns = np.flatnonzero(ctx.pure_syn)
    isn = ctx.result.flows.isn[ctx.group[syns]] % MOD
    cand = syns[ctx.cols["seq"][syns].astype(np.int64) != isn]
    first = first_in(ctx.group, ctx.pure_syn, 2 * ctx.n_conn)
    return [(int(first[g]), rows) for g, rows in _by_group(ctx, cand).items() if first[g] >= 0]


def _across_connections(ctx: Ctx) -> list[tuple[int, list[int]]]:
    """A connection opened by a SYN with a new ISN on a 4-tuple whose previous incarnation,
    from the same sender, had shown nothing but unanswered SYNs so far."""
    conns = ctx.result.connections
    if len(conns) < 2:
        return []
    tuple4 = [conns["client"].cat.codes.to_numpy().astype(np.int64),
              conns["client_port"].to_numpy().astype(np.int64),
              conns["server"].cat.codes.to_numpy().astype(np.int64),
              conns["server_port"].to_numpy().astype(np.int64)]
    first = first_in(ctx.conn, np.ones(ctx.n, dtype=bool), ctx.n_conn)
    order = np.lexsort((first, *tuple4[::-1]))          # by 4-tuple, then first packet
    same = np.ones(len(order) - 1, dtype=bool)
    for k in tuple4:
        same &= k[order][1:] == k[order][:-1]
    opens = ctx.pure_syn[first[order][1:]] & ~ctx.srv[first[order][1:]]
    out = []
    for a, b in zip(order[:-1][same & opens].tolist(), order[1:][same & opens].tolist(),
                    strict=True):
        start = int(first[b])
        before = ctx.conn_rows(a)
        before = before[before < start]
        syns = before[ctx.pure_syn[before] & ~ctx.srv[before]]
        if len(syns) and len(syns) == len(before):
            out.append((int(syns[0]), [start]))
    return out


def _new_isn_finding(ctx: Ctx, f0: int, rows: list[int]) -> Finding:
    seq = ctx.cols["seq"]
    r = rows[0]
    conn, srv = int(ctx.conn[r]), bool(ctx.srv[r])
    exp = num(int(seq[f0]), None, "ISN of the first SYN")
    rel = int(ctx.rel_seq[r]) if ctx.conn[r] == ctx.conn[f0] else 0
    obs, obs_z = num(int(seq[r]), rel), numz(int(seq[r]), rel)
    more = f" ({len(rows)} SYNs with new ISNs)" if len(rows) > 1 else ""
    more_z = f"（共 {len(rows)} 个新 ISN 的 SYN）" if len(rows) > 1 else ""
    return make(
        ctx, "syn_resent_with_new_isn", conn, [f0, *rows], main=r, expected=exp,
        observed=obs, observed_rel=str(rel),
        message=f"{who(ctx, conn, srv)} sent another SYN (frame {ctx.frame(r)}) with ISN "
                f"{int(seq[r])} before its first SYN (frame {ctx.frame(f0)}, ISN {int(seq[f0])}) "
                f"was answered; a retransmitted SYN keeps its ISN{more}",
        message_zh=f"{who(ctx, conn, srv, zh=True)} 在第一个 SYN（帧 {ctx.frame(f0)}，初始"
                   f"序列号 {int(seq[f0])}）得到应答之前又发送了 SYN（帧 {ctx.frame(r)}），"
                   f"初始序列号为 {obs_z}；重传的 SYN 应保持相同的初始序列号{more_z}")


SYNACK_RESENT = CheckSpec(
    id="synack_resent_with_different_seq_or_ack", severity="warning", category="handshake",
    title="SYN-ACK resent with a different seq or ack",
    title_zh="重传的 SYN-ACK 序列号或确认号发生了变化",
    rfc="RFC 9293 §3.4, §3.8.1",
    explanation=(
        "A server in SYN_RECEIVED whose SYN-ACK is not acknowledged retransmits the same "
        "SYN-ACK: same sequence number (its ISN) and same acknowledgement number (the "
        "client's ISN + 1). A repeated SYN-ACK with another seq means the server forgot the "
        "first half-open connection and started a new one (its SYN-ACK retries ran out and "
        "a later SYN started over, its SYN queue overflowed, a SYN cookie was recomputed, "
        "or another host answers); another ack that no new SYN from "
        "the client explains means it answers a SYN this capture does not show. Either way "
        "the client may find the second SYN-ACK unacceptable and answer it with RST."),
    explanation_zh=(
        "处于 SYN_RECEIVED（同步收到）状态的服务器，如果 SYN-ACK 得不到确认，会重传同一个 "
        "SYN-ACK：序列号（它的 ISN）相同，确认号（客户端 ISN + 1）也相同。重传的 SYN-ACK "
        "序列号不同，说明服务器忘记了第一个半开连接而新建了一个（SYN-ACK 重传次数用完后又收到"
        "新的 SYN、半连接队列溢出、重新计算了 SYN cookie，或是另一台主机在应答）；确认号不同"
        "而客户端又没有发送新的 SYN，说明它应答的是本抓包中看不到的某个 SYN。两种情况下"
        "客户端都可能认为第二个 SYN-ACK 不可接受，并以 RST 回应。"),
    suricata="stream.3whs_synack_resend_with_different_ack, "
             "stream.3whs_synack_resend_with_diff_seq")


def _ack_explained(ctx: Ctx, first: int, row: int) -> bool:
    """A changed ack is explained by a new peer SYN (new ISN) between the two SYN-ACKs."""
    rows = ctx.conn_rows(int(ctx.conn[row]))
    syns = rows[(rows > first) & (rows < row) & ctx.pure_syn[rows]
                & (ctx.srv[rows] != ctx.srv[row])]
    ack = int(ctx.cols["ack"][row])
    return any(ack in ((int(ctx.cols["seq"][s]) + 1) % MOD,
                       (int(ctx.cols["seq"][s]) + 1 + int(ctx.plen[s])) % MOD)
               for s in syns.tolist())


@register(SYNACK_RESENT)
def synack_resent(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    first = first_in(ctx.group, ctx.synack, 2 * ctx.n_conn)
    f = first[ctx.group]
    seq, ack = ctx.cols["seq"].astype(np.int64), ctx.cols["ack"].astype(np.int64)
    safe = np.maximum(f, 0)
    differ = ctx.synack & (f >= 0) & ((seq != seq[safe]) | (ack != ack[safe]))
    for grp, rows in _by_group(ctx, np.flatnonzero(differ)).items():
        f0 = int(first[grp])
        bad = [r for r in rows if seq[r] != seq[f0] or not _ack_explained(ctx, f0, r)]
        if not bad:
            continue
        r = bad[0]
        conn, srv = grp // 2, bool(grp % 2)
        rs, ra = opt(ctx.rel_seq[r]), opt(ctx.rel_ack[r])
        rs0, ra0 = opt(ctx.rel_seq[f0]), opt(ctx.rel_ack[f0])
        exp = f"seq {num(int(seq[f0]), rs0)}, ack {num(int(ack[f0]), ra0)}"
        obs = f"seq {num(int(seq[r]), rs)}, ack {num(int(ack[r]), ra)}"
        obs_z = f"序列号 {numz(int(seq[r]), rs)}，确认号 {numz(int(ack[r]), ra)}"
        exp_z = f"序列号 {numz(int(seq[f0]), rs0)}，确认号 {numz(int(ack[f0]), ra0)}"
        yield make(
            ctx, "synack_resent_with_different_seq_or_ack", conn, [f0, *bad], main=r,
            expected=exp, observed=obs,
            expected_rel=f"seq {rs0}, ack {ra0}",
            observed_rel=f"seq {rs}, ack {ra}",
            message=f"{who(ctx, conn, srv)} resent its SYN-ACK (frame {ctx.frame(r)}) with {obs}; "
                    f"the first SYN-ACK (frame {ctx.frame(f0)}) had {exp}",
            message_zh=f"{who(ctx, conn, srv, zh=True)} 重传的 SYN-ACK（帧 {ctx.frame(r)}）为 "
                       f"{obs_z}；第一个 SYN-ACK（帧 {ctx.frame(f0)}）为 {exp_z}")


SIMULTANEOUS_OPEN = CheckSpec(
    id="simultaneous_open", severity="info", category="handshake",
    title="Simultaneous open (both ends sent a SYN)",
    title_zh="同时打开（双方都发送了 SYN）",
    rfc="RFC 9293 §3.5 (Figure 8)",
    explanation=(
        "Both endpoints performed an active open at the same time: each sent a SYN and "
        "moved to SYN_SENT, each received the other's SYN and moved to SYN_RECEIVED, "
        "answered it with a SYN-ACK, and both reached ESTABLISHED — four segments instead "
        "of three, and no LISTEN state anywhere. It is legal but rare (peer-to-peer NAT "
        "traversal, or two hosts connecting to each other's fixed ports). Some middleboxes "
        "and IDSs handle it badly; a server answering a SYN with a bare SYN (a 'split "
        "handshake', Suricata's 4-way handshake events) looks the same on the wire."),
    explanation_zh=(
        "两端同时进行了主动打开：各自发送 SYN 并进入 SYN_SENT（同步已发送），各自收到对方的 "
        "SYN 后进入 SYN_RECEIVED（同步收到），再用 SYN-ACK 应答，最后都进入 ESTABLISHED"
        "（已建立连接）——用了四个报文段而不是三个，也没有任何一方处于 LISTEN（收听）状态。"
        "这是合法的，但很少见（点对点的 NAT 穿透，或两台主机互相连接对方的固定端口）。有些"
        "中间设备和入侵检测系统处理不好这种情况；服务器用不带 ACK 的 SYN 回应 SYN（“分裂"
        "握手”，Suricata 的四次握手事件）在线路上看起来也一样。"),
    zeek="simultaneous_open")


@register(SIMULTANEOUS_OPEN)
def simultaneous_open(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    c = first_in(ctx.conn, ctx.pure_syn & ~ctx.srv, ctx.n_conn)
    s = first_in(ctx.conn, ctx.pure_syn & ctx.srv, ctx.n_conn)
    for conn in np.flatnonzero((c >= 0) & (s >= 0)).tolist():
        a, b = int(c[conn]), int(s[conn])
        both = all(len(ctx.entered(conn, e, "ESTABLISHED")) for e in (0, 1))
        done = "both reached ESTABLISHED" if both else "the handshake did not complete"
        done_z = "双方都进入了 ESTABLISHED" if both else "握手没有完成"
        yield make(
            ctx, "simultaneous_open", conn, [a, b], main=max(a, b),
            expected="one SYN, answered by a SYN-ACK",
            observed=f"SYN from each end (frames {ctx.frame(a)} and {ctx.frame(b)})",
            message=f"simultaneous open: both ends sent a SYN (frames {ctx.frame(a)} and "
                    f"{ctx.frame(b)}); {done}",
            message_zh=f"同时打开：双方都发送了 SYN（帧 {ctx.frame(a)} 和 {ctx.frame(b)}）；"
                       f"{done_z}")
