"""Timing checks: retransmissions, their backoff against the OS profile, senders that give up.

They read ``result.timing`` (``analyzer.timing.analyze_timing``, run by ``analyze`` before
the checks) and emit one finding per retransmission or offending timeout. The chain checks
(``retransmission_limit_reached``, ``peer_vanished``) are in ``timing_chains``, the
TIME_WAIT ones in ``time_wait``.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analyzer.checks.model import CheckSpec, Finding, register
from analyzer.timing.profiles import ABS_SLACK_S, EARLY, LATE, Profile, ratio_ok

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult
    from analyzer.timing import Timing

__all__ = ["SEG", "SEG_ZH", "frames_of", "seconds", "timing_of", "who"]

SEG = {"syn": "SYN", "synack": "SYN-ACK", "fin": "FIN", "data": "data"}
SEG_ZH = {"syn": "SYN", "synack": "SYN-ACK", "fin": "FIN", "data": "数据"}
KIND_ZH = {"rto": "超时重传（RTO）", "fast": "快速重传", "tlp": "尾部丢失探测（TLP）",
           "spurious": "虚假重传", "reply": "应答重复 SYN 的重传"}
DATA_RTO_MARGIN = 1.5  # the first data RTO: our SRTT/RTTVAR are estimates from the capture


def timing_of(result: AnalysisResult) -> Timing:
    """The timing analysis of ``result`` (computed now if ``analyze`` did not)."""
    timing = getattr(result, "timing", None)
    if timing is None:
        from analyzer.timing import analyze_timing

        timing = analyze_timing(result)
        result.timing = timing
    return timing


_LABELS: list[tuple[weakref.ref[AnalysisResult], dict[str, np.ndarray]]] = []


def _labels(result: AnalysisResult) -> dict[str, np.ndarray]:
    """"10.0.0.1:40000" per connection for client and server (built once per result)."""
    if _LABELS and _LABELS[0][0]() is result:
        return _LABELS[0][1]
    c = result.connections
    sep = np.where(c["ip_version"].to_numpy() == 4, ":", ".")
    out = {side: c[side].astype(str).to_numpy().astype(object) + sep
           + c[f"{side}_port"].astype(str).to_numpy().astype(object)
           for side in ("client", "server")}
    _LABELS[:] = [(weakref.ref(result), out)]
    return out


def who(result: AnalysisResult, conn: int, direction: str, zh: bool = False) -> str:
    """``client 10.0.0.1:40000`` (``客户端 …``): the sender of ``direction`` (c2s / s2c)."""
    side = "server" if direction == "s2c" else "client"
    addr = _labels(result)[side][conn]
    if zh:
        return f"{'服务器' if side == 'server' else '客户端'} {addr}"
    return f"{side} {addr}"


def frames_of(*values: Any) -> tuple[int, ...]:
    """Frame numbers (ints, lists or arrays of them; -1 = none) as a sorted tuple."""
    flat = np.concatenate([np.atleast_1d(np.asarray(v, dtype=np.int64)) for v in values])
    return tuple(int(x) for x in np.unique(flat[flat >= 0]))


def seconds(x: float) -> str:
    return "?" if pd.isna(x) else f"{x:.3f} s"


RETRANSMISSION = CheckSpec(
    id="retransmission", severity="info", category="timing",
    title="Segment retransmitted", title_zh="报文段重传",
    rfc="RFC 9293 §3.8.1; RFC 6298; RFC 5681 §3.2; RFC 8985",
    explanation=(
        "A sender keeps every segment until it is acknowledged and sends it again when it "
        "believes it was lost. 'rto': its retransmission timer expired (RFC 6298) — the "
        "slowest recovery, the timer doubles each time. 'fast': three duplicate ACKs or a "
        "SACK block above the segment showed a hole (fast retransmit, RFC 5681 / RFC 6675 / "
        "RACK). 'tlp': a tail-loss probe re-sent the last segment about two round-trip times "
        "after it, before any timeout (RFC 8985). 'spurious': the original had arrived; the "
        "copy was unnecessary (proved by the ACK seen just before, a D-SACK, or the "
        "timestamps). 'reply': a SYN-ACK repeated in answer to a repeated SYN."),
    explanation_zh=(
        "发送方保留每个报文段直到它被确认，认为它丢失时就再发一次，这就是重传。"
        "“rto”：重传计时器超时（RFC 6298），即超时重传（RTO），恢复最慢，每次超时计时器翻倍"
        "（指数退避）。“fast”：三个重复确认或高于该报文段的选择性确认 SACK 块表明出现空洞，"
        "即快速重传（RFC 5681 / RFC 6675 / RACK）。“tlp”：尾部丢失探测在约两个往返时间（RTT）"
        "后、任何超时之前重发最后一个报文段（RFC 8985）。“spurious”：原报文段其实已经到达，"
        "这次重传是多余的虚假重传（由之前看到的确认、D-SACK 或时间戳证明）。"
        "“reply”：为应答对方重复的 SYN 而重发的 SYN-ACK。"),
    zeek="", suricata="")


@register(RETRANSMISSION)
def retransmission(result: AnalysisResult) -> Iterator[Finding]:
    tx = timing_of(result).retransmissions
    cols = ["conn_id", "direction", "frame", "original_frame", "segment", "rel_seq", "seg_len",
            "kind", "spurious_by", "retry", "gap_s", "expected_rto_s"]
    r: Any
    for r in tx.loc[(tx["kind"] != "duplicate").to_numpy(), cols].itertuples(index=False):
        seg, sender = SEG[r.segment], who(result, r.conn_id, r.direction)
        why = f"{r.kind}" + (f", proved by {r.spurious_by}" if r.spurious_by else "")
        exp = f"{r.expected_rto_s:.3f} s" if pd.notna(r.expected_rto_s) else ""
        a, b = int(r.original_frame), int(r.frame)     # frames_of(original_frame, frame)
        frames = tuple(sorted({x for x in (a, b) if x >= 0}))
        yield Finding(
            check="retransmission", conn_id=int(r.conn_id), frame=b,
            frames=frames, expected=exp, observed=seconds(r.gap_s),
            message=f"{sender} retransmitted {seg} (seq rel {r.rel_seq}, {r.seg_len} B) [{why}]: "
                    f"send {r.retry + 1}, {seconds(r.gap_s)} after the previous one"
                    + (f"; the profile expects {exp}" if exp else ""),
            message_zh=f"{who(result, r.conn_id, r.direction, True)} 重传了"
                       f"{SEG_ZH[r.segment]}（相对序号 {r.rel_seq}，{r.seg_len} 字节）"
                       f"[{KIND_ZH.get(r.kind, r.kind)}]：第 {r.retry + 1} 次发送，"
                       f"距上一次 {seconds(r.gap_s)}",
            observed_rel=f"retry {r.retry}")


BACKOFF_NOT_DOUBLING = CheckSpec(
    id="backoff_not_doubling", severity="warning", category="timing",
    title="Retransmission timeout did not back off as the profile says",
    title_zh="超时重传的间隔没有按指数退避增长",
    rfc="RFC 6298 §5.5; RFC 9293 §3.8.1",
    explanation=(
        "After each retransmission timeout the sender must double its RTO (exponential "
        "backoff, RFC 6298 §5.5), so the gaps between the sends of one segment grow 1, 2, 4, "
        "8 ... times. Operating systems add their own tables: Linux keeps the first SYN "
        "retries 1 s apart (tcp_syn_linear_timeouts), BSD and macOS the first five. A gap "
        "that grows by another factor means a timer that was reset, a different stack, or "
        "retransmissions the capture did not see; a sender that does not back off at all "
        "can overload a congested path."),
    explanation_zh=(
        "每次超时重传后，发送方必须把重传超时时间（RTO）加倍（指数退避，RFC 6298 §5.5），"
        "所以同一报文段相邻两次发送的间隔按 1、2、4、8……倍增长。各操作系统还有自己的表："
        "Linux 的前几次 SYN 重传间隔保持 1 秒（tcp_syn_linear_timeouts），BSD/macOS "
        "前五次保持 1 秒。间隔按其他倍数增长，说明计时器被重置、对端是另一种协议栈，"
        "或抓包漏掉了某些重传；完全不退避的发送方会加重拥塞。"))


def _expected_ratio(profile: Profile, seg: Any, k: int, prev_gap: float) -> float:
    if seg in ("syn", "synack"):
        return profile.handshake_gap(seg, k) / profile.handshake_gap(seg, k - 1)
    ratio = profile.data_ratio(k)
    return min(ratio, profile.rto_max / prev_gap) if prev_gap > 0 else ratio


@register(BACKOFF_NOT_DOUBLING)
def backoff_not_doubling(result: AnalysisResult) -> Iterator[Finding]:
    t = timing_of(result)
    tx = t.retransmissions
    r: Any
    for r in tx[tx["timeout"] >= 2].itertuples(index=False):
        exp = _expected_ratio(t.profile, r.segment, r.timeout, r.prev_timeout_gap_s)
        if pd.isna(r.ratio) or ratio_ok(r.ratio, exp, r.prev_timeout_gap_s):
            continue
        sender = who(result, r.conn_id, r.direction)
        yield Finding(
            check="backoff_not_doubling", conn_id=int(r.conn_id), frame=int(r.frame),
            frames=frames_of(r.original_frame, r.frame), expected=f"×{exp:g}",
            observed=f"×{r.ratio:.2f}", expected_rel=seconds(exp * r.prev_timeout_gap_s),
            observed_rel=seconds(r.gap_s),
            message=f"{sender}: timeout {r.timeout} of its {SEG[r.segment]} came "
                    f"{seconds(r.gap_s)} after the previous send, ×{r.ratio:.2f} the previous gap "
                    f"({seconds(r.prev_timeout_gap_s)}); {t.profile.label} backs off ×{exp:g}",
            message_zh=f"{who(result, r.conn_id, r.direction, True)}：{SEG_ZH[r.segment]} 的"
                       f"第 {r.timeout} 次超时重传距上一次发送 {seconds(r.gap_s)}，是上一个间隔"
                       f"（{seconds(r.prev_timeout_gap_s)}）的 {r.ratio:.2f} 倍；"
                       f"{t.profile.label} 应为 {exp:g} 倍（指数退避）")


RTO_BELOW_MINIMUM = CheckSpec(
    id="rto_below_minimum", severity="warning", category="timing",
    title="Retransmission timeout shorter than the minimum RTO",
    title_zh="超时重传早于最小 RTO",
    rfc="RFC 6298 §2.4, §2.1, §5.7",
    explanation=(
        "RFC 6298 sets the smallest retransmission timeout to 1 s (§2.4); Linux uses 200 ms "
        "(TCP_RTO_MIN), BSD/macOS 30 ms plus 200 ms of slop; SYNs wait the initial RTO "
        "(1 s; 3 s on legacy Windows). A segment retransmitted by its timer sooner than that "
        "means a tuned stack (ip route ... rto_min, a lower tcp_rto_min_us), another "
        "implementation, or a retransmission that was in fact triggered by something else."),
    explanation_zh=(
        "RFC 6298 规定重传超时时间（RTO）最小为 1 秒（§2.4）；Linux 使用 200 毫秒"
        "（TCP_RTO_MIN），BSD/macOS 为 30 毫秒再加 200 毫秒余量；SYN 要等待初始 RTO"
        "（1 秒；旧版 Windows 为 3 秒）。超时重传早于这个值，说明协议栈被调过"
        "（ip route … rto_min、更小的 tcp_rto_min_us）、是另一种实现，或者这次重传实际上"
        "另有触发原因。"))


def _minimum(profile: Profile, seg: Any) -> float:
    return profile.handshake_gap(seg, 1) if seg in ("syn", "synack") else profile.rto_min


@register(RTO_BELOW_MINIMUM)
def rto_below_minimum(result: AnalysisResult) -> Iterator[Finding]:
    t = timing_of(result)
    tx = t.retransmissions
    r: Any
    for r in tx[tx["timeout"] == 1].itertuples(index=False):
        low = _minimum(t.profile, r.segment)
        if pd.isna(r.gap_s) or r.gap_s >= low * (1 - EARLY) - ABS_SLACK_S:
            continue
        yield Finding(
            check="rto_below_minimum", conn_id=int(r.conn_id), frame=int(r.frame),
            frames=frames_of(r.original_frame, r.frame), expected=f">= {low:g} s",
            observed=seconds(r.gap_s),
            message=f"{who(result, r.conn_id, r.direction)} timed out its {SEG[r.segment]} "
                    f"after only {seconds(r.gap_s)}; {t.profile.label} never times out sooner "
                    f"than {low:g} s",
            message_zh=f"{who(result, r.conn_id, r.direction, True)} 在 {seconds(r.gap_s)} 后就"
                       f"超时重传了{SEG_ZH[r.segment]}；{t.profile.label} 的最小 RTO 为 "
                       f"{low:g} 秒")


RTO_ABOVE_EXPECTED = CheckSpec(
    id="rto_above_expected", severity="warning", category="timing",
    title="First retransmission timeout much longer than the RTO the sender should use",
    title_zh="第一次超时重传明显晚于应有的 RTO",
    rfc="RFC 6298 §2, §5",
    explanation=(
        "From the round-trip samples the capture shows, RFC 6298 gives the RTO the sender "
        "should have armed: SRTT + 4·RTTVAR, at least the profile's minimum (initial RTO "
        "for SYNs). The timer runs from the last send of the segment or the last ACK of new "
        "data. A first timeout much later than that points to a sender whose RTT estimate is "
        "inflated, a larger minimum RTO, or a host too busy to run its timers."),
    explanation_zh=(
        "根据抓包中看到的往返时间（RTT）样本，RFC 6298 给出发送方应设置的重传超时时间："
        "SRTT + 4·RTTVAR，且不小于该配置文件的最小值（SYN 为初始 RTO）。计时器从该报文段"
        "最后一次发送或最后一个确认新数据的 ACK 开始计时。第一次超时重传远晚于此，"
        "说明发送方的 RTT 估计偏大、最小 RTO 更大，或主机太忙来不及运行计时器。"))


@register(RTO_ABOVE_EXPECTED)
def rto_above_expected(result: AnalysisResult) -> Iterator[Finding]:
    t = timing_of(result)
    tx = t.retransmissions
    r: Any
    for r in tx[(tx["timeout"] == 1) & tx["expected_rto_s"].notna()].itertuples(index=False):
        hs = r.segment in ("syn", "synack")
        obs = r.gap_s if hs else r.timer_gap_s
        limit = r.expected_rto_s * (1 + LATE) + ABS_SLACK_S if hs \
            else r.expected_rto_s * DATA_RTO_MARGIN + 0.05
        if pd.isna(obs) or obs <= limit:
            continue
        yield Finding(
            check="rto_above_expected", conn_id=int(r.conn_id), frame=int(r.frame),
            frames=frames_of(r.original_frame, r.frame), expected=seconds(r.expected_rto_s),
            observed=seconds(obs), observed_rel=f"×{obs / r.expected_rto_s:.2f}",
            message=f"{who(result, r.conn_id, r.direction)} waited {seconds(obs)} before timing "
                    f"out its {SEG[r.segment]}; {t.profile.label} should use an RTO of "
                    f"{seconds(r.expected_rto_s)}",
            message_zh=f"{who(result, r.conn_id, r.direction, True)} 等了 {seconds(obs)} 才超时"
                       f"重传{SEG_ZH[r.segment]}；按 {t.profile.label} 应为 "
                       f"{seconds(r.expected_rto_s)}")
