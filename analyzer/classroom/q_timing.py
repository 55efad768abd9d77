"""Question types about retransmissions: which packets were sent again, and the timeout
gaps of each retransmission chain (exponential backoff)."""

from __future__ import annotations

from analyzer.classroom.facts import ConnFacts
from analyzer.classroom.generators import GenContext, Params, T, generator, points
from analyzer.classroom.model import Question

__all__: list[str] = []

_KIND_ZH = {"rto": "超时重传", "fast": "快速重传", "tlp": "尾部丢失探测", "spurious": "虚假重传",
            "reply": "应答重复 SYN 的 SYN-ACK"}


@generator("retransmissions")
def retransmissions(f: ConnFacts, params: Params, ctx: GenContext) -> list[Question]:
    """Which packets (frame numbers) are retransmissions ("none" if none)."""
    rt = f.retransmissions
    frames = [int(x) for x in rt["frame"].to_numpy()]
    if frames:
        recs = rt.to_dict("records")
        items_en = "; ".join(f"frame {int(r['frame'])} re-sends frame "
                             f"{int(r['original_frame'])} ({r['kind']})" for r in recs)
        items_zh = "；".join(f"帧 {int(r['frame'])} 重发帧 {int(r['original_frame'])}"
                            f"（{_KIND_ZH.get(str(r['kind']), str(r['kind']))}）" for r in recs)
        why = T("A retransmission carries a sequence range (or a SYN/FIN) that its sender had "
                "already sent: {items}.", "重传的报文段携带的序号范围（或 SYN/FIN）是发送方之前已经"
                "发送过的：{items_zh}。", items=items_en, items_zh=items_zh)
    else:
        why = T("No segment repeats a sequence range its sender had already sent: there is "
                "no retransmission.", "没有报文段重复发送已经发送过的序号范围：没有重传。")
    return [Question(
        id="", type="retransmissions", kind="frames", name="retransmitted_frames",
        points=points(params),
        prompt=T("Which packets (frame numbers) are retransmissions? List them, or answer "
                 "\"none\".", "哪些报文段（帧号）是重传？请列出帧号，没有则回答 none。"),
        answer=frames, derivation=why, concept="retransmission",
        frames=sorted(set(frames) | {int(x) for x in rt["original_frame"].to_numpy()}))]


@generator("rto_gaps")
def rto_gaps(f: ConnFacts, params: Params, ctx: GenContext) -> list[Question]:
    """The gaps (s) between successive transmissions of each segment sent again on timeout
    (at most ``max_chains`` chains, default 2)."""
    chains = f.chains.head(int(params.get("max_chains", 2)))
    if len(chains) == 0:
        return ctx.skip("rto_gaps", "no segment was retransmitted after a timeout")
    out = []
    for ch in chains.to_dict("records"):
        orig = int(ch["original_frame"])
        frames = [int(x) for x in ch["frames"]]
        gaps = [round(float(g), 6) for g in ch["gaps_s"]]
        seg = str(ch["segment"]).upper() if str(ch["segment"]) in ("syn", "synack", "fin") else \
            "data segment"
        seg = "SYN-ACK" if seg == "SYNACK" else seg
        sender = "client" if str(ch["direction"]) == "c2s" else "server"
        chain_txt = ", ".join(f"{g:.3f}" for g in gaps)
        why = T("Frame {orig} ({sender}'s {seg}) was sent again in frames {frames}. Gaps "
                "between successive transmissions: {gaps} s. Each timeout is about twice the "
                "previous one: the retransmission timer backs off exponentially (RFC 6298 "
                "§5.5).",
                "帧 {orig}（{zsender}的 {seg}）在帧 {frames} 中被再次发送。相邻两次发送的间隔："
                "{gaps} 秒。每次超时大约是上一次的两倍：重传计时器按指数退避（RFC 6298 §5.5）。",
                orig=orig, sender=sender, zsender="客户端" if sender == "client" else "服务器",
                seg=seg, frames=", ".join(map(str, frames)), gaps=chain_txt)
        out.append(Question(
            id="", type="rto_gaps", kind="numbers", name=f"rto_gaps_{orig}",
            points=points(params), unit="s",
            tolerance=float(params.get("tolerance", 0.01)),
            rel_tolerance=float(params.get("rel_tolerance", 0.02)),
            prompt=T("Frame {orig} (the {sender}'s {seg}) is retransmitted. List the time "
                     "gaps in seconds between its successive transmissions (original → 1st "
                     "retransmission → 2nd ...).",
                     "帧 {orig}（{zsender}的 {seg}）被重传。请按顺序列出相邻两次发送之间的时间"
                     "间隔（秒）（原始 → 第 1 次重传 → 第 2 次重传……）。",
                     orig=orig, sender=sender, seg=seg,
                     zsender="客户端" if sender == "client" else "服务器"),
            answer=gaps, derivation=why, concept="backoff_not_doubling",
            frames=[orig, *frames]))
    return out
