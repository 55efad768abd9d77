"""Half-open connections: a SYN without reply, a SYN-ACK never acknowledged, a FIN_WAIT_2
the peer never ends — and the refusal that is *not* half-open.

Half-closed (FIN one way, data still flowing the other way) is a normal state: it yields
no finding here (``fin_wait_2_abandoned`` needs the peer silent for a whole grace period).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from analyzer.checks.context import (
    MOD,
    NONE,
    Ctx,
    context,
    make,
    num,
    who,
)
from analyzer.checks.model import CheckSpec, Finding, Severity, register
from analyzer.checks.queries import latest_in
from analyzer.result import flag_strings

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["FIN_WAIT_2_GRACE_S", "SYN_REPLY_GRACE_S"]

#: A single SYN (or SYN-ACK) this close to the end of the capture may simply have had its
#: answer after the capture stopped: reported as info instead of a warning.
SYN_REPLY_GRACE_S = 1.0
#: The peer must stay silent this long after the ACK of a FIN (Linux tcp_fin_timeout).
FIN_WAIT_2_GRACE_S = 60.0

ENDPOINTS = ("client", "server")


def _endpoint_rows(ctx: Ctx, conn: int, endpoint: int, mask: np.ndarray | None = None,
                   ) -> np.ndarray:
    """Rows of ``conn`` sent by ``endpoint`` (with ``mask``, if given)."""
    rows = ctx.conn_rows(conn)
    keep = ctx.srv[rows] == bool(endpoint)
    return rows[keep & mask[rows]] if mask is not None else rows[keep]


def _near_end(ctx: Ctx, rows: np.ndarray) -> bool:
    """One segment only, sent less than the grace period before the capture ended."""
    last = int(ctx.cols["ts_ns"][rows[-1]])
    return len(rows) == 1 and ctx.capture_end_ns - last < SYN_REPLY_GRACE_S * 1e9


SYN_NO_REPLY = CheckSpec(
    id="syn_no_reply", severity="warning", category="half_open",
    title="SYN without a reply (client stuck in SYN_SENT)",
    title_zh="SYN 没有得到应答（客户端停留在 SYN_SENT）",
    rfc="RFC 9293 §3.5, §3.8.1; RFC 6298 §5",
    explanation=(
        "The client sent a SYN and moved to SYN_SENT, but no answer reached it: it "
        "retransmits the SYN with exponential backoff (Linux: after 1, 2, 4, 8 ... s) until "
        "connect() gives up with a timeout. With nothing from the server in the capture, "
        "the SYN was dropped on the way (a firewall silently discarding it, a host that is "
        "down, a wrong address) or the server's SYN queue was full. When the capture does "
        "show SYN-ACKs but the client keeps resending its SYN, the answer was lost between "
        "the capture point and the client. This is one half of a half-open connection; a "
        "refused connection (SYN answered by RST) is not."),
    explanation_zh=(
        "客户端发送了 SYN 并进入 SYN_SENT（同步已发送）状态，但没有收到任何应答：它会按指数"
        "退避重传 SYN（Linux：1、2、4、8……秒之后），直到 connect() 超时放弃。抓包中完全没有"
        "服务器的包，说明 SYN 在途中被丢弃了（防火墙悄悄丢弃、主机宕机、地址错误），或服务器"
        "的半连接队列已满。如果抓包中有 SYN-ACK，而客户端仍在重传 SYN，说明应答在抓包点和"
        "客户端之间丢失了。这是半开连接的一种；被拒绝的连接（SYN 被 RST 应答）不属于半开连接。"),
    zeek="conn_state S0")


@register(SYN_NO_REPLY)
def syn_no_reply(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    final = result.timelines.final
    refused = refusals(ctx)
    first_syns = ctx.pure_syn & ~ctx.dup
    for endpoint in (0, 1):
        stuck = np.flatnonzero(final[:, endpoint] == "SYN_SENT") if len(final) \
            else np.empty(0, np.int64)
        for conn in stuck.tolist():
            if conn in refused:
                continue  # answered by an acceptable RST: connection_refused tells it
            syns = _endpoint_rows(ctx, conn, endpoint, first_syns)
            if len(syns):
                yield _syn_no_reply(ctx, conn, endpoint, syns)


def _syn_no_reply(ctx: Ctx, conn: int, endpoint: int, syns: np.ndarray) -> Finding:
    ts = ctx.cols["ts_ns"]
    answers = _endpoint_rows(ctx, conn, 1 - endpoint)
    answers = answers[answers > syns[0]]
    span = (int(ts[syns[-1]]) - int(ts[syns[0]])) / 1e9
    k = len(syns)
    if len(answers) == 0:
        what, what_z = "no answer captured", "抓包中没有任何应答"
    elif not (ctx.synack[answers] | ctx.rst[answers]).any():
        f = ctx.frame(int(answers[0]))
        flags = str(flag_strings(ctx.cols["flags"][answers[:1]])[0])
        what = f"the peer answered with a segment without SYN ({flags}, frame {f}), not a " \
               "SYN-ACK"
        what_z = f"对方用不带 SYN 的报文段（{flags}，帧 {f}）应答，而不是 SYN-ACK"
    elif ctx.synack[answers].any():
        f = ctx.frame(int(answers[ctx.synack[answers]][0]))
        what = f"SYN-ACK captured (frame {f}) but never acknowledged: lost after the capture " \
               "point or rejected by the client"
        what_z = f"抓包中有 SYN-ACK（帧 {f}），但客户端从未确认：它在抓包点之后丢失或被客户端拒绝"
    else:
        answers = answers[ctx.rst[answers]]
        what = "answered only by an RST the client must ignore"
        what_z = "只收到一个客户端必须忽略的 RST"
    sev: Severity = "warning"
    note, note_z = "", ""
    if _near_end(ctx, syns):
        sev = "info"
        left = (ctx.capture_end_ns - int(ts[syns[-1]])) / 1e6
        note = f"; the capture ended {left:.0f} ms after it, the answer may have come later"
        note_z = f"；抓包在它之后 {left:.0f} 毫秒就结束了，应答可能在抓包结束后才到"
    rows = syns.tolist()[:20] + answers.tolist()[:3]
    isn = int(ctx.cols["seq"][syns[0]])
    return make(
        ctx, "syn_no_reply", conn, rows, main=int(syns[-1]), severity=sev,
        expected=f"a SYN-ACK acknowledging {num((isn + 1) % MOD, 1, 'ISN+1')}",
        observed=f"{k} SYN(s) over {span:.3f} s; {what}",
        message=f"{who(ctx, conn, bool(endpoint))} sent {k} SYN(s) over {span:.3f} s "
                f"(frames {ctx.frame(int(syns[0]))}..{ctx.frame(int(syns[-1]))}) and stayed in "
                f"SYN_SENT: {what}{note}",
        message_zh=f"{who(ctx, conn, bool(endpoint), zh=True)} 在 {span:.3f} 秒内发送了 {k} 个 "
                   f"SYN（帧 {ctx.frame(int(syns[0]))}..{ctx.frame(int(syns[-1]))}），一直停留在"
                   f" SYN_SENT（同步已发送）状态：{what_z}{note_z}")


SYNACK_NO_ACK = CheckSpec(
    id="synack_no_ack", severity="warning", category="half_open",
    title="SYN-ACK never acknowledged (server left in SYN_RECEIVED)",
    title_zh="SYN-ACK 一直没有被确认（服务器停留在 SYN_RECEIVED）",
    rfc="RFC 9293 §3.5, §3.10.7.4; RFC 4987",
    explanation=(
        "The server answered a SYN with a SYN-ACK and moved to SYN_RECEIVED, keeping the "
        "half-open connection in its SYN queue, but the third handshake segment never "
        "reached it. It retransmits the SYN-ACK (Linux: tcp_synack_retries times, 1, 2, "
        "4 ... s apart) and then drops the entry silently. Causes: the client gave up or "
        "never existed (spoofed source: the pattern of a SYN flood), the ACK was dropped "
        "on the way back, or — when the capture shows the client's ACK and the server "
        "still resends its SYN-ACK — the ACK was lost after the capture point. A client "
        "that believes it is connected and sends data later gets an RST. A client that "
        "aborts with RST (as port scanners do) does not leave the server in SYN_RECEIVED "
        "and is not reported."),
    explanation_zh=(
        "服务器用 SYN-ACK 应答了 SYN，进入 SYN_RECEIVED（同步收到）状态，把这个半开连接放在"
        "半连接队列中，但第三次握手始终没有到达。它会重传 SYN-ACK（Linux：重传 "
        "tcp_synack_retries 次，间隔 1、2、4……秒），然后悄悄丢弃这个条目。原因可能是：客户端"
        "放弃了或根本不存在（伪造的源地址：SYN 泛洪攻击的特征），ACK 在返回途中被丢弃；或者"
        "抓包中有客户端的 ACK 而服务器仍在重传 SYN-ACK——ACK 在抓包点之后丢失了。自以为已连接"
        "的客户端随后发送数据会收到 RST。客户端用 RST 中止（端口扫描器就是这样）不会让服务器"
        "停留在 SYN_RECEIVED，不在此报告。"),
    zeek="repeated_SYN_reply_wo_ack")


def _stuck_in_syn_received(ctx: Ctx) -> list[tuple[int, int]]:
    """(conn, endpoint) that entered SYN_RECEIVED, never ESTABLISHED, and were not reset."""
    tr = ctx.result.transitions
    if len(tr) == 0:
        return []
    key = ctx.tr_key
    entered = set(key[ctx.tr_is("to_state", "SYN_RECEIVED")].tolist())
    if not entered:
        return []
    est = set(key[ctx.tr_is("to_state", "ESTABLISHED")].tolist())
    reset_rst = ctx.tr_is("from_state", "SYN_RECEIVED") \
        & ctx.tr_match("cause", lambda c: c.startswith("received RST"))
    reset = set(key[reset_rst].tolist())
    return [(k // 2, k % 2) for k in sorted(entered - est - reset)]


@register(SYNACK_NO_ACK)
def synack_no_ack(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    ts = ctx.cols["ts_ns"]
    stuck = _stuck_in_syn_received(ctx)
    if not stuck:
        return
    synacks, acks_mask = ctx.synack & ~ctx.dup, ctx.has_ack & ~ctx.rst
    for conn, endpoint in stuck:
        sas = _endpoint_rows(ctx, conn, endpoint, synacks)
        if len(sas) == 0:
            continue
        k, span = len(sas), (int(ts[sas[-1]]) - int(ts[sas[0]])) / 1e9
        peer = _endpoint_rows(ctx, conn, 1 - endpoint, acks_mask)
        acks = peer[(peer > sas[0]) & ((ctx.flags[peer] & 0x02) == 0)]
        if len(acks):
            what = f"the ACK (frame {ctx.frame(int(acks[0]))}) was captured but never reached it"
            what_z = f"抓包中有 ACK（帧 {ctx.frame(int(acks[0]))}），但它没有到达"
        else:
            what, what_z = "no ACK captured", "抓包中没有 ACK"
        sev: Severity = "info" if _near_end(ctx, sas) else "warning"
        seq = int(ctx.cols["seq"][sas[0]])
        yield make(
            ctx, "synack_no_ack", conn, sas.tolist()[:20] + acks.tolist()[:3],
            main=int(sas[-1]), severity=sev,
            expected=f"an ACK acknowledging {num((seq + 1) % MOD, 1, 'server ISN+1')}",
            observed=f"{k} SYN-ACK(s) over {span:.3f} s, never acknowledged; {what}",
            message=f"{who(ctx, conn, bool(endpoint))} sent {k} SYN-ACK(s) over {span:.3f} s "
                    f"and was left in SYN_RECEIVED: {what}",
            message_zh=f"{who(ctx, conn, bool(endpoint), zh=True)} 在 {span:.3f} 秒内发送了 {k} "
                       f"个 SYN-ACK，停留在 SYN_RECEIVED（同步收到）状态：{what_z}")


FIN_WAIT_2_ABANDONED = CheckSpec(
    id="fin_wait_2_abandoned", severity="warning", category="half_open",
    title="FIN acknowledged, but the peer never closes (FIN_WAIT_2 abandoned)",
    title_zh="FIN 已被确认，但对方一直不关闭（FIN_WAIT_2 被遗弃）",
    rfc="RFC 9293 §3.6, §3.10.4",
    explanation=(
        "An endpoint closed its side (active close): its FIN was acknowledged and it sits "
        "in FIN_WAIT_2, waiting for the peer's FIN. The peer, in CLOSE_WAIT, then sent "
        f"nothing at all for at least the grace period (default {FIN_WAIT_2_GRACE_S:g} s, "
        "Linux's net.ipv4.tcp_fin_timeout) up to the end of the capture. The peer's "
        "application most likely never called close() — a socket leak that piles up "
        "CLOSE_WAIT connections — and Linux drops the orphaned FIN_WAIT_2 side after "
        "tcp_fin_timeout, leaving the connection half-open. This is different from a "
        "half-close, where the peer keeps sending data after receiving the FIN: that is "
        "normal and never reported."),
    explanation_zh=(
        "一端关闭了自己这一侧（主动关闭）：它的 FIN 已被确认，停在 FIN_WAIT_2（终止等待 2）"
        "状态，等待对方的 FIN。而处于 CLOSE_WAIT（关闭等待）状态的对方，在至少一个宽限期"
        f"（默认 {FIN_WAIT_2_GRACE_S:g} 秒，即 Linux 的 net.ipv4.tcp_fin_timeout）内直到抓包"
        "结束都没有发送任何东西。对方的应用程序很可能从未调用 close()——这种套接字泄漏会让 "
        "CLOSE_WAIT 连接越积越多——而 Linux 会在 tcp_fin_timeout 之后丢弃孤立的 FIN_WAIT_2 "
        "一侧，使连接成为半开连接。这与半关闭不同：半关闭时对方收到 FIN 后仍在继续发送数据，"
        "这是正常的，不会报告。"))


@register(FIN_WAIT_2_ABANDONED)
def fin_wait_2_abandoned(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    final = result.timelines.final
    if len(final) == 0:
        return
    fw2 = final == "FIN_WAIT_2"
    cw = final == "CLOSE_WAIT"
    ts = ctx.cols["ts_ns"]
    for endpoint in (0, 1):
        for conn in np.flatnonzero(fw2[:, endpoint] & cw[:, 1 - endpoint]).tolist():
            entered = ctx.entered(conn, endpoint, "FIN_WAIT_2")
            if len(entered) == 0:
                continue
            t_ack = int(entered["ts_ns"].iloc[-1])
            ack_frame = int(entered["frame"].iloc[-1])
            peer = _endpoint_rows(ctx, conn, 1 - endpoint)
            last_peer = int(ts[peer[-1]]) if len(peer) else t_ack
            quiet = (ctx.capture_end_ns - max(t_ack, last_peer)) / 1e9
            if quiet < FIN_WAIT_2_GRACE_S:
                continue
            yield _fw2_finding(ctx, conn, endpoint, ack_frame, peer, quiet)


def _fw2_finding(ctx: Ctx, conn: int, endpoint: int, ack_frame: int, peer: np.ndarray,
                 quiet: float) -> Finding:
    me, other = who(ctx, conn, bool(endpoint)), who(ctx, conn, not endpoint)
    me_z, other_z = who(ctx, conn, bool(endpoint), zh=True), who(ctx, conn, not endpoint, zh=True)
    rows = ctx.conn_rows(conn)
    ack_row = int(rows[ctx.cols["frame"][rows] == ack_frame][0]) if ack_frame >= 0 \
        else int(rows[-1])
    return make(
        ctx, "fin_wait_2_abandoned", conn, [ack_row, *peer[-1:].tolist()], main=ack_row,
        expected=f"a FIN from {other} within {FIN_WAIT_2_GRACE_S:g} s (grace period)",
        observed=f"nothing from it for the last {quiet:.1f} s of the capture",
        message=f"{me} is in FIN_WAIT_2 since its FIN was acknowledged (frame {ack_frame}); "
                f"{other} (CLOSE_WAIT) sent nothing for the last {quiet:.1f} s, more than the "
                f"{FIN_WAIT_2_GRACE_S:g} s grace period: its application never closed",
        message_zh=f"{me_z} 的 FIN 被确认（帧 {ack_frame}）后一直处于 FIN_WAIT_2（终止等待 2）；"
                   f"{other_z}（CLOSE_WAIT）在抓包的最后 {quiet:.1f} 秒内没有发送任何东西，超过了 "
                   f"{FIN_WAIT_2_GRACE_S:g} 秒的宽限期：它的应用程序一直没有关闭连接")


CONNECTION_REFUSED = CheckSpec(
    id="connection_refused", severity="info", category="handshake",
    title="Connection refused (SYN answered by RST)",
    title_zh="连接被拒绝（SYN 被 RST 应答）",
    rfc="RFC 9293 §3.5.2, §3.10.7.1, §3.10.7.3",
    explanation=(
        "Nothing was listening on the server's port (or a firewall answered in its name), "
        "so the SYN was answered with RST+ACK, ack = client ISN + 1 (the RST must "
        "acknowledge the SYN to be accepted in SYN_SENT). The client goes straight back "
        "to CLOSED and connect() fails with 'connection refused' (ECONNREFUSED). This is a "
        "clean, immediate failure, not a half-open connection: no state is left on either "
        "side. Zeek calls it conn_state REJ."),
    explanation_zh=(
        "服务器的这个端口上没有进程在监听（或防火墙代为应答），所以 SYN 被 RST+ACK 应答，"
        "确认号 = 客户端初始序列号 + 1（RST 必须确认 SYN，才会在 SYN_SENT 状态被接受）。"
        "客户端直接回到 CLOSED（关闭）状态，connect() 以“连接被拒绝”（ECONNREFUSED）失败。"
        "这是干净、立即的失败，不是半开连接：两端都不会留下状态。Zeek 称之为 conn_state REJ。"),
    zeek="conn_state REJ")


def refusals(ctx: Ctx) -> dict[int, tuple[int, int]]:
    """Per connection: (SYN row, RST row) where an RST+ACK acknowledging the SYN (ISN + 1)
    answered it and no SYN-ACK ever came — a refusal, whatever the client did next."""
    got = ctx.memo.get("refusals")
    if isinstance(got, dict):
        return got
    rows = np.flatnonzero(ctx.rst & ctx.has_ack)    # only an RST+ACK can refuse
    conn = ctx.conn[rows]
    syn_row = latest_in(ctx, rows, ctx.peer[rows], ctx.pure_syn)   # receiver's latest SYN
    safe = np.maximum(syn_row, 0)
    syn_seq = np.where(syn_row >= 0, ctx.cols["seq"][safe].astype(np.int64), NONE)
    syn_len = ctx.plen[safe]
    seen_synack = (latest_in(ctx, rows, conn * 2, ctx.synack, strict=True) >= 0) \
        | (latest_in(ctx, rows, conn * 2 + 1, ctx.synack, strict=True) >= 0)
    ack = ctx.cols["ack"][rows].astype(np.int64)
    ok = (syn_seq != NONE) & ~seen_synack \
        & ((ack == (syn_seq + 1) % MOD) | (ack == (syn_seq + 1 + syn_len) % MOD))
    accepted = np.zeros(ctx.n_conn, dtype=bool)
    accepted[ctx.conn[ctx.synack]] = True  # refused, then accepted on a retry: not a refusal
    out: dict[int, tuple[int, int]] = {}
    for i in np.flatnonzero(ok & ~accepted[conn]).tolist():
        out.setdefault(int(conn[i]), (int(syn_row[i]), int(rows[i])))
    ctx.memo["refusals"] = out
    return out


@register(CONNECTION_REFUSED)
def connection_refused(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    for conn, (s, rst) in sorted(refusals(ctx).items()):
        rows = ctx.conn_rows(conn)
        again = rows[(rows > rst) & ctx.pure_syn[rows] & (ctx.srv[rows] == ctx.srv[s])]
        ack = int(ctx.cols["ack"][rst])
        srv = bool(ctx.srv[rst])
        retry = f"; the {'server' if not srv else 'client'} still resent its SYN " \
                f"{len(again)} time(s) (Windows retries a refused connect)" if len(again) else ""
        retry_z = f"；{'服务器' if not srv else '客户端'}之后仍重发了 {len(again)} 次 SYN" \
                  "（Windows 在连接被拒绝后会重试）" if len(again) else ""
        yield make(
            ctx, "connection_refused", conn, [s, rst, *again[:5].tolist()], main=rst,
            expected="a SYN-ACK from a listening server",
            observed=f"RST+ACK (frame {ctx.frame(rst)}) with ack {num(ack, 1, 'ISN+1')}",
            message=f"{who(ctx, conn, srv)} refused the connection: the SYN (frame "
                    f"{ctx.frame(s)}) was answered by RST+ACK (frame {ctx.frame(rst)}){retry}",
            message_zh=f"{who(ctx, conn, srv, zh=True)} 拒绝了连接：SYN（帧 {ctx.frame(s)}）被 "
                       f"RST+ACK（帧 {ctx.frame(rst)}）应答，端口上没有进程在监听{retry_z}")
