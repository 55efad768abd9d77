"""Words and number formats of the ladder diagram, in English and Chinese.

RFC state names and flag names stay in Latin letters in both languages (as ``ss`` and
Wireshark show them, see shared/GLOSSARY.md); the rest follows the glossary.
"""

from __future__ import annotations

import math

from analyzer.render.ladder.marks import STEP_BITS
from analyzer.schema import FLAG_LETTERS

__all__ = [
    "FLAG_NAMES", "T", "flag_names", "fmt_bytes", "fmt_seconds", "retx_text", "step_text",
]

FLAG_NAMES = {"S": "SYN", ".": "ACK", "F": "FIN", "R": "RST", "P": "PSH", "U": "URG",
              "E": "ECE", "W": "CWR"}
_ORDER = ("S", "F", "R", "P", "U", "E", "W", ".")  # SYN, ACK reads better with ACK last

T: dict[str, dict[str, str]] = {
    "en": {
        "client": "client", "server": "server", "capture": "capture point",
        "title": "connection {id}: {client} → {server} ({summary}, {conn_state})",
        "inferred": "(inferred)", "observed": "(observed)",
        "band_seg": "{n:,} data segments", "band_retx": "{n:,} retransmissions",
        "band_retx1": "1 retransmission", "sep": ", ",
        "gap": "idle {t}", "rto": "RTO #{k} {gap}", "retx": "{kind} {gap}",
        "ratio": " ×{r:.1f}",
        "kinds": "fast retransmit|TLP|spurious retransmission|retransmission|"
                 "duplicate capture|resent in reply to a resent segment",
        "tw": "TIME_WAIT 2·MSL = {msl}", "tw_until": "; ended by {why} after {t}",
        "tw_open": "; still in TIME_WAIT when the capture ends ({t} in)",
        "tw_expired": "; expired (CLOSED) at +{t}",
        "why_reuse": "4-tuple reuse", "why_rst": "an RST",
        "check_isn": "ack = {who} ISN+{d}", "check_fin": "ack = FIN seq+len+{d}",
        "expect": " (expected +1)", "ok": " ✓", "bad": " ✗",
        "legend_state": "[STATE], solid box: observed (the endpoint's own segment)",
        "legend_inferred": "(STATE), dashed box: inferred (deduced from the peer's segment "
                           "or a timer)",
        "legend_colours": "red: error, orange: warning, blue: retransmission",
        "end_open": "still open at the end of the capture",
        "end_half_syn": "half-open: no reply to this SYN",
        "end_half_synack": "half-open: the SYN-ACK was never acknowledged (server left in "
                           "SYN_RECEIVED)",
        "end_vanished": "half-open: the peer vanished (retransmissions into silence)",
        "end_reset": "reset: the connection was aborted by an RST",
        "end_refused": "refused: the SYN was answered by an RST",
        "more": "+{n} more finding(s)", "collapsed": "{n:,} of {total:,} segments collapsed",
    },
    "zh": {
        "client": "客户端", "server": "服务器", "capture": "抓包点",
        "title": "连接 {id}：{client} → {server}（{summary}，{conn_state}）",
        "inferred": "（推断）", "observed": "（观察到）",
        "band_seg": "{n:,} 个数据报文段", "band_retx": "{n:,} 次重传",
        "band_retx1": "1 次重传", "sep": "，",
        "gap": "空闲 {t}", "rto": "超时重传 #{k} {gap}", "retx": "{kind} {gap}",
        "ratio": " ×{r:.1f}",
        "kinds": "快速重传|尾部丢失探测 TLP|虚假重传|重传|重复抓包|对重传报文段的应答重发",
        "tw": "TIME_WAIT 2MSL = {msl}", "tw_until": "；{t} 后因{why}结束",
        "tw_open": "；抓包结束时仍处于 TIME_WAIT（已过 {t}）",
        "tw_expired": "；在 +{t} 到期（CLOSED）",
        "why_reuse": "四元组复用", "why_rst": "RST",
        "check_isn": "确认号 = {who} ISN+{d}", "check_fin": "确认号 = FIN 序号+长度+{d}",
        "expect": "（应为 +1）", "ok": " ✓", "bad": " ✗",
        "legend_state": "[状态]、实线框：观察到（端点自己发出的报文段）",
        "legend_inferred": "(状态)、虚线框：推断（由对方的报文段或计时器推出）",
        "legend_colours": "红色：错误，橙色：警告，蓝色：重传",
        "end_open": "抓包结束时连接仍然打开",
        "end_half_syn": "半开连接：这个 SYN 没有得到应答",
        "end_half_synack": "半开连接：SYN-ACK 一直没有被确认（服务器停留在 SYN_RECEIVED）",
        "end_vanished": "半开连接：对端消失（重传石沉大海）",
        "end_reset": "复位：连接被 RST 中止",
        "end_refused": "连接被拒绝：SYN 被 RST 应答",
        "more": "另有 {n} 条检查结果", "collapsed": "{total:,} 个报文段中的 {n:,} 个已折叠",
    },
}

_KIND_KEYS = ("fast", "tlp", "spurious", "rto", "duplicate", "reply")
_STEPS_ZH = {"1/3": "第一次握手", "2/3": "第二次握手", "3/3": "第三次握手",
             "1/4": "第一次挥手", "2/4": "第二次挥手", "3/4": "第三次挥手", "4/4": "第四次挥手"}


def flag_names(bits: int) -> str:
    """Flag bits → "SYN, ACK" (ACK last, as textbooks write it)."""
    letters = {ch for bit, ch in FLAG_LETTERS if bits & bit}
    return ", ".join(FLAG_NAMES[ch] for ch in _ORDER if ch in letters) or "none"


def step_text(step: int, lang: str) -> str:
    """STEP bits → "1/3", "2/4+3/4" (English) or "第一次握手" (Chinese); "" for none."""
    parts = [k for bit, _phase, k in STEP_BITS if step & bit]
    if lang == "zh":
        return "+".join(_STEPS_ZH[p] for p in parts)
    return "+".join(parts)


def fmt_seconds(s: float) -> str:
    """0.000033 → "33 µs", 0.0062 → "6.2 ms", 0.432 → "432 ms", 6.656 → "6.66 s"."""
    if not math.isfinite(s):
        return "?"
    a = abs(s)
    if a < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if a < 0.01:
        return f"{s * 1e3:.1f} ms"
    if a < 1.0:
        return f"{s * 1e3:.0f} ms"
    if a < 10:
        return f"{s:.2f} s"
    if a < 100:
        return f"{s:.0f} s" if s == round(s) else f"{s:.1f} s"
    return f"{s:,.0f} s"


def fmt_bytes(n: int) -> str:
    """1_400_000 → "1.4 MB", 2_048 → "2.0 kB", 300 → "300 B" (SI units)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def retx_text(kind: str, timer: bool, timeout: int, gap_s: float, ratio: float,
              lang: str) -> str:
    """The retransmission mark: "RTO #2 432 ms ×2.0", "fast retransmit 1.2 ms", …"""
    t = T[lang]
    gap = fmt_seconds(gap_s)
    if timer and kind == "rto" and timeout >= 1:
        text = t["rto"].format(k=timeout, gap=gap)
        if math.isfinite(ratio):
            text += t["ratio"].format(r=ratio)
        return text
    names = dict(zip(_KIND_KEYS, t["kinds"].split("|"), strict=True))
    if kind in ("reply", "duplicate"):
        return names[kind]
    return t["retx"].format(kind=names.get(kind, names["rto"]), gap=gap)
