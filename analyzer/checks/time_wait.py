"""TIME_WAIT checks: reuse of the 4-tuple too soon, FINs resent into TIME_WAIT, RSTs that
end it early, and servers collecting TIME_WAIT sockets. They read ``timing.time_wait``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from analyzer.checks.model import CheckSpec, Finding, register
from analyzer.checks.timing import frames_of, seconds, timing_of

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__: list[str] = []

ZH_SIDE = {"client": "客户端", "server": "服务器"}


def _ep(r: Any, zh: bool = False) -> str:
    """``client 10.0.0.1:40000`` for a row of the TIME_WAIT table."""
    return f"{ZH_SIDE[r.endpoint] if zh else r.endpoint} {r.host}:{r.port}"


TIME_WAIT_REUSE_TOO_SOON = CheckSpec(
    id="time_wait_reuse_too_soon", severity="warning", category="timing",
    title="4-tuple reused before TIME_WAIT (2·MSL) ran out",
    title_zh="TIME_WAIT（2MSL）尚未结束就复用了同一四元组",
    rfc="RFC 9293 §3.4.2, §3.10.7.4; RFC 6191; RFC 7323 §5",
    explanation=(
        "TIME_WAIT keeps the old connection's 4-tuple for 2·MSL so that its delayed "
        "segments die before a new incarnation could take them for its own. A new SYN on "
        "the same 4-tuple inside that time is accepted only when it cannot be confused: "
        "its TCP timestamp is newer than the last one of the old connection (RFC 6191, "
        "PAWS of RFC 7323) or, without timestamps, its ISN lies beyond the old connection's "
        "final sequence number. Linux reuses early on purpose (tcp_tw_reuse, or a SYN to a "
        "server socket in TIME_WAIT). Without that evidence, old duplicates may corrupt the "
        "new connection's data."),
    explanation_zh=(
        "TIME_WAIT（时间等待）状态要把旧连接的四元组保留 2MSL（两倍最长报文段寿命），"
        "让旧连接在网络中迟到的报文段全部消失，以免被同一四元组上的新连接误收。在这段时间内"
        "到来的新 SYN，只有在不会混淆时才会被接受：它的 TCP 时间戳比旧连接最后的时间戳新"
        "（RFC 6191，RFC 7323 的 PAWS），或者在没有时间戳时，它的初始序列号（ISN）大于旧连接"
        "的最终序列号。Linux 会有意提前复用（tcp_tw_reuse，或 SYN 到达处于 TIME_WAIT 的服务器"
        "套接字）。若缺少这些证据，旧连接的重复报文段可能破坏新连接的数据。"))


@register(TIME_WAIT_REUSE_TOO_SOON)
def time_wait_reuse_too_soon(result: AnalysisResult) -> Iterator[Finding]:
    tw = timing_of(result).time_wait
    if len(tw) == 0:
        return
    sel = tw[(tw["end"] == "reuse") & (tw["reuse_gap_s"] < tw["expected_s"])]
    r: Any
    for r in sel.itertuples(index=False):
        safe = bool(r.reuse_safe) if pd.notna(r.reuse_safe) else False
        ts_txt = "" if pd.isna(r.ts_advanced) else \
            f"timestamp {'newer' if r.ts_advanced else 'NOT newer'}, "
        isn_txt = "" if pd.isna(r.isn_advanced) else \
            f"ISN {'beyond' if r.isn_advanced else 'NOT beyond'} the old final seq"
        zh_ts = "" if pd.isna(r.ts_advanced) else \
            f"时间戳{'更新' if r.ts_advanced else '没有更新'}，"
        zh_isn = "" if pd.isna(r.isn_advanced) else \
            f"ISN{'大于' if r.isn_advanced else '不大于'}旧连接的最终序列号"
        verdict = "safe" if safe else "not provably safe"
        yield Finding(
            check="time_wait_reuse_too_soon", conn_id=int(r.reuse_conn),
            frame=int(r.reuse_syn_frame) if r.reuse_syn_frame >= 0 else int(r.enter_frame),
            frames=frames_of(r.enter_frame, r.reuse_syn_frame),
            expected=f">= {r.expected_s:g} s (2·MSL)", observed=seconds(r.reuse_gap_s),
            observed_rel=f"{ts_txt}{isn_txt}", severity="info" if safe else "warning",
            message=f"connection {r.reuse_conn} reused the 4-tuple of connection {r.conn_id} "
                    f"{seconds(r.reuse_gap_s)} after {_ep(r)} (re)started TIME_WAIT "
                    f"(2·MSL = {r.expected_s:g} s): {ts_txt}{isn_txt} — {verdict}",
            message_zh=f"连接 {r.reuse_conn} 在{_ep(r, True)}进入（或重新开始）TIME_WAIT 后 "
                       f"{seconds(r.reuse_gap_s)} 就复用了连接 {r.conn_id} 的四元组"
                       f"（2MSL = {r.expected_s:g} 秒）：{zh_ts}{zh_isn}——"
                       f"{'可以安全复用' if safe else '无法证明复用是安全的'}")


FIN_RESENT_DURING_TIME_WAIT = CheckSpec(
    id="fin_resent_during_time_wait", severity="info", category="timing",
    title="The peer resent its FIN while this side was in TIME_WAIT",
    title_zh="本端处于 TIME_WAIT 时对端重发了 FIN",
    rfc="RFC 9293 §3.10.7.4, §3.6",
    explanation=(
        "The last ACK of the four-way close may be lost. The passive closer, still in "
        "LAST_ACK, then retransmits its FIN; the active closer in TIME_WAIT must "
        "acknowledge it again and restart its 2·MSL timer — this is one of the two reasons "
        "TIME_WAIT exists. If the FIN is not ACKed again, the peer keeps retransmitting "
        "until it gives up."),
    explanation_zh=(
        "四次挥手的最后一个 ACK 可能丢失。此时仍处于 LAST_ACK（最后确认）状态的被动关闭方会"
        "重传它的 FIN；处于 TIME_WAIT 的主动关闭方必须再次确认它，并重新开始 2MSL 计时——"
        "这正是 TIME_WAIT 状态存在的两个理由之一。如果重发的 FIN 没有被再次确认，对端会一直"
        "重传直到放弃。"))


@register(FIN_RESENT_DURING_TIME_WAIT)
def fin_resent_during_time_wait(result: AnalysisResult) -> Iterator[Finding]:
    tw = timing_of(result).time_wait
    if len(tw) == 0:
        return
    r: Any
    for r in tw[tw["fin_resent"] > 0].itertuples(index=False):
        acked = r.fin_reacked_frame >= 0
        yield Finding(
            check="fin_resent_during_time_wait", conn_id=int(r.conn_id),
            frame=int(r.fin_resent_frame), frames=frames_of(r.enter_frame, r.fin_resent_frame,
                                                            r.fin_reacked_frame),
            expected="ACKed again, TIME_WAIT restarted",
            observed=f"ACKed again in frame {r.fin_reacked_frame}" if acked else "not ACKed",
            observed_rel=f"{r.fin_resent} resent FIN(s)",
            severity="info" if acked else "warning",
            message=f"the peer resent its FIN {r.fin_resent} time(s) while {_ep(r)} was in "
                    f"TIME_WAIT (its final ACK was lost); "
                    + (f"ACKed again in frame {r.fin_reacked_frame} and 2·MSL restarted"
                       if acked else "it was not ACKed again"),
            message_zh=f"{_ep(r, True)} 处于 TIME_WAIT 时，对端重发了 {r.fin_resent} 次 FIN"
                       f"（最后的 ACK 丢失了）；"
                       + (f"已在帧 {r.fin_reacked_frame} 再次确认并重新开始 2MSL 计时"
                          if acked else "没有被再次确认"))


RST_KILLS_TIME_WAIT = CheckSpec(
    id="rst_kills_time_wait", severity="warning", category="timing",
    title="An RST ended TIME_WAIT early (TIME-WAIT assassination)",
    title_zh="RST 提前结束了 TIME_WAIT（TIME-WAIT 暗杀）",
    rfc="RFC 1337; RFC 9293 §3.10.7.4",
    explanation=(
        "RFC 1337 describes 'TIME-WAIT assassination': an RST arriving in TIME_WAIT (for "
        "example provoked by an old duplicate) makes most stacks drop the TIME_WAIT state "
        "at once, so the 4-tuple can be reused while old segments may still be in the "
        "network. RFC 1337 recommends ignoring RSTs in TIME_WAIT; Linux does so only with "
        "net.ipv4.tcp_rfc1337 = 1 (default 0)."),
    explanation_zh=(
        "RFC 1337 描述了“TIME-WAIT 暗杀”：在 TIME_WAIT 状态收到的 RST（复位），例如由旧的"
        "重复报文段引发的 RST，会使大多数协议栈立即丢弃 TIME_WAIT 状态，于是四元组可以被复用，"
        "而旧的报文段可能仍在网络中。RFC 1337 建议在 TIME_WAIT 状态忽略 RST；Linux 只有在 "
        "net.ipv4.tcp_rfc1337 = 1（默认为 0）时才这样做。"))


@register(RST_KILLS_TIME_WAIT)
def rst_kills_time_wait(result: AnalysisResult) -> Iterator[Finding]:
    tw = timing_of(result).time_wait
    if len(tw) == 0:
        return
    r: Any
    for r in tw[tw["end"] == "rst"].itertuples(index=False):
        held = (r.end_ns - r.enter_ns) / 1e9
        yield Finding(
            check="rst_kills_time_wait", conn_id=int(r.conn_id), frame=int(r.rst_frame),
            frames=frames_of(r.enter_frame, r.rst_frame),
            expected=f"TIME_WAIT for {r.expected_s:g} s", observed=f"RST after {held:.3f} s",
            message=f"an RST from the peer reached {_ep(r)} {held:.3f} s into TIME_WAIT "
                    f"(2·MSL = {r.expected_s:g} s): without RFC 1337 protection it ends "
                    f"TIME_WAIT at once",
            message_zh=f"{_ep(r, True)} 进入 TIME_WAIT {held:.3f} 秒后收到对端的 RST"
                       f"（2MSL = {r.expected_s:g} 秒）：没有 RFC 1337 保护时 TIME_WAIT "
                       f"会立即结束")


TIME_WAIT_ON_SERVER = CheckSpec(
    id="time_wait_on_server", severity="info", category="timing",
    title="The server closes first and keeps the TIME_WAIT sockets",
    title_zh="服务器主动关闭，TIME_WAIT 留在服务器上",
    rfc="RFC 9293 §3.6; RFC 1122 §4.2.2.13",
    explanation=(
        "The endpoint that closes first (active close) is the one that goes through "
        "TIME_WAIT and holds the 4-tuple for 2·MSL. When a busy server closes its "
        "connections first (HTTP without keep-alive, a server-side idle timeout), every "
        "connection leaves a TIME_WAIT socket on the server: thousands pile up (ss -tan "
        "state time-wait), costing memory and, for a server that also connects out, "
        "local ports. Let the clients close first, or use keep-alive."),
    explanation_zh=(
        "先关闭的一端（主动关闭）经历 TIME_WAIT（时间等待）状态，并把四元组保留 2MSL。"
        "如果繁忙的服务器总是先关闭连接（不使用 keep-alive 的 HTTP、服务器端空闲超时），"
        "每个连接都会在服务器上留下一个 TIME_WAIT 套接字，成千上万地堆积（ss -tan state "
        "time-wait），占用内存；服务器如果还要向外发起连接，还会耗尽本地端口。应让客户端先"
        "关闭，或使用长连接。"))


@register(TIME_WAIT_ON_SERVER)
def time_wait_on_server(result: AnalysisResult) -> Iterator[Finding]:
    tw = timing_of(result).time_wait
    if len(tw) == 0:
        return
    srv = tw[tw["endpoint"] == "server"]
    g = srv.groupby(["host", "port"], sort=True).agg(
        conn_id=("conn_id", "first"), frame=("enter_frame", "first"), n=("conn_id", "size"))
    r: Any
    host: Any
    port: Any
    for (host, port), r in zip(g.index, g.itertuples(index=False), strict=True):
        yield Finding(
            check="time_wait_on_server", conn_id=int(r.conn_id), frame=int(r.frame),
            frames=(int(r.frame),), expected="the client closes first",
            observed=f"{r.n} connection(s) left TIME_WAIT on the server",
            message=f"server {host}:{port} closed first and entered TIME_WAIT on {r.n} "
                    f"connection(s) (first: connection {r.conn_id})",
            message_zh=f"服务器 {host}:{port} 主动关闭，{r.n} 个连接的 TIME_WAIT 留在服务器上"
                       f"（第一个：连接 {r.conn_id}）")
