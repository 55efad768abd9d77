"""The classic Wireshark TCP lab (Kurose & Ross, "Computer Networking: A Top-Down Approach"):
the first data segments' send and ACK times, SampleRTT and EstimatedRTT with α = 0.125,
the minimum advertised window and the throughput — computed and turned into questions.

Definitions follow the lab and its published solution: the *data sender* is the endpoint
that sent more payload (the client uploading a file in the lab); its first six segments
carrying data (retransmissions left out) are "the first six segments"; each one's ACK is
the first segment from the receiver whose ack covers the segment's last byte; SampleRTT =
ACK time − send time; EstimatedRTT starts at the first SampleRTT and then
EstimatedRTT = (1 − α)·EstimatedRTT + α·SampleRTT. The minimum advertised window is the
smallest window (window-scaled, as Wireshark's "calculated window size") in the receiver's
segments. Throughput = (highest byte acknowledged − first data byte) / (time of that ACK −
time of the first data segment), in bytes per second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyzer.classroom.facts import ConnFacts
from analyzer.classroom.generators import SIDE_ZH, GenContext, Params, T, generator, points
from analyzer.classroom.model import Question

__all__ = ["ALPHA", "KRSegment", "KRStats", "kurose_stats"]

ALPHA = 0.125


@dataclass(frozen=True, slots=True)
class KRSegment:
    frame: int
    rel_seq: int
    seq: int
    length: int
    sent_s: float
    sent_conn_s: float
    ack_frame: int
    ack_s: float
    ack_conn_s: float
    sample_rtt_ms: float
    estimated_rtt_ms: float


@dataclass(frozen=True, slots=True)
class KRStats:
    sender: str
    segments: tuple[KRSegment, ...]
    min_window: int
    min_window_frame: int
    data_bytes: int
    first_data_frame: int
    last_ack_frame: int
    duration_s: float
    throughput: float  # bytes per second


def _acks(f: ConnFacts, sender_dir: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = f.table
    recv = (t["direction"].to_numpy() != sender_dir) & (t["rel_ack"].to_numpy() >= 0)
    return (t["frame"].to_numpy()[recv], t["rel_ack"].to_numpy()[recv],
            t["t"].to_numpy()[recv])


def kurose_stats(f: ConnFacts, count: int = 6, sender: str = "auto") -> KRStats | None:
    """The lab's numbers for the connection (``sender`` client | server | auto: the one
    that sent more); None when no data segment of the sender was acknowledged."""
    t = f.table
    c2s = int(f.row["bytes_c2s"])
    s2c = int(f.row["bytes_s2c"])
    if sender not in ("client", "server"):
        sender = "client" if c2s >= s2c else "server"
    sdir = "c2s" if sender == "client" else "s2c"
    retx = set(int(x) for x in f.retransmissions["frame"].to_numpy())
    data = t[(t["direction"] == sdir) & (t["payload_len"] > 0) & ~t["frame"].isin(list(retx))]
    if len(data) == 0:
        return None
    af, aack, at = _acks(f, sdir)
    start = float(t["t"].iloc[0])
    segs: list[KRSegment] = []
    est = float("nan")
    for r in data.head(count).to_dict("records"):
        end = int(r["rel_seq"]) + int(r["payload_len"])
        hit = np.flatnonzero((af > int(r["frame"])) & (aack >= end))
        if len(hit) == 0:
            break
        k = int(hit[0])
        sent = float(r["t"])
        sample = (float(at[k]) - sent) * 1e3
        est = sample if not segs else (1 - ALPHA) * est + ALPHA * sample
        segs.append(KRSegment(int(r["frame"]), int(r["rel_seq"]), int(r["seq"]),
                              int(r["payload_len"]), sent, sent - start, int(af[k]), float(at[k]),
                              float(at[k]) - start, sample, est))
    if not segs:
        return None
    recv = t[t["direction"] != sdir]
    win_i = int(np.argmin(recv["window"].to_numpy()))
    first = data.iloc[0]
    data_end = int((data["rel_seq"] + data["payload_len"]).max())
    covered = np.flatnonzero((af > int(first["frame"])) & (aack >= data_end))
    last = int(covered[0]) if len(covered) else int(np.argmax(aack))
    nbytes = int(min(int(aack[last]), data_end) - int(first["rel_seq"]))
    dur = float(at[last]) - float(first["t"])
    return KRStats(sender, tuple(segs), int(recv["window"].iloc[win_i]),
                   int(recv["frame"].iloc[win_i]), nbytes, int(first["frame"]),
                   int(af[last]), dur, nbytes / dur if dur > 0 else float("nan"))


def _nums(values: list[float], nd: int) -> list[float]:
    return [round(v, nd) for v in values]


def _seg_table(st: KRStats, zh: bool = False) -> str:
    if zh:
        return "；".join(
            f"第 {i + 1} 个 帧 {s.frame}：序号 {s.rel_seq}，长度 {s.length}，发送于 "
            f"{s.sent_s:.6f} 秒，ACK 帧 {s.ack_frame} 于 {s.ack_s:.6f} 秒，SampleRTT "
            f"{s.sample_rtt_ms:.3f} ms，EstimatedRTT {s.estimated_rtt_ms:.3f} ms"
            for i, s in enumerate(st.segments))
    return "; ".join(
        f"#{i + 1} frame {s.frame}: seq {s.rel_seq}, len {s.length}, sent {s.sent_s:.6f} s, "
        f"ACK frame {s.ack_frame} at {s.ack_s:.6f} s, SampleRTT {s.sample_rtt_ms:.3f} ms, "
        f"EstimatedRTT {s.estimated_rtt_ms:.3f} ms" for i, s in enumerate(st.segments))


def _q(name: str, kind: str, prompt: dict[str, str], answer: object, why: dict[str, str],
       params: Params, frames: list[int], **kw: object) -> Question:
    return Question(id="", type="kurose_ross", kind=kind, name=name,  # type: ignore[arg-type]
                    points=points(params), prompt=prompt, answer=answer, derivation=why,
                    frames=frames, **kw)  # type: ignore[arg-type]


@generator("kurose_ross")
def kurose_ross(f: ConnFacts, params: Params, ctx: GenContext) -> list[Question]:
    """The segment questions of the lab (KR questions 6-9 and 12)."""
    st = kurose_stats(f, int(params.get("segments", 6)), str(params.get("sender", "auto")))
    if st is None:
        return ctx.skip("kurose_ross", "no data segment of the connection was acknowledged")
    segs, n = st.segments, len(st.segments)
    frames = sorted({s.frame for s in segs} | {s.ack_frame for s in segs})
    table = T("The data sender is the {s}. Its first {n} data segments: {tab}. EstimatedRTT "
              "starts at the first SampleRTT, then EstimatedRTT = 0.875·EstimatedRTT + "
              "0.125·SampleRTT.",
              "数据发送方是{zs}。它的前 {n} 个数据报文段：{ztab}。EstimatedRTT 取第一个 "
              "SampleRTT，之后 EstimatedRTT = 0.875·EstimatedRTT + 0.125·SampleRTT。",
              s=st.sender, zs=SIDE_ZH[st.sender], n=n, tab=_seg_table(st),
              ztab=_seg_table(st, zh=True))
    first = segs[0]
    q = [_q("kr_first_data_seq", "int",
            T("What is the sequence number of the first segment carrying data from the {s} "
              "(frame {fr})? (Raw or relative.)",
              "{zs}发出的第一个携带数据的报文段（帧 {fr}）的序列号是多少？"
              "（原始或相对序列号均可。）",
              s=st.sender, zs=SIDE_ZH[st.sender], fr=first.frame),
            first.seq, table, params, [first.frame], accept=[first.rel_seq]),
         _q("kr_seqs", "numbers",
            T("List the relative sequence numbers of the first {n} data segments from the "
              "{s}.", "请列出{zs}前 {n} 个数据报文段的相对序列号。", n=n, s=st.sender,
              zs=SIDE_ZH[st.sender]),
            [s.rel_seq for s in segs], table, params, frames,
            accept=[[s.seq for s in segs]]),
         _q("kr_lengths", "numbers",
            T("What is the length (TCP payload bytes) of each of those {n} segments?",
              "这 {n} 个报文段各自的长度（TCP 载荷字节数）是多少？", n=n),
            [s.length for s in segs], table, params, frames, unit="bytes"),
         _q("kr_sent_times", "numbers",
            T("At what time (s since the start of the capture) was each of them sent?",
              "它们各自在什么时间发送（从抓包开始算起的秒数）？"),
            _nums([s.sent_s for s in segs], 9), table, params, frames, unit="s",
            tolerance=2e-6, accept=[_nums([s.sent_conn_s for s in segs], 9)]),
         _q("kr_ack_times", "numbers",
            T("At what time (s) was the ACK for each of them received?",
              "每个报文段的确认（ACK）在什么时间（秒）收到？"),
            _nums([s.ack_s for s in segs], 9), table, params, frames, unit="s",
            tolerance=2e-6, accept=[_nums([s.ack_conn_s for s in segs], 9)]),
         _q("kr_sample_rtt", "numbers",
            T("What is the SampleRTT (ms) of each of them?",
              "它们各自的 SampleRTT（毫秒）是多少？"),
            _nums([s.sample_rtt_ms for s in segs], 6), table, params, frames, unit="ms",
            tolerance=0.002, rel_tolerance=0.01),
         _q("kr_estimated_rtt", "numbers",
            T("What is the EstimatedRTT (ms) after each ACK is received (α = 0.125, the "
              "first EstimatedRTT = the first SampleRTT)?",
              "收到每个 ACK 之后的 EstimatedRTT（毫秒）是多少（α = 0.125，第一个 EstimatedRTT "
              "等于第一个 SampleRTT）？"),
            _nums([s.estimated_rtt_ms for s in segs], 6), table, params, frames, unit="ms",
            tolerance=0.002, rel_tolerance=0.01),
         _min_window(st, params), _throughput(st, params)]
    return q


def _min_window(st: KRStats, params: Params) -> Question:
    recv = "server" if st.sender == "client" else "client"
    why = T("The smallest window the receiver ({r}) advertised is {w:,} bytes, in frame "
            "{fr} (the window field scaled by the window-scale option, as Wireshark's "
            "\"calculated window size\").",
            "接收方（{zr}）通告的最小窗口是 {w:,} 字节，在帧 {fr}（窗口字段乘以窗口扩大因子，"
            "即 Wireshark 的 calculated window size）。",
            r=recv, zr=SIDE_ZH[recv], w=st.min_window, fr=st.min_window_frame)
    return _q("kr_min_window", "number",
              T("What is the minimum receive window (bytes) advertised by the receiver ({r}) "
                "in the whole connection?",
                "整个连接中接收方（{zr}）通告的最小接收窗口是多少字节？",
                r=recv, zr=SIDE_ZH[recv]),
              st.min_window, why, params, [st.min_window_frame], unit="bytes")


def _throughput(st: KRStats, params: Params) -> Question:
    why = T("Bytes transferred = highest byte acknowledged − first data byte = {b:,} bytes; "
            "time = ACK (frame {la}) − first data segment (frame {fd}) = {d:.6f} s; "
            "throughput = {b:,} / {d:.6f} = {tp:,.0f} bytes/s.",
            "传输的字节数 = 被确认的最高字节 − 第一个数据字节 = {b:,} 字节；时间 = ACK（帧 {la}）"
            "− 第一个数据报文段（帧 {fd}）= {d:.6f} 秒；吞吐量 = {b:,} / {d:.6f} = {tp:,.0f} "
            "字节/秒。", b=st.data_bytes, la=st.last_ack_frame, fd=st.first_data_frame,
            d=st.duration_s, tp=st.throughput)
    return _q("kr_throughput", "number",
              T("What is the throughput of the transfer in bytes per second (bytes "
                "acknowledged divided by the time from the first data segment to the ACK of "
                "the last byte)?",
                "这次传输的吞吐量是多少字节/秒（被确认的字节数除以从第一个数据报文段到最后一个字节"
                "被确认所用的时间）？"),
              round(st.throughput, 3), why, params,
              [st.first_data_frame, st.last_ack_frame], unit="bytes/s",
              rel_tolerance=float(params.get("rel_tolerance", 0.05)))
