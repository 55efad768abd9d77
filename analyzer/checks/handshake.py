"""Handshake arithmetic: the SYN-ACK acks ISN+1, the third segment acks the server's ISN+1
and continues at the client's ISN+1; data carried on a SYN."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from analyzer.checks.context import (
    MOD,
    NONE,
    Ctx,
    context,
    first_in,
    make,
    num,
    numz,
    who,
)
from analyzer.checks.model import CheckSpec, Finding, register
from analyzer.checks.queries import first_after, latest_in

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__: list[str] = []


def _acks_a_syn(ctx: Ctx, row: int) -> bool:
    """Does SYN-ACK ``row`` acknowledge any earlier SYN of its peer (ISN+1, or +data)?"""
    ack = int(ctx.cols["ack"][row])
    rows = ctx.conn_rows(int(ctx.conn[row]))
    syns = rows[(rows < row) & ctx.pure_syn[rows] & (ctx.srv[rows] != ctx.srv[row])]
    for s in syns.tolist():
        seq, plen = int(ctx.cols["seq"][s]), int(ctx.plen[s])
        if ack in ((seq + 1) % MOD, (seq + 1 + plen) % MOD):
            return True
    return False


SYNACK_WRONG_ACK = CheckSpec(
    id="synack_wrong_ack", severity="error", category="handshake",
    title="SYN-ACK does not acknowledge the client's ISN + 1",
    title_zh="第二次握手（SYN-ACK）的确认号不等于客户端初始序列号 + 1",
    rfc="RFC 9293 §3.4, §3.10.7.3",
    explanation=(
        "A SYN carries no data but consumes one sequence number, so the answer to a SYN "
        "whose initial sequence number (ISN) is x must carry ack = x + 1: 'I have received "
        "your SYN, send me byte x + 1 next'. With TCP Fast Open the server may also "
        "acknowledge the data carried on the SYN (ack = x + 1 + length). Any other value "
        "means the SYN-ACK answers a different SYN (a stale or spoofed answer, or a broken "
        "middlebox rewriting sequence numbers); the client in SYN_SENT finds the ack "
        "unacceptable and answers with RST instead of completing the handshake."),
    explanation_zh=(
        "SYN 报文段不携带数据，但要消耗一个序号。因此对初始序列号（ISN）为 x 的 SYN，"
        "第二次握手的确认号必须是 x + 1，意思是“我已收到你的 SYN，下一个请发第 x + 1 "
        "号字节”。使用 TCP Fast Open 时，服务器还可以确认 SYN 携带的数据"
        "（确认号 = x + 1 + 数据长度）。其他任何值都说明这个 SYN-ACK 回答的是另一个 SYN"
        "（过期的或伪造的应答，或中间设备改写了序列号）；处于 SYN_SENT（同步已发送）状态的"
        "客户端会认为确认号不可接受，回复 RST（复位）而不是完成三次握手。"),
    zeek="bad_SYN_ack", suricata="stream.3whs_synack_with_wrong_ack")


@register(SYNACK_WRONG_ACK)
def synack_wrong_ack(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    sa = np.flatnonzero(ctx.synack)
    syn_row = latest_in(ctx, sa, ctx.peer[sa], ctx.pure_syn)  # the peer's latest SYN
    safe = np.maximum(syn_row, 0)
    syn_seq = np.where(syn_row >= 0, ctx.cols["seq"][safe].astype(np.int64), NONE)
    syn_len, syn_rel = ctx.plen[safe], ctx.rel_seq[safe]
    ack = ctx.cols["ack"][sa].astype(np.int64)
    ok = (ack == (syn_seq + 1) % MOD) | (ack == (syn_seq + 1 + syn_len) % MOD)
    cand = np.flatnonzero((syn_seq != NONE) & ~ok)       # positions in ``sa``
    bad = [i for i in cand.tolist() if not _acks_a_syn(ctx, int(sa[i]))]
    seen: dict[int, list[int]] = {}
    for i in bad:
        seen.setdefault(int(ctx.group[sa[i]]), []).append(i)
    for grp, at in seen.items():
        i = at[0]
        r, rows = int(sa[i]), [int(sa[j]) for j in at]
        conn, srv = grp // 2, bool(grp % 2)
        isn = int(syn_seq[i])
        exp = num((isn + 1) % MOD, int(syn_rel[i]) + 1, "ISN+1")
        obs_rel = "" if ctx.rel_ack[r] == NONE else str(int(ctx.rel_ack[r]))
        obs = num(int(ack[i]), None if not obs_rel else int(obs_rel))
        exp_z = numz((isn + 1) % MOD, int(syn_rel[i]) + 1, "ISN+1")
        obs_z = numz(int(ack[i]), None if not obs_rel else int(obs_rel))
        peer, peer_zh = who(ctx, conn, not srv), who(ctx, conn, not srv, zh=True)
        fs = ctx.frame(int(syn_row[i]))
        yield make(
            ctx, "synack_wrong_ack", conn, [int(syn_row[i]), *rows], main=r,
            expected=exp, observed=obs, expected_rel=str(int(syn_rel[i]) + 1),
            observed_rel=obs_rel,
            message=f"SYN-ACK (frame {ctx.frame(r)}) acknowledges {obs}; the {peer} SYN "
                    f"(frame {fs}) had ISN {isn}, so the ack must be ISN+1 = {exp}",
            message_zh=f"第二次握手 SYN-ACK（帧 {ctx.frame(r)}）的确认号为 {obs_z}；{peer_zh} 的 "
                       f"SYN（帧 {fs}）初始序列号为 {isn}，确认号应为对方初始序列号 + 1 = {exp_z}")


def _third_rows(ctx: Ctx) -> tuple[np.ndarray, np.ndarray]:
    """Per connection: (row of the first server SYN-ACK, row of the third segment) or -1."""
    got = ctx.memo.get("third_rows")
    if isinstance(got, tuple):
        return got
    n = ctx.n_conn
    client_syn = first_in(ctx.conn, ctx.pure_syn & ~ctx.srv, n)
    server_syn = first_in(ctx.conn, ctx.pure_syn & ctx.srv, n)
    sa = first_in(ctx.conn, ctx.synack & ctx.srv, n)
    sa = np.where(server_syn >= 0, -1, sa)  # simultaneous open: no "third segment"
    third = np.full(n, -1, dtype=np.int64)
    c = np.flatnonzero((sa >= 0) & (client_syn >= 0))
    mask = ~ctx.srv & ctx.has_ack & ~ctx.rst & ((ctx.flags & 0x02) == 0)
    third[c] = first_after(ctx, sa[c], c * 2, mask)   # the client's first ACK after it
    ctx.memo["third_rows"] = (sa, third)
    return sa, third


HANDSHAKE_ACK_WRONG_ACK = CheckSpec(
    id="handshake_ack_wrong_ack", severity="error", category="handshake",
    title="Third handshake segment does not acknowledge the server's ISN + 1",
    title_zh="第三次握手的确认号不等于服务器初始序列号 + 1",
    rfc="RFC 9293 §3.4, §3.10.7.4",
    explanation=(
        "The server's SYN-ACK also carries a SYN, with the server's own initial sequence "
        "number y, and that SYN too consumes one sequence number. The client's third "
        "segment (the ACK that completes the three-way handshake) must therefore carry "
        "ack = y + 1. A smaller value does not acknowledge the server's SYN (the server "
        "stays in SYN_RECEIVED and resends its SYN-ACK); a larger one acknowledges bytes "
        "the server never sent, which the server answers with RST."),
    explanation_zh=(
        "服务器的 SYN-ACK 同样带有 SYN，其中是服务器自己的初始序列号 y，这个 SYN 也要消耗"
        "一个序号。因此客户端的第三次握手（完成三次握手的 ACK）确认号必须是 y + 1。"
        "比它小就没有确认服务器的 SYN（服务器停留在 SYN_RECEIVED（同步收到）状态并重传 "
        "SYN-ACK）；比它大则确认了服务器从未发送过的字节，服务器会回复 RST（复位）。"),
    suricata="stream.3whs_right_seq_wrong_ack_evasion")


HANDSHAKE_ACK_WRONG_SEQ = CheckSpec(
    id="handshake_ack_wrong_seq", severity="error", category="handshake",
    title="Third handshake segment does not continue at the client's ISN + 1",
    title_zh="第三次握手的序列号不等于客户端初始序列号 + 1",
    rfc="RFC 9293 §3.4, §3.10.7.4",
    explanation=(
        "After sending its SYN with initial sequence number x, the client's next sequence "
        "number is x + 1, because the SYN consumed one number. The third handshake segment "
        "must therefore have seq = x + 1 — the value the server asked for in the ack field "
        "of its SYN-ACK (x + 1 + length when the server accepted TCP Fast Open data). "
        "Another value puts the segment outside what the server expects: the server "
        "discards it (or answers with an ACK or RST) and the handshake does not complete."),
    explanation_zh=(
        "客户端发送初始序列号为 x 的 SYN 后，由于 SYN 消耗了一个序号，下一个序列号是 x + 1。"
        "因此第三次握手的序列号必须是 x + 1，也就是服务器在 SYN-ACK 确认号中要求的值"
        "（服务器接受了 TCP Fast Open 数据时为 x + 1 + 数据长度）。其他值不在服务器期望的"
        "范围内：服务器会丢弃它（或回复 ACK 或 RST），三次握手无法完成。"),
    suricata="stream.3whs_wrong_seq_wrong_ack")


def _third_context(ctx: Ctx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Third-segment rows, the server SYN-ACK before each, and the client SYN before that."""
    _, third = _third_rows(ctx)
    t = third[third >= 0]
    conn = ctx.conn[t]
    s = latest_in(ctx, t, conn * 2 + 1, ctx.synack)               # server SYN-ACKs
    last_syn = latest_in(ctx, s, conn * 2, ctx.pure_syn)          # client SYNs
    first_syn = first_in(ctx.conn, ctx.pure_syn & ~ctx.srv, ctx.n_conn)
    syn = np.where(last_syn >= 0, last_syn, first_syn[conn])
    return t, s, syn


@register(HANDSHAKE_ACK_WRONG_ACK)
def handshake_ack_wrong_ack(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    t, s, _ = _third_context(ctx)
    seq, ack = ctx.cols["seq"].astype(np.int64), ctx.cols["ack"].astype(np.int64)
    want = (seq[s] + 1) % MOD
    d = (ack[t] - want) % MOD
    # the most the client could ack: the server's highest seq end up to its latest segment
    p = latest_in(ctx, t, ctx.conn[t] * 2 + 1)
    sent = np.maximum(ctx.sent_before[np.maximum(p, 0)], ctx.seg_end[np.maximum(p, 0)])
    peer_max = np.where(p >= 0, sent, NONE)
    covers_data = (d < MOD // 2) & (peer_max != NONE) & (ctx.rel_ack[t] > 0) \
        & (ctx.rel_ack[t] <= peer_max)
    for i in np.flatnonzero((d != 0) & ~covers_data).tolist():
        ti, si = int(t[i]), int(s[i])
        conn = int(ctx.conn[ti])
        rel_want = int(ctx.rel_seq[si]) + 1
        obs = num(int(ack[ti]), int(ctx.rel_ack[ti]))
        exp = num(int(want[i]), rel_want, "server ISN+1")
        exp_z = numz(int(want[i]), rel_want, "服务器 ISN+1")
        obs_z = numz(int(ack[ti]), int(ctx.rel_ack[ti]))
        yield make(
            ctx, "handshake_ack_wrong_ack", conn, [si, ti], main=ti, expected=exp,
            observed=obs, expected_rel=str(rel_want), observed_rel=str(int(ctx.rel_ack[ti])),
            message=f"third handshake segment (frame {ctx.frame(ti)}) acknowledges {obs}; the "
                    f"SYN-ACK (frame {ctx.frame(si)}) had ISN {int(seq[si])}, so the ack must be "
                    f"ISN+1 = {exp}",
            message_zh=f"第三次握手（帧 {ctx.frame(ti)}）的确认号为 {obs_z}；SYN-ACK（帧 "
                       f"{ctx.frame(si)}）中服务器初始序列号为 {int(seq[si])}，确认号应为"
                       f"对方初始序列号 + 1 = {exp_z}")


@register(HANDSHAKE_ACK_WRONG_SEQ)
def handshake_ack_wrong_seq(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    t, s, syn = _third_context(ctx)
    seq, ack = ctx.cols["seq"].astype(np.int64), ctx.cols["ack"].astype(np.int64)
    isn, plen = seq[syn], ctx.plen[syn]
    accepted = (ack[s] == (isn + 1) % MOD) | (ack[s] == (isn + 1 + plen) % MOD)
    want = np.where(accepted, ack[s], (isn + 1) % MOD)
    for i in np.flatnonzero(seq[t] != want).tolist():
        ti, si, yi = int(t[i]), int(s[i]), int(syn[i])
        w, isn_i = int(want[i]), int(isn[i])
        rel_want = int(ctx.rel_seq[yi]) + (w - isn_i) % MOD
        note = "ISN+1" if w == (isn_i + 1) % MOD else "ISN+1+SYN data"
        note_z = "ISN+1" if note == "ISN+1" else "ISN+1+SYN 数据长度"
        rel = int(ctx.rel_seq[ti])
        exp, obs = num(w, rel_want, note), num(int(seq[ti]), rel)
        exp_z, obs_z = numz(w, rel_want, note_z), numz(int(seq[ti]), rel)
        yield make(
            ctx, "handshake_ack_wrong_seq", int(ctx.conn[ti]), [yi, si, ti], main=ti,
            expected=exp, observed=obs, expected_rel=str(rel_want), observed_rel=str(rel),
            message=f"third handshake segment (frame {ctx.frame(ti)}) has seq {obs}; after its "
                    f"SYN (frame {ctx.frame(yi)}, ISN {isn_i}) the client must continue at {exp}",
            message_zh=f"第三次握手（帧 {ctx.frame(ti)}）的序列号为 {obs_z}；客户端 SYN（帧 "
                       f"{ctx.frame(yi)}，初始序列号 {isn_i}）消耗了一个序号，下一个序列号应为"
                       f"{exp_z}")


SYN_WITH_DATA = CheckSpec(
    id="syn_with_data", severity="warning", category="handshake",
    title="SYN carries data",
    title_zh="SYN 报文段携带数据",
    rfc="RFC 9293 §3.4, §3.10.7.2; RFC 7413",
    explanation=(
        "Normally a SYN carries no data: the receiver must hold any such data until the "
        "handshake completes, and a plain stack often discards it and waits for it to be "
        "sent again. TCP Fast Open (RFC 7413) is the legitimate use: a client that holds a "
        "cookie from an earlier connection sends its request on the SYN and saves one "
        "round-trip time (RTT). With a TFO cookie the finding is informational; without "
        "one (no option, or an empty cookie request) it is a warning, since it is what "
        "scanners and evasion tricks do. The finding also says whether the server's "
        "SYN-ACK acknowledged the data (ack = ISN + 1 + length) or not (ack = ISN + 1: the "
        "data will be resent after the handshake)."),
    explanation_zh=(
        "通常 SYN 报文段不携带数据：接收方必须把这些数据保存到握手完成，普通的协议栈往往直接"
        "丢弃，等对方重传。TCP Fast Open（RFC 7413）是正当的用法：持有以前连接所得 cookie "
        "的客户端在 SYN 中直接发送请求，节省一个往返时间（RTT）。带 TFO cookie 时这条结果"
        "仅供参考（info）；没有 cookie（没有该选项，或只是空的 cookie 请求）时为警告，因为"
        "扫描器和规避检测的手法会这样做。结果还会说明服务器的 SYN-ACK 是否确认了这些数据"
        "（确认号 = ISN + 1 + 长度），还是没有确认（确认号 = ISN + 1：数据将在握手后重传）。"),
    zeek="SYN_with_data")


def _syn_data_accepted(ctx: Ctx, row: int) -> bool | None:
    rows = ctx.conn_rows(int(ctx.conn[row]))
    answers = rows[(rows > row) & ctx.synack[rows] & (ctx.srv[rows] != ctx.srv[row])]
    if len(answers) == 0:
        return None
    want = (int(ctx.cols["seq"][row]) + 1 + int(ctx.plen[row])) % MOD
    return int(ctx.cols["ack"][answers[0]]) == want


@register(SYN_WITH_DATA)
def syn_with_data(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    cand = np.flatnonzero(((ctx.flags & 0x02) != 0) & ~ctx.rst & (ctx.plen > 0))
    done: set[int] = set()
    for r in cand.tolist():
        grp = int(ctx.group[r])
        if grp in done:
            continue
        done.add(grp)
        conn, srv = grp // 2, bool(grp % 2)
        rows = cand[ctx.group[cand] == grp]
        tfo = int(ctx.cols["opt_tfo"][r])
        tfo_txt = {1: "TFO cookie", 0: "TFO cookie request (no cookie)"}.get(
            tfo, "no TFO option")
        tfo_zh = {1: "带 TFO cookie", 0: "仅有 TFO cookie 请求（无 cookie）"}.get(
            tfo, "没有 TFO 选项")
        acc = _syn_data_accepted(ctx, r) if not ctx.synack[r] else None
        acc_txt = {True: "; the SYN-ACK acknowledged the data",
                   False: "; the SYN-ACK did not acknowledge the data (it must be resent)",
                   None: ""}[acc]
        acc_zh = {True: "；SYN-ACK 确认了这些数据", False: "；SYN-ACK 没有确认这些数据（需要重传）",
                  None: ""}[acc]
        kind = "SYN-ACK" if ctx.synack[r] else "SYN"
        plen = int(ctx.plen[r])
        yield make(
            ctx, "syn_with_data", conn, rows.tolist(), severity="info" if tfo == 1 else "warning",
            expected="no payload on a SYN (unless TCP Fast Open with a cookie)",
            observed=f"{plen} bytes of payload, {tfo_txt}",
            message=f"{kind} from {who(ctx, conn, srv)} (frame {ctx.frame(r)}) carries {plen} "
                    f"bytes of data with {tfo_txt}{acc_txt}",
            message_zh=f"{who(ctx, conn, srv, zh=True)} 的 {kind}（帧 {ctx.frame(r)}）携带 {plen} "
                       f"字节数据，{tfo_zh}{acc_zh}")
