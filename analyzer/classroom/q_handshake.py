"""Question types about the three-way handshake: endpoints, ISNs, the SYN-ACK's ack, the
packet that completes the handshake, and the handshake RTT."""

from __future__ import annotations

from analyzer.classroom.facts import ConnFacts
from analyzer.classroom.generators import (
    SIDE_ZH,
    GenContext,
    Params,
    T,
    fmt_int,
    generator,
    points,
    sides,
)
from analyzer.classroom.model import Question

__all__: list[str] = []

MOD = 1 << 32


@generator("endpoint")
def endpoint(f: ConnFacts, params: Params, ctx: GenContext) -> list[Question]:
    """Client / server IP address and TCP port (one question per side, "address:port")."""
    out = []
    for side in sides(params):
        src = "source" if side == "client" else "destination"
        frame = f.syn_frame or int(f.table["frame"].iloc[0])
        out.append(Question(
            id="", type="endpoint", kind="endpoint", name=f"{side}_endpoint",
            points=points(params),
            prompt=T("What are the {side}'s IP address and TCP port? Answer as address:port.",
                     "{zside}的 IP 地址和 TCP 端口号是什么？请按 地址:端口 的格式回答。",
                     side=side, zside=SIDE_ZH[side]),
            answer=f.endpoint(side),
            derivation=T(
                "The client is the endpoint that sent the first SYN (active open, frame "
                "{frame}); the server answered it. The {side} is {ep}: the {src} address "
                "and port of frame {frame}.",
                "发送第一个 SYN 的一端（主动打开，帧 {frame}）是客户端，应答它的一端是服务器。"
                "{zside}是 {ep}：即帧 {frame} 的{zsrc}地址和端口。",
                frame=frame, side=side, ep=f.endpoint(side), src=src, zside=SIDE_ZH[side],
                zsrc="源" if side == "client" else "目的"),
            concept="", frames=[frame]))
    return out


def _isn_frame(f: ConnFacts, side: str) -> int | None:
    return f.syn_frame if side == "client" else f.synack_frame


@generator("isn")
def isn(f: ConnFacts, params: Params, ctx: GenContext) -> list[Question]:
    """Raw and/or relative ISN of each side (``form`` raw | relative | both)."""
    form = str(params.get("form", "both"))
    out: list[Question] = []
    for side in sides(params):
        value, frame = f.isn(side), _isn_frame(f, side)
        if value is None or frame is None:
            ctx.skip("isn", f"the capture has no SYN from the {side}")
            continue
        seg = "SYN" if side == "client" else "SYN-ACK"
        how = T("The ISN is the sequence number of the {side}'s {seg} (frame {frame}): "
                "{isn} (raw). Wireshark shows relative sequence numbers, counted from the "
                "ISN, so the {seg} itself has relative sequence number 0.",
                "初始序列号（ISN）就是{zside}的 {seg}（帧 {frame}）的序列号：{isn}（原始序列号）。"
                "Wireshark 显示的是从 ISN 算起的相对序列号，所以这个 {seg} 的相对序列号是 0。",
                side=side, zside=SIDE_ZH[side], seg=seg, frame=frame, isn=fmt_int(value))
        if form in ("raw", "both"):
            out.append(Question(
                id="", type="isn", kind="int", name=f"{side}_isn_raw", points=points(params),
                prompt=T("What is the {side}'s initial sequence number (ISN), as a raw "
                         "number (not relative)?",
                         "{zside}的初始序列号（ISN）是多少？请给出原始序列号（不是相对序列号）。",
                         side=side, zside=SIDE_ZH[side]),
                answer=value, derivation=how, concept="synack_wrong_ack", frames=[frame]))
        if form in ("relative", "both"):
            out.append(Question(
                id="", type="isn", kind="int", name=f"{side}_isn_relative",
                points=points(params),
                prompt=T("What relative sequence number does Wireshark show for the {side}'s "
                         "{seg} (frame {frame})?",
                         "Wireshark 对{zside}的 {seg}（帧 {frame}）显示的相对序列号是多少？",
                         side=side, zside=SIDE_ZH[side], seg=seg, frame=frame),
                answer=0, derivation=how, concept="synack_wrong_ack", frames=[frame]))
    return out


@generator("synack_ack")
def synack_ack(f: ConnFacts, params: Params, ctx: GenContext) -> list[Question]:
    """The SYN-ACK's acknowledgement number (client ISN + 1) and why."""
    frame, c_isn = f.synack_frame, f.isn("client")
    if frame is None or c_isn is None:
        return ctx.skip("synack_ack", "no SYN and SYN-ACK in the connection")
    pkt = f.packet(frame)
    ack, rel = int(pkt["ack"]), int(pkt["rel_ack"])
    allow_rel = bool(params.get("allow_relative", ctx.allow_relative))
    right = (c_isn + 1) % MOD == ack
    why = T("The SYN-ACK (frame {frame}) has ack {ack} = client ISN {isn} + 1, because the "
            "SYN consumes one sequence number: the server says \"I received your SYN, send me "
            "byte {ack} next\". Relative to the client's ISN that is ack 1.",
            "SYN-ACK（帧 {frame}，第二次握手）的确认号 {ack} = 客户端初始序列号 {isn} + 1，"
            "因为 SYN 报文段不携带数据，但要消耗一个序号：服务器的意思是“我已收到你的 SYN，"
            "下一个请发第 {ack} 号字节”。相对于客户端的 ISN，确认号是 1。",
            frame=frame, ack=fmt_int(ack), isn=fmt_int(c_isn))
    if not right:
        why = T("The SYN-ACK (frame {frame}) has ack {ack} (relative {rel}); a correct one "
                "would be client ISN {isn} + 1 = {want}, because the SYN consumes one "
                "sequence number.",
                "SYN-ACK（帧 {frame}）的确认号是 {ack}（相对 {rel}）；正确的值应为客户端初始"
                "序列号 {isn} + 1 = {want}，因为 SYN 报文段要消耗一个序号。",
                frame=frame, ack=fmt_int(ack), rel=rel, isn=fmt_int(c_isn),
                want=fmt_int((c_isn + 1) % MOD))
    return [Question(
        id="", type="synack_ack", kind="int", name="synack_ack", points=points(params),
        prompt=T("What is the acknowledgement number of the SYN-ACK (frame {frame})? "
                 "{rel}",
                 "SYN-ACK（帧 {frame}）的确认号是多少？{zrel}",
                 frame=frame,
                 rel="(Raw or relative.)" if allow_rel else "(Give the raw number.)",
                 zrel="（原始或相对确认号均可。）" if allow_rel else "（请给出原始确认号。）"),
        answer=ack, accept=[rel] if allow_rel else [], derivation=why,
        concept="synack_wrong_ack", frames=[f.syn_frame or frame, frame])]


@generator("handshake_complete")
def handshake_complete(f: ConnFacts, params: Params, ctx: GenContext) -> list[Question]:
    """Which packet (frame number) completes the three-way handshake ("none" if none)."""
    done, synack = f.handshake_done_frame, f.synack_frame
    if f.syn_frame is None:
        return ctx.skip("handshake_complete", "the capture has no SYN")
    if done is None:
        why = T("No packet completes it: the server never received an ACK of its SYN-ACK "
                "(ack = server ISN + 1), so it never left SYN_RECEIVED.",
                "没有报文段完成三次握手：服务器始终没有收到对其 SYN-ACK 的确认"
                "（确认号 = 服务器初始序列号 + 1），"
                "所以一直没有离开 SYN_RECEIVED（同步收到）状态。")
        answer: list[int] = []
        frames = [x for x in (f.syn_frame, synack) if x is not None]
    else:
        pkt = f.packet(done)
        s_isn = f.isn("server")
        want = fmt_int((s_isn + 1) % MOD) if s_isn is not None else "?"
        why = T("Frame {done}, the third handshake segment: the client's ACK with ack {ack} = "
                "server ISN {isn} + 1 (the server's SYN consumes one sequence number too). "
                "Receiving it moves the server from SYN_RECEIVED to ESTABLISHED; the client "
                "was ESTABLISHED as soon as it received the SYN-ACK.",
                "帧 {done}，即第三次握手：客户端的 ACK，确认号 {ack} = 服务器初始序列号 {isn} + 1"
                "（服务器的 SYN 同样消耗一个序号）。服务器收到它后从 SYN_RECEIVED（同步收到）进入 "
                "ESTABLISHED（已建立连接）；客户端在收到 SYN-ACK 时就已进入 ESTABLISHED。",
                done=done, ack=fmt_int(int(pkt["ack"])), isn=fmt_int(s_isn or 0), want=want)
        answer = [done]
        frames = [x for x in (f.syn_frame, synack, done) if x is not None]
    return [Question(
        id="", type="handshake_complete", kind="frames", name="handshake_complete",
        points=points(params),
        prompt=T("Which packet (frame number) completes the three-way handshake? Answer "
                 "\"none\" if the handshake never completes.",
                 "哪一个报文段（帧号）完成了三次握手？如果三次握手没有完成，请回答 none。"),
        answer=answer, derivation=why, concept="handshake_ack_wrong_ack", frames=frames)]


@generator("handshake_rtt")
def handshake_rtt(f: ConnFacts, params: Params, ctx: GenContext) -> list[Question]:
    """The handshake RTT in ms, at the capture point (SYN → SYN-ACK → ACK)."""
    rtt, done = f.handshake_rtt_ms, f.handshake_done_frame
    if rtt is None or f.syn_frame is None or f.synack_frame is None or done is None:
        return ctx.skip("handshake_rtt", "the handshake did not complete")
    t = {fr: float(f.packet(fr)["t"]) for fr in (f.syn_frame, f.synack_frame, done)}
    a = float(f.row["rtt_syn_synack_ms"])
    b = float(f.row["rtt_synack_ack_ms"])
    why = T("SYN (frame {s}) at {ts:.6f} s, SYN-ACK (frame {sa}) at {tsa:.6f} s, ACK (frame "
            "{d}) at {td:.6f} s. The handshake RTT seen at the capture point is the time from "
            "the SYN to the ACK: (SYN → SYN-ACK {a:.3f} ms) + (SYN-ACK → ACK {b:.3f} ms) = "
            "{rtt:.3f} ms.",
            "SYN（帧 {s}）在 {ts:.6f} 秒，SYN-ACK（帧 {sa}）在 {tsa:.6f} 秒，ACK（帧 {d}）在 "
            "{td:.6f} 秒。在抓包点看到的握手往返时间（RTT）是从 SYN 到 ACK 的时间："
            "（SYN → SYN-ACK {a:.3f} ms）+（SYN-ACK → ACK {b:.3f} ms）= {rtt:.3f} ms。",
            s=f.syn_frame, sa=f.synack_frame, d=done, ts=t[f.syn_frame],
            tsa=t[f.synack_frame], td=t[done], a=a, b=b, rtt=rtt)
    return [Question(
        id="", type="handshake_rtt", kind="number", name="handshake_rtt_ms",
        points=points(params), unit="ms",
        tolerance=float(params.get("tolerance", 0.002)),
        rel_tolerance=float(params.get("rel_tolerance", 0.05)),
        prompt=T("What is the handshake round-trip time (from the SYN to the ACK that "
                 "completes the handshake), in milliseconds?",
                 "三次握手的往返时间（RTT，从 SYN 到完成握手的 ACK）是多少毫秒？"),
        answer=round(rtt, 6), derivation=why, concept="",
        frames=[f.syn_frame, f.synack_frame, done])]
