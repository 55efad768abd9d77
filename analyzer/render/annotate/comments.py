"""The packet comments of an annotated capture: what each segment that matters means.

One comment per fact, in this order: the handshake/teardown step with its ack check and
the state changes it caused ("handshake 2/3 — SYN-ACK, ack = client ISN+1 ✓ — server →
SYN_RECEIVED"), the retransmission ("RTO retransmission #2, gap 2.01 s (×2.0)"), then the
findings whose main packet it is ("half-open: no reply to this SYN", "[warning]
fin_retransmitted: …"). Segments without any of these get no comment.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from analyzer.pdutil import records
from analyzer.render.ladder.fields import SegmentText
from analyzer.render.ladder.labels import T
from analyzer.render.ladder.marks import HANDSHAKE, STEP_BITS, TEARDOWN, marks
from analyzer.render.ladder.notes import HALF_OPEN_CHECKS, SKIP_ON_ARROW
from analyzer.result import AnalysisResult
from analyzer.schema import ACK, FIN, RST, SYN

__all__ = ["frame_comments", "retx_comment"]

_W = {
    "en": {"handshake": "handshake", "inferred": " (inferred)", "rto": "RTO retransmission",
           "gap": "gap", "fast": "fast retransmission", "tlp": "tail-loss probe",
           "spurious": "spurious retransmission", "duplicate": "same segment captured twice",
           "reply": "resent in reply to a resent segment", "other": "retransmission"},
    "zh": {"handshake": "三次握手", "inferred": "（推断）", "rto": "超时重传",
           "gap": "间隔", "fast": "快速重传", "tlp": "尾部丢失探测", "spurious": "虚假重传",
           "duplicate": "同一报文段被抓到两次", "reply": "对重传报文段的应答重发",
           "other": "重传"},
}


def _gap(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    return f"{s:.2f} s" if s >= 0.1 else f"{s * 1e3:.1f} ms"


def retx_comment(rec: dict[str, Any], lang: str = "en") -> str:
    """"RTO retransmission #2, gap 2.01 s (×2.0)" for one row of ``retransmissions``."""
    w = _W[lang]
    kind, gap = str(rec["kind"]), float(rec["gap_s"])
    if kind in ("duplicate", "reply"):
        return w[kind]
    if kind == "rto" and bool(rec["timer"]) and int(rec["timeout"]) >= 1:
        text = f"{w['rto']} #{int(rec['timeout'])}, {w['gap']} {_gap(gap)}"
        ratio = float(rec["ratio"])
        return text + (f" (×{ratio:.1f})" if math.isfinite(ratio) else "")
    name = w["other"] if kind == "rto" else w.get(kind, w["other"])
    return f"{name}, {w['gap']} {_gap(gap)}"


def _segment_name(bits: int) -> str:
    if bits & SYN:
        return "SYN-ACK" if bits & ACK else "SYN"
    if bits & RST:
        return "RST"
    if bits & FIN:
        return "FIN+ACK" if bits & ACK else "FIN"
    return "ACK"


class _Comments:
    def __init__(self, result: AnalysisResult, lang: str) -> None:
        self.result, self.lang = result, lang
        self.m = marks(result)
        fl = result.flows
        self.text = SegmentText(result.columns, fl.rel_seq, fl.rel_ack, fl.from_server,
                                self.m, False, lang)
        self.out: dict[int, list[str]] = defaultdict(list)
        self.frames = result.columns["frame"]

    def states_by_frame(self) -> dict[tuple[int, int], list[str]]:
        tr = self.result.transitions
        t = T[self.lang]
        out: dict[tuple[int, int], list[str]] = defaultdict(list)
        for r in records(tr):
            at = int(r["at_frame"])
            if at < 0:
                continue
            who = t[str(r["endpoint"])] if str(r["endpoint"]) in t else str(r["endpoint"])
            how = "" if bool(r["observed"]) else _W[self.lang]["inferred"]
            out[(int(r["conn_id"]), at)].append(f"{who} → {r['to_state']}{how}")
        return out

    def steps(self) -> None:
        states = self.states_by_frame()
        flags = self.result.columns["flags"]
        conn = self.result.flows.conn
        rows = np.flatnonzero(self.m.step != 0)
        moved_rows = set()
        if states:
            keys = np.array([k[1] for k in states], dtype=np.int64)
            moved_rows = set(np.flatnonzero(np.isin(self.frames, keys)).tolist())
        for r in sorted(set(rows.tolist()) | moved_rows):
            head = self.step_head(r, int(flags[r]))
            moved = states.get((int(conn[r]), int(self.frames[r])), [])
            parts = [p for p in (head, ", ".join(moved)) if p]
            if parts:
                self.out[int(self.frames[r])].append(" — ".join(parts))

    def step_head(self, r: int, bits: int) -> str:
        step = int(self.m.step[r])
        name = _segment_name(bits)
        check = self.text.check(r)
        tail = f", {check.value}" if check is not None else ""
        ks = [k for bit, _p, k in STEP_BITS if step & bit]
        if step & HANDSHAKE:
            return f"{_W[self.lang]['handshake']} {'+'.join(ks)} — {name}{tail}"
        if step & TEARDOWN:
            return f"{name} {'+'.join(ks)}{tail}"
        return name if bits & (SYN | FIN | RST) else ""

    def retransmissions(self) -> None:
        for rec in records(self.m.retx):
            self.out[int(rec["frame"])].append(retx_comment(rec, self.lang))

    def findings(self) -> None:
        fd = self.result.findings
        col = "message_zh" if self.lang == "zh" else "message"
        t = T[self.lang]
        for r in records(fd):
            check = str(r["check"])
            if check in SKIP_ON_ARROW:
                continue
            text = f"[{r['severity']}] {check}: {r[col]}"
            if check in HALF_OPEN_CHECKS:
                text = f"{t[HALF_OPEN_CHECKS[check]]} — {text}"
            self.out[int(r["frame"])].append(text)


def frame_comments(result: AnalysisResult, lang: str = "en") -> dict[int, list[str]]:
    """Comments per frame number (only frames that get at least one)."""
    c = _Comments(result, "zh" if lang == "zh" else "en")
    c.steps()
    c.retransmissions()
    c.findings()
    return dict(c.out)
