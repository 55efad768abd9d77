"""Chain checks: a sender that gave up retransmitting, and a peer that vanished."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from analyzer.checks.model import CheckSpec, Finding, register
from analyzer.checks.timing import SEG, SEG_ZH, frames_of, seconds, timing_of, who

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__: list[str] = []

ENDED = {"gave_up": "then gave up: nothing more came within the next expected gap",
         "reset": "then reset the connection", "capture_end": "was still retrying when the "
         "capture ended"}
ENDED_ZH = {"gave_up": "之后放弃了：在下一次应有的重传间隔内再无发送",
            "reset": "之后发送 RST（复位）中止了连接", "capture_end": "抓包结束时仍在重传"}


RETRANSMISSION_LIMIT_REACHED = CheckSpec(
    id="retransmission_limit_reached", severity="warning", category="timing",
    title="The sender gave up retransmitting a segment",
    title_zh="发送方重传达到上限后放弃",
    rfc="RFC 9293 §3.8.3; RFC 1122 §4.2.3.5",
    explanation=(
        "A TCP sender does not retransmit forever: RFC 1122 §4.2.3.5 sets two thresholds "
        "(R1: tell the IP layer, R2: close the connection; at least 3 minutes for SYNs, "
        "100 s for data). Linux counts them in retries: tcp_syn_retries for SYNs, "
        "tcp_synack_retries for SYN-ACKs, tcp_retries2 (default 15, about 15 minutes) for "
        "data. When the last retry is not answered the application gets ETIMEDOUT and the "
        "connection is gone on this side — usually without any RST on the wire. If the "
        "peer's answers were seen in the capture, they were lost after the capture point."),
    explanation_zh=(
        "TCP 发送方不会无限重传：RFC 1122 §4.2.3.5 规定了两个阈值（R1：通知 IP 层；R2：关闭"
        "连接；SYN 至少 3 分钟，数据至少 100 秒）。Linux 用重传次数表示：SYN 用 "
        "tcp_syn_retries，SYN-ACK 用 tcp_synack_retries，数据用 tcp_retries2（默认 15，"
        "约 15 分钟）。最后一次重传仍无应答时，应用程序得到 ETIMEDOUT，本端的连接随之消失，"
        "通常线路上看不到 RST（复位）。如果抓包里能看到对方的应答，说明应答在抓包点之后"
        "丢失了。"))


@register(RETRANSMISSION_LIMIT_REACHED)
def retransmission_limit_reached(result: AnalysisResult) -> Iterator[Finding]:
    t = timing_of(result)
    ch = t.chains
    c: Any
    for c in ch[ch["outcome"].isin(["gave_up", "reset"])].itertuples(index=False):
        lost = c.answer_seen
        yield Finding(
            check="retransmission_limit_reached", conn_id=int(c.conn_id),
            frame=int(c.frames[-1]), frames=frames_of(c.original_frame, c.frames),
            expected="an answer (ACK) before the retries ran out",
            observed=f"{c.retries} retransmissions over {seconds(c.span_s)}, {c.outcome}",
            observed_rel=f"next retry was due {seconds(c.next_gap_s)} later",
            message=f"{who(result, c.conn_id, c.direction)} sent its {SEG[c.segment]} "
                    f"{c.retries + 1} times over {seconds(c.span_s)} without an answer reaching "
                    f"it, {ENDED[c.outcome]} ({seconds(c.next_gap_s)})"
                    + ("; the peer's answers were on the wire but lost after the capture "
                       "point" if lost else ""),
            message_zh=f"{who(result, c.conn_id, c.direction, True)} 把{SEG_ZH[c.segment]}在 "
                       f"{seconds(c.span_s)} 内发送了 {c.retries + 1} 次，始终没有收到应答，"
                       f"{ENDED_ZH[c.outcome]}（{seconds(c.next_gap_s)}）"
                       + ("；对方的应答出现在抓包中，但在抓包点之后丢失" if lost else ""))


PEER_VANISHED = CheckSpec(
    id="peer_vanished", severity="warning", category="half_open",
    title="The peer vanished: retransmissions into silence",
    title_zh="对端消失：重传石沉大海",
    rfc="RFC 9293 §3.5.2, §3.8.3",
    explanation=(
        "After the connection was working, one side keeps retransmitting the same segment "
        "with growing timeouts and the other side sends nothing at all any more — no ACK, "
        "no RST. The peer crashed, lost power or network, or a firewall/NAT on the path "
        "dropped the connection's state. The sender gives up after its retry limit "
        "(tcp_retries2 on Linux) with ETIMEDOUT; if the peer comes back it may still "
        "believe the connection ESTABLISHED: a half-open connection, cleaned up only by "
        "keep-alive probes or the next segment, which the peer answers with RST."),
    explanation_zh=(
        "连接本来正常，之后一方不断以越来越长的超时时间重传同一个报文段，另一方却再也没有"
        "发送任何东西——没有 ACK，也没有 RST（复位）。对端可能崩溃、断电、断网，或者路径上的"
        "防火墙/NAT 丢弃了该连接的状态。发送方在达到重传上限（Linux 为 tcp_retries2）后以 "
        "ETIMEDOUT 放弃；对端如果恢复，可能仍认为连接处于 ESTABLISHED（已建立连接）状态："
        "这就是半开连接，只能靠保活探测报文段或下一个报文段（对方回复 RST）来清理。"))


@register(PEER_VANISHED)
def peer_vanished(result: AnalysisResult) -> Iterator[Finding]:
    ch = timing_of(result).chains
    sel = ch[ch["segment"].isin(["data", "fin"]) & (ch["timeouts"] >= 2) & ch["peer_silent"]
             & ch["outcome"].isin(["gave_up", "reset", "capture_end"])]
    c: Any
    for c in sel.drop_duplicates(["conn_id", "direction"]).itertuples(index=False):
        peer = "s2c" if c.direction == "c2s" else "c2s"
        yield Finding(
            check="peer_vanished", conn_id=int(c.conn_id), frame=int(c.frames[-1]),
            frames=frames_of(c.original_frame, c.frames),
            expected="an ACK from the peer", observed=f"silence for {seconds(c.span_s)}",
            observed_rel=f"{c.retries} retransmissions, {c.outcome}",
            message=f"{who(result, c.conn_id, peer)} went silent: "
                    f"{who(result, c.conn_id, c.direction)} retransmitted {SEG[c.segment]} "
                    f"{c.retries} times over {seconds(c.span_s)} into silence and "
                    f"{ENDED[c.outcome].split(':')[0]}; the peer is left half-open",
            message_zh=f"{who(result, c.conn_id, peer, True)} 没有了任何回应："
                       f"{who(result, c.conn_id, c.direction, True)} 在 {seconds(c.span_s)} "
                       f"内重传{SEG_ZH[c.segment]} {c.retries} 次都石沉大海，"
                       f"{ENDED_ZH[c.outcome].split('：')[0]}；对端处于半开连接状态")
