"""RST acceptability (RFC 9293 §3.10.7, RFC 5961 §3), RSTs carrying data, challenge ACKs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from analyzer.checks.context import (
    MOD,
    NONE,
    Ctx,
    context,
    make,
    num,
    numz,
    who,
)
from analyzer.checks.model import CheckSpec, Finding, register
from analyzer.checks.queries import latest_in
from analyzer.tcpstate.select import window_shift

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["CHALLENGE_ACK_WITHIN_S", "rst_views"]

#: A receiver's pure ACK this soon after an in-window RST is taken as its challenge ACK.
CHALLENGE_ACK_WITHIN_S = 1.0

_SYNCHRONIZED = {"SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
                 "CLOSING", "LAST_ACK", "TIME_WAIT"}


def _signed(x: np.ndarray) -> np.ndarray:
    return ((x + (1 << 31)) % MOD) - (1 << 31)


@dataclass(slots=True)
class RstView:
    """What the receiver of each RST knew (raw numbers; NONE where unknown), per RST row."""

    rows: np.ndarray        # the RST rows, ascending
    rcv_nxt: np.ndarray     # receiver's latest ack value (its RCV.NXT as last shown)
    rcv_wnd: np.ndarray     # receiver's latest window, scaled
    snd_nxt: np.ndarray     # highest seq end the sender had sent before the row
    syn_sent: np.ndarray    # receiver had sent only SYNs and heard nothing but RSTs
    syn_seq: np.ndarray     # receiver's latest SYN seq (for the SYN_SENT test)
    cls: np.ndarray         # 0 acceptable / unknown, 1 in window, 2 out of window, 3 SYN_SENT bad


def rst_views(ctx: Ctx) -> RstView:
    """Receiver knowledge and the RST class of every RST row."""
    got = ctx.memo.get("rst_views")
    if isinstance(got, RstView):
        return got
    view = _rst_views(ctx)
    ctx.memo["rst_views"] = view
    return view


def _at(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values`` at ``rows`` (int64), NONE where the row is -1."""
    return np.where(rows >= 0, values[np.maximum(rows, 0)].astype(np.int64), NONE)


def _rst_views(ctx: Ctx) -> RstView:
    rows = np.flatnonzero(ctx.rst)
    own, peer = ctx.group[rows], ctx.peer[rows]
    last_ack = latest_in(ctx, rows, peer, ctx.has_ack & ~ctx.rst)   # receiver's latest ACK
    rcv_nxt = _at(ctx.cols["ack"], last_ack)
    window = ctx.cols["window"]
    no_syn = latest_in(ctx, rows, peer, ctx.has_ack & ~ctx.rst & ((ctx.flags & 0x02) == 0))
    shift = window_shift(ctx.result.flows, ctx.cols)[peer]
    rcv_wnd = np.where(no_syn >= 0, _at(window, no_syn) << shift, _at(window, last_ack))
    end = ctx.sent_before[rows]
    base = ctx.result.flows.base[own]
    snd_nxt = np.where(end == NONE, NONE, (base + np.where(end == NONE, 0, end)) % MOD)
    recv_other = latest_in(ctx, rows, peer, ~ctx.pure_syn)
    sender_other = latest_in(ctx, rows, own, ~ctx.rst, strict=True)
    syn_seq = _at(ctx.cols["seq"], latest_in(ctx, rows, peer, ctx.pure_syn))
    syn_sent = (syn_seq != NONE) & (recv_other < 0) & (sender_other < 0)
    cls = _classify(ctx, rows, rcv_nxt, rcv_wnd, snd_nxt, syn_sent, syn_seq)
    return RstView(rows, rcv_nxt, rcv_wnd, snd_nxt, syn_sent, syn_seq, cls)


def _classify(ctx: Ctx, rows: np.ndarray, rcv_nxt: np.ndarray, rcv_wnd: np.ndarray,
              snd_nxt: np.ndarray, syn_sent: np.ndarray, syn_seq: np.ndarray) -> np.ndarray:
    seq = ctx.cols["seq"][rows].astype(np.int64)
    ack = ctx.cols["ack"][rows].astype(np.int64)
    cls = np.zeros(len(rows), dtype=np.int8)
    known = rcv_nxt != NONE
    exact = (known & (seq == rcv_nxt)) | ((snd_nxt != NONE)
                                          & ((seq == snd_nxt) | (seq == (snd_nxt - 1) % MOD)))
    d = _signed(seq - np.where(known, rcv_nxt, 0))
    wnd = np.where(rcv_wnd == NONE, 0, rcv_wnd)
    in_win = known & (d >= 0) & (d < np.maximum(wnd, 1))
    cls[known & ~exact & in_win] = 1
    cls[known & ~exact & ~in_win] = 2
    plen = ctx.plen[rows]
    good_ack = ctx.has_ack[rows] & ((ack == (syn_seq + 1) % MOD)
                                    | (ack == (syn_seq + 1 + plen) % MOD))
    cls[syn_sent] = np.where(good_ack[syn_sent], 0, 3)
    return cls


RST_OUT_OF_WINDOW = CheckSpec(
    id="rst_out_of_window", severity="warning", category="teardown",
    title="RST the receiver must ignore",
    title_zh="接收方必须忽略的 RST（复位）",
    rfc="RFC 9293 §3.10.7.3, §3.10.7.4; RFC 5961 §3",
    explanation=(
        "An RST tears a connection down at once, so a receiver only believes one that "
        "proves it belongs to the connection. In SYN_SENT the RST must carry the ACK flag "
        "and acknowledge the SYN (ack = ISN + 1). In every synchronized state its sequence "
        "number must lie in the receive window, RCV.NXT ≤ seq < RCV.NXT + RCV.WND; RFC 5961 "
        "goes further and resets only when seq = RCV.NXT exactly (an in-window RST gets a "
        "challenge ACK). An RST outside those bounds is silently dropped, and the "
        "connection goes on. It comes from a blind injection attempt, a stale RST from an "
        "older incarnation of the 4-tuple, or a middlebox that lost track of the "
        "sequence numbers."),
    explanation_zh=(
        "RST 会立即拆除连接，所以接收方只相信能证明自己属于这个连接的 RST。在 SYN_SENT"
        "（同步已发送）状态，RST 必须带 ACK 标志位并确认 SYN（确认号 = ISN + 1）。在各个已"
        "同步的状态，它的序列号必须落在接收窗口内：RCV.NXT ≤ 序列号 < RCV.NXT + RCV.WND；"
        "RFC 5961 更进一步，只有序列号恰好等于 RCV.NXT 时才复位（窗口内的 RST 会得到一个"
        "挑战 ACK）。不满足这些条件的 RST 会被悄悄丢弃，连接照常进行。它可能来自盲注入攻击、"
        "同一四元组上旧连接遗留的 RST，或是弄丢了序列号的中间设备。"),
    suricata="stream.rst_invalid_ack, stream.suspected_rst_inject")


@register(RST_OUT_OF_WINDOW)
def rst_out_of_window(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    v = rst_views(ctx)
    for i in np.flatnonzero(v.cls >= 2).tolist():
        r = int(v.rows[i])
        conn, srv = int(ctx.conn[r]), bool(ctx.srv[r])
        state = ctx.state_before(conn, 0 if srv else 1, r)
        if v.cls[i] == 3:
            yield _synsent_finding(ctx, v, i)
        elif state in _SYNCHRONIZED:
            yield _window_finding(ctx, v, i, state)


def _synsent_finding(ctx: Ctx, v: RstView, i: int) -> Finding:
    r = int(v.rows[i])
    conn, srv = int(ctx.conn[r]), bool(ctx.srv[r])
    want = (int(v.syn_seq[i]) + 1) % MOD
    if ctx.has_ack[r]:
        obs = f"ack {num(int(ctx.cols['ack'][r]), _rel(ctx.rel_ack[r]))}"
        obs_z = f"确认号 {numz(int(ctx.cols['ack'][r]), _rel(ctx.rel_ack[r]))}"
    else:
        obs, obs_z = "no ACK flag", "没有 ACK 标志位"
    peer, peer_z = who(ctx, conn, not srv), who(ctx, conn, not srv, zh=True)
    return make(
        ctx, "rst_out_of_window", conn, [r], expected=f"ACK flag with ack {num(want, 1, 'ISN+1')}",
        observed=obs, expected_rel="1", observed_rel=str(_rel(ctx.rel_ack[r]) or ""),
        message=f"RST from {who(ctx, conn, srv)} (frame {ctx.frame(r)}) reaches {peer} in "
                f"SYN_SENT with {obs}; only an RST acknowledging the SYN ({want}) is accepted",
        message_zh=f"{who(ctx, conn, srv, zh=True)} 的 RST（帧 {ctx.frame(r)}）到达处于 SYN_SENT"
                   f"（同步已发送）状态的 {peer_z}，{obs_z}；只有确认了 SYN（{want}）的 RST 才会"
                   f"被接受")


def _rel(v: int | np.integer) -> int | None:
    return None if int(v) == NONE else int(v)


def _window_finding(ctx: Ctx, v: RstView, i: int, state: str) -> Finding:
    r = int(v.rows[i])
    conn, srv = int(ctx.conn[r]), bool(ctx.srv[r])
    nxt, wnd = int(v.rcv_nxt[i]), int(v.rcv_wnd[i]) if v.rcv_wnd[i] != NONE else 0
    seq, rel = int(ctx.cols["seq"][r]), int(ctx.rel_seq[r])
    rel_nxt = rel - _signed32(seq - nxt)
    hi = (nxt + max(wnd, 1) - 1) % MOD
    exp = f"seq in [{nxt}, {hi}] (RCV.NXT {num(nxt, rel_nxt)}, RCV.WND {wnd})"
    peer, peer_z = who(ctx, conn, not srv), who(ctx, conn, not srv, zh=True)
    return make(
        ctx, "rst_out_of_window", conn, [r], expected=exp, observed=f"seq {num(seq, rel)}",
        expected_rel=f"{rel_nxt}..{rel_nxt + max(wnd, 1) - 1}", observed_rel=str(rel),
        message=f"RST from {who(ctx, conn, srv)} (frame {ctx.frame(r)}) has seq {num(seq, rel)}, "
                f"outside the receive window of {peer} ({state}: RCV.NXT {nxt}, RCV.WND {wnd}): "
                "it must be ignored",
        message_zh=f"{who(ctx, conn, srv, zh=True)} 的 RST（帧 {ctx.frame(r)}）序列号为 "
                   f"{numz(seq, rel)}，不在 {peer_z}（{state}）的接收窗口内（RCV.NXT {nxt}，"
                   f"RCV.WND {wnd}）：必须忽略")


def _signed32(x: int) -> int:
    return ((x + (1 << 31)) % MOD) - (1 << 31)


RST_WITH_DATA = CheckSpec(
    id="rst_with_data", severity="info", category="teardown",
    title="RST carries data",
    title_zh="RST（复位）报文段携带数据",
    rfc="RFC 9293 §3.5.3; RFC 1122 §4.2.2.12",
    explanation=(
        "An RST ends the connection; any payload on it is never delivered to an "
        "application. RFC 1122 nevertheless lets an RST carry data, meant as a "
        "human-readable reason for the reset, and some stacks and firewalls use that. It is "
        "harmless to TCP, but intrusion detection systems treat it carefully because "
        "endpoints disagree on whether to look at those bytes, and it is a classic evasion "
        "trick."),
    explanation_zh=(
        "RST 会结束连接，它携带的数据永远不会交给应用程序。不过 RFC 1122 允许 RST 携带数据，"
        "用来说明复位的原因（给人看的文字），有些协议栈和防火墙会这样做。这对 TCP 无害，但"
        "入侵检测系统会小心对待，因为各端对这些字节是否要处理看法不一，这也是一种经典的规避"
        "检测手法。"),
    zeek="RST_with_data")


@register(RST_WITH_DATA)
def rst_with_data(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    rows = np.flatnonzero(ctx.rst & (ctx.plen > 0))
    done: set[int] = set()
    for r in rows.tolist():
        conn, srv = int(ctx.conn[r]), bool(ctx.srv[r])
        if conn in done:
            continue
        done.add(conn)
        plen = int(ctx.plen[r])
        yield make(
            ctx, "rst_with_data", conn, rows[ctx.conn[rows] == conn][:20].tolist(), main=r,
            expected="no payload on an RST", observed=f"{plen} bytes of payload",
            message=f"RST from {who(ctx, conn, srv)} (frame {ctx.frame(r)}) carries {plen} bytes "
                    "of data (never delivered to the application)",
            message_zh=f"{who(ctx, conn, srv, zh=True)} 的 RST（帧 {ctx.frame(r)}）携带了 {plen} "
                       "字节数据（这些数据不会交给应用程序）")


CHALLENGE_ACK = CheckSpec(
    id="challenge_ack", severity="info", category="teardown",
    title="Challenge ACK (RFC 5961)",
    title_zh="挑战 ACK（RFC 5961）",
    rfc="RFC 5961 §3.2, §4.2",
    explanation=(
        "To resist blind reset and SYN injection, a receiver that gets an RST whose "
        "sequence number is inside the window but not exactly RCV.NXT — or a SYN on a "
        "connection that is already synchronized — does not act on it. It answers with a "
        "'challenge ACK' carrying its current sequence and acknowledgement numbers. A "
        "genuine peer that really wants to reset replies with an RST at exactly that "
        "sequence number; an attacker who guessed cannot. A challenge ACK to a SYN "
        "typically means the server still holds an older connection on the same 4-tuple "
        "(the client rebooted or reused its port): the client answers with RST and its "
        "next SYN then succeeds."),
    explanation_zh=(
        "为了抵御盲注入的复位和 SYN，接收方收到序列号在窗口内但不恰好等于 RCV.NXT 的 RST，"
        "或在已同步的连接上收到 SYN 时，不会照做，而是回复一个“挑战 ACK”，带上自己当前的"
        "序列号和确认号。真正想复位的对方会用恰好等于这个序号的 RST 回应；靠猜测的攻击者做不"
        "到。对 SYN 的挑战 ACK 通常说明服务器在同一个四元组上还保留着旧连接（客户端重启或"
        "复用了端口）：客户端回复 RST 后，下一个 SYN 就会成功。"))


@register(CHALLENGE_ACK)
def challenge_ack(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    v = rst_views(ctx)
    a = _answers(ctx, v.rows)
    for i in np.flatnonzero((v.cls == 1) & (a >= 0)).tolist():
        r = int(v.rows[i])
        if int(ctx.cols["ack"][a[i]]) == int(v.rcv_nxt[i]):
            yield _challenge_finding(ctx, r, int(a[i]), "RST")
    yield from _syn_challenges(ctx)


def _answers(ctx: Ctx, rows: np.ndarray) -> np.ndarray:
    """Per row of ``rows``: the receiver's next segment if it is a pure ACK sent soon after,
    else -1."""
    a = ctx.next_from_peer()[rows]
    safe = np.maximum(a, 0)
    ts = ctx.cols["ts_ns"]
    quick = ts[safe] - ts[rows] <= CHALLENGE_ACK_WITHIN_S * 1e9
    pure = ctx.has_ack[safe] & ~ctx.rst[safe] & ((ctx.flags[safe] & 0x03) == 0) \
        & (ctx.plen[safe] == 0)
    return np.where((a >= 0) & quick & pure, a, -1)


def _syn_challenges(ctx: Ctx) -> Iterator[Finding]:
    rows = np.flatnonzero(ctx.pure_syn)
    a = _answers(ctx, rows)
    seq = ctx.cols["seq"][rows].astype(np.int64)
    ack = ctx.cols["ack"].astype(np.int64)[np.maximum(a, 0)]
    normal = (ack == (seq + 1) % MOD) | (ack == (seq + 1 + ctx.plen[rows]) % MOD)
    for i in np.flatnonzero((a >= 0) & ~normal).tolist():
        yield _challenge_finding(ctx, int(rows[i]), int(a[i]), "SYN")


def _challenge_finding(ctx: Ctx, r: int, a: int, kind: str) -> Finding:
    conn, srv = int(ctx.conn[r]), bool(ctx.srv[r])
    ack = int(ctx.cols["ack"][a])
    if kind == "RST":
        why = "in-window RST not at RCV.NXT"
        why_z = "序列号在窗口内但不等于 RCV.NXT 的 RST"
    else:
        why = "SYN on a 4-tuple the receiver still considers synchronized (an older connection)"
        why_z = "接收方认为该四元组上的连接仍处于已同步状态（旧连接）时收到的 SYN"
    return make(
        ctx, "challenge_ack", conn, [r, a], main=a,
        expected=f"challenge ACK answering the {kind}",
        observed=f"ACK (frame {ctx.frame(a)}) with ack {ack}",
        message=f"{who(ctx, conn, not srv)} answered the {kind} of frame {ctx.frame(r)} ({why}) "
                f"with a challenge ACK (frame {ctx.frame(a)}, ack {ack}) instead of acting on it",
        message_zh=f"{who(ctx, conn, not srv, zh=True)} 没有执行帧 {ctx.frame(r)} 的 {kind}"
                   f"（{why_z}），而是回复了挑战 ACK（帧 {ctx.frame(a)}，确认号 {ack}）")
