"""Question types about states and the close: each endpoint's state after packet N, who
enters TIME_WAIT and for how long, and half-open vs half-closed."""

from __future__ import annotations

import pandas as pd

from analyzer.classroom.facts import ConnFacts
from analyzer.classroom.generators import (
    SIDE_ZH,
    GenContext,
    Params,
    T,
    generator,
    points,
    sides,
)
from analyzer.classroom.model import Question
from analyzer.timing.profiles import PROFILES, get_profile

__all__ = ["pick_frames"]

_ZH_STATE = {
    "CLOSED": "关闭", "LISTEN": "收听", "SYN_SENT": "同步已发送", "SYN_RECEIVED": "同步收到",
    "ESTABLISHED": "已建立连接", "FIN_WAIT_1": "终止等待 1", "FIN_WAIT_2": "终止等待 2",
    "CLOSING": "同时关闭", "TIME_WAIT": "时间等待", "CLOSE_WAIT": "关闭等待",
    "LAST_ACK": "最后确认", "UNKNOWN": "未知",
}


def zh_state(state: str) -> str:
    return f"{state}（{_ZH_STATE[state]}）" if state in _ZH_STATE else state


def pick_frames(f: ConnFacts, params: Params, ctx: GenContext) -> list[int]:
    """Frames for ``state_after``: ``frames = [..]`` as given, else ``count`` packets after
    which a state changed (``phase`` teardown | handshake | any), drawn at random in a
    variant."""
    given = params.get("frames")
    if isinstance(given, list) and given:
        return [int(x) for x in given]
    cands = f.changed_frames()
    phase = str(params.get("phase", "any"))
    if phase in ("teardown", "handshake") and cands:
        done = f.handshake_done_frame or (f.synack_frame or 0)
        pick = [x for x in cands if (x > done) == (phase == "teardown")]
        cands = pick or cands
    count = int(params.get("count", 4))
    if bool(params.get("random", False)) and len(cands) > count:
        return sorted(ctx.rng.sample(cands, count))
    return cands[:count]


def _cause(f: ConnFacts, frame: int, side: str) -> tuple[pd.Series | None, bool]:
    """The side's latest transition at or before ``frame``, and whether it was at it."""
    tr = f.result.transitions
    mine = tr[(tr["conn_id"] == f.conn_id) & (tr["endpoint"] == side)
              & (tr["at_frame"] >= 0) & (tr["at_frame"] <= frame)]
    if len(mine) == 0:
        return None, False
    last = mine.iloc[-1]
    return last, int(last["at_frame"]) == frame


def _state_why(f: ConnFacts, frame: int, side: str, state: str) -> dict[str, str]:
    pkt = f.packet(frame)
    sender = "client" if pkt["direction"] == "c2s" else "server"
    last, here = _cause(f, frame, side)
    head = T("Frame {frame} is a {flags} segment from the {sender}.",
             "帧 {frame} 是{zsender}发出的 {flags} 报文段。",
             frame=frame, flags=pkt["flags"], sender=sender, zsender=SIDE_ZH[sender])
    if last is None:
        init = str(f.result.timelines.initial[f.conn_id][0 if side == "client" else 1])
        tail = T("The {side} has not changed state yet: it is still in its initial state "
                 "{state}.", "{zside}的状态还没有变化：仍处于初始状态 {zstate}。",
                 side=side, zside=SIDE_ZH[side], state=init, zstate=zh_state(init))
    elif here:
        how = "observed" if bool(last["observed"]) else "inferred"
        tail = T("It moves the {side} from {a} to {b} ({cause}; {how}).",
                 "它使{zside}从 {za} 进入 {zb}（{cause}；{zhow}）。",
                 side=side, zside=SIDE_ZH[side], a=last["from_state"], b=state,
                 za=zh_state(str(last["from_state"])), zb=zh_state(state),
                 cause=last["cause"], how=how, zhow="观察到" if how == "observed" else "推断")
    else:
        tail = T("It does not change the {side}'s state: the {side} has been in {b} since "
                 "frame {at} ({cause}).",
                 "它不改变{zside}的状态：{zside}自帧 {at} 起一直处于 {zb}（{cause}）。",
                 side=side, zside=SIDE_ZH[side], b=state, zb=zh_state(state),
                 at=int(last["at_frame"]), cause=last["cause"])
    return {k: head[k] + " " + tail[k] if k == "en" else head[k] + tail[k] for k in head}


@generator("state_after")
def state_after(f: ConnFacts, params: Params, ctx: GenContext) -> list[Question]:
    """Each endpoint's RFC 9293 state right after packet N (RFC or Linux spelling)."""
    out = []
    for frame in pick_frames(f, params, ctx):
        try:
            f.frame_index(frame)
        except KeyError:
            ctx.skip("state_after", f"frame {frame} is not in connection {f.conn_id}")
            continue
        for side in sides(params):
            state = f.state_after(frame, side)
            out.append(Question(
                id="", type="state_after", kind="state", name=f"{side}_state_after_{frame}",
                points=points(params),
                prompt=T("In which TCP state is the {side} right after packet {frame}?",
                         "在帧 {frame} 之后，{zside}处于哪个 TCP 状态？",
                         side=side, zside=SIDE_ZH[side], frame=frame),
                answer=state, derivation=_state_why(f, frame, side, state),
                concept=_state_concept(state), frames=[frame]))
    return out


def _state_concept(state: str) -> str:
    if state in ("FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "LAST_ACK", "CLOSING"):
        return "fin_ack_wrong"
    if state == "TIME_WAIT":
        return "time_wait_reuse_too_soon"
    if state == "SYN_RECEIVED":
        return "synack_no_ack"
    if state == "SYN_SENT":
        return "syn_no_reply"
    return ""


def _profile(params: Params, ctx: GenContext) -> str:
    name = str(params.get("profile", ctx.profile))
    if name == "random":
        name = ctx.rng.choice(sorted(PROFILES))
    get_profile(name)  # ValueError for an unknown name
    return name


@generator("time_wait")
def time_wait(f: ConnFacts, params: Params, ctx: GenContext) -> list[Question]:
    """Which side enters TIME_WAIT, and for how long under an OS ``profile``."""
    side, frames = f.time_wait_side, f.time_wait_frames()
    pname = _profile(params, ctx)
    prof = get_profile(pname)
    fins = f.fin_frames
    if side == "none":
        why = T("Neither side enters TIME_WAIT: only the endpoint that closes first with a "
                "FIN (the active closer) and then receives the peer's FIN goes through "
                "TIME_WAIT, and this connection did not end that way.",
                "两端都没有进入 TIME_WAIT：只有先发送 FIN 的一端（主动关闭）在收到对方的 FIN 之后"
                "才会进入 TIME_WAIT（时间等待）状态，这个连接不是这样结束的。")
    else:
        first = fins[0] if fins else 0
        first = fins[0] if fins else 0
        tw = ", ".join(str(x) for x in frames) or "?"
        if side == "both":
            why = T("Both sides close at once: their FINs cross (frame {fin} is the first), "
                    "each receives the other's FIN while in FIN_WAIT_1 and moves through "
                    "CLOSING to TIME_WAIT (frames {tw}): a simultaneous close, so both "
                    "endpoints enter TIME_WAIT.",
                    "两端同时关闭：两个 FIN 交叉（第一个在帧 {fin}），"
                    "每一端都在 FIN_WAIT_1 状态收到"
                    "对方的 FIN，经过 CLOSING（同时关闭）进入 TIME_WAIT（帧 {tw}）：这是同时关闭，"
                    "两端都进入 TIME_WAIT（时间等待）状态。", fin=first, tw=tw)
        else:
            why = T("The {side} closes first (FIN in frame {fin}: active close). When the "
                    "peer's FIN arrives (frame {tw}) the {side} acknowledges it and enters "
                    "TIME_WAIT; the passive closer goes through CLOSE_WAIT and LAST_ACK to "
                    "CLOSED instead.",
                    "{zside}先关闭（帧 {fin} 的 FIN：主动关闭）。收到对方的 FIN（帧 {tw}）后，"
                    "{zside}确认它并进入 TIME_WAIT（时间等待）状态；被动关闭的一端则经过 "
                    "CLOSE_WAIT（关闭等待）和 LAST_ACK（最后确认）进入 CLOSED（关闭）。",
                    side=side, zside=SIDE_ZH[side], fin=first, tw=tw)
    out = [Question(
        id="", type="time_wait", kind="side", name="time_wait_side", points=points(params),
        choices=["client", "server", "both", "none"],
        prompt=T("Which endpoint enters TIME_WAIT: client, server, both or none?",
                 "哪一端进入 TIME_WAIT 状态：client（客户端）、server（服务器）、both（两端）"
                 "还是 none（都没有）？"),
        answer=side, derivation=why, concept="time_wait_on_server"
        if side == "server" else "time_wait_reuse_too_soon", frames=fins + frames)]
    if side == "none":
        return out
    dur = T("TIME_WAIT lasts 2·MSL. The {title} profile has MSL = {msl:g} s, so the "
            "endpoint stays in TIME_WAIT for 2 × {msl:g} s = {tw:g} s (Linux always uses "
            "60 s, TCP_TIMEWAIT_LEN; RFC 9293: MSL 2 min → 240 s; macOS: 30 s; legacy "
            "Windows: 240 s).",
            "TIME_WAIT 持续 2MSL（两倍最长报文段寿命）。{title} 配置的 MSL = {msl:g} 秒，"
            "所以该端在 TIME_WAIT 状态停留 2 × {msl:g} 秒 = {tw:g} 秒（Linux 固定为 60 秒，"
            "TCP_TIMEWAIT_LEN；RFC 9293：MSL 为 2 分钟 → 240 秒；macOS：30 秒；旧版 Windows："
            "240 秒）。", title=prof.name, msl=prof.msl, tw=prof.time_wait_s)
    out.append(Question(
        id="", type="time_wait", kind="number", name="time_wait_seconds", points=points(params),
        unit="s", tolerance=float(params.get("tolerance", 0.0)),
        prompt=T("Under the {p} timing profile, how long (in seconds) does that endpoint "
                 "stay in TIME_WAIT?",
                 "在 {p} 计时配置下，该端在 TIME_WAIT 状态停留多少秒？", p=prof.name),
        answer=prof.time_wait_s, derivation=dur, concept="time_wait_reuse_too_soon",
        frames=frames))
    return out


@generator("half_status")
def half_status(f: ConnFacts, params: Params, ctx: GenContext) -> list[Question]:
    """Was the connection half-open, half-closed, or neither?"""
    status = f.half_status
    if status == "half-open":
        check = f.half_open_check
        why = T("Half-open: one endpoint kept a connection the other did not have (catalogue "
                "check {c}). The final states were client {cs}, server {ss}.",
                "半开连接：一端保留着另一端并不存在的连接（检查项 {c}）。最终状态：客户端 {cs}，"
                "服务器 {ss}。", c=check, cs=f.row["client_final"], ss=f.row["server_final"])
        concept, frames = check, []
    elif status == "half-closed":
        fin, data = f.half_closed_frames or (0, 0)
        why = T("Half-closed: one side sent its FIN (frame {fin}) and the other side went on "
                "sending data afterwards (frame {data}) — a normal state (shutdown(SHUT_WR)), "
                "not a fault. A half-open connection is different: one side no longer knows "
                "the connection at all.",
                "半关闭：一端发送了 FIN（帧 {fin}），另一端之后仍继续发送数据（帧 {data}）——这是"
                "正常状态（shutdown(SHUT_WR)），不是故障。半开连接则不同：其中一端已经根本不知道"
                "这个连接了。", fin=fin, data=data)
        concept, frames = "data_after_fin", [fin, data]
    else:
        why = T("Neither: the handshake completed and no data flowed after a FIN; nothing "
                "shows one side holding a connection the other had dropped.",
                "都不是：三次握手已完成，FIN 之后没有再传数据；"
                 "也没有迹象表明一端保留着另一端已放弃的"
                "连接。")
        concept, frames = "", []
    return [Question(
        id="", type="half_status", kind="choice", name="half_status", points=points(params),
        choices=["half-open", "half-closed", "neither"],
        prompt=T("Was this connection half-open, half-closed, or neither?",
                 "这个连接是半开连接（half-open）、半关闭（half-closed），还是都不是（neither）？"),
        answer=status, derivation=why, concept=concept, frames=frames)]
