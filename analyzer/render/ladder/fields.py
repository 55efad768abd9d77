"""The texts of one segment: flags, seq/ack, length, window, options, step, check, retx."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from analyzer.flows.groups import NONE
from analyzer.render.ladder.labels import T, flag_names, retx_text, step_text
from analyzer.render.ladder.marks import ACK_2, ACK_3, ACK_4, SYNACK_2, Marks
from analyzer.render.ladder.model import Field
from analyzer.schema import ACK, SYN

__all__ = ["SegmentText", "scaled_windows"]


def scaled_windows(cols: dict[str, np.ndarray], rows: np.ndarray,
                   srv: np.ndarray) -> np.ndarray:
    """Window of each row in bytes: shifted by the sender's scale once both SYNs had one."""
    flags = cols["flags"][rows].astype(np.int64)
    ws = cols["opt_wscale"][rows].astype(np.int64)
    is_syn = (flags & SYN) != 0
    shift = [-1, -1]
    for d in (0, 1):
        got = ws[is_syn & (srv[rows] == bool(d))]
        shift[d] = int(got[0]) if len(got) and got[0] >= 0 else -1
    both = shift[0] >= 0 and shift[1] >= 0
    sh = np.where(srv[rows], shift[1], shift[0]) if both else np.zeros(len(rows), np.int64)
    sh = np.where(is_syn, 0, np.clip(sh, 0, 14))
    return cols["window"][rows].astype(np.int64) << sh


@dataclass
class SegmentText:
    """Builds the Fields of segments of one connection (``raw``: raw seq/ack numbers)."""

    cols: dict[str, np.ndarray]
    rel_seq: np.ndarray
    rel_ack: np.ndarray
    srv: np.ndarray
    marks: Marks
    raw: bool
    lang: str

    def label(self, r: int, window: int | None) -> tuple[Field, ...]:
        c = self.cols
        bits = int(c["flags"][r])
        out = [Field("flags", flag_names(bits))]
        seq = int(c["seq"][r]) if self.raw else int(self.rel_seq[r])
        out.append(Field("seq", str(seq), "seq="))
        if bits & ACK:
            rel = int(self.rel_ack[r])
            ack = int(c["ack"][r]) if self.raw or rel == NONE else rel
            out.append(Field("ack", str(ack), "ack="))
        if int(c["payload_len"][r]) > 0:
            out.append(Field("len", f"{int(c['payload_len'][r])}", "len="))
        if window is not None:
            out.append(Field("win", str(window), "win="))
        opts = self.options(r) if bits & SYN else ""
        if opts:
            out.append(Field("opts", opts))
        return tuple(out)

    def options(self, r: int) -> str:
        c = self.cols
        parts = []
        if int(c["opt_mss"][r]) >= 0:
            parts.append(f"mss={int(c['opt_mss'][r])}")
        if int(c["opt_wscale"][r]) >= 0:
            parts.append(f"ws={int(c['opt_wscale'][r])}")
        if bool(c["opt_sack_perm"][r]):
            parts.append("sack")
        if int(c["opt_ts_val"][r]) >= 0:
            parts.append("ts")
        return " ".join(parts)

    def step(self, r: int) -> Field | None:
        text = step_text(int(self.marks.step[r]), self.lang)
        return Field("step", text) if text else None

    def check(self, r: int) -> Field | None:
        ok = int(self.marks.check_ok[r])
        if ok < 0:
            return None
        t = T[self.lang]
        step = int(self.marks.step[r])
        got, want = int(self.rel_ack[r]), int(self.marks.check_want[r])
        if step & (SYNACK_2 | ACK_3):
            peer = t["server"] if self.srv[r] == 0 else t["client"]
            text = t["check_isn"].format(who=peer, d=got)
        elif step & (ACK_2 | ACK_4):
            text = t["check_fin"].format(d=got - (want - 1))
        else:
            return None
        text += t["ok"] if ok else t["bad"] + t["expect"]
        return Field("check", text)

    def retx(self, rec: dict[str, Any] | None) -> Field | None:
        if rec is None:
            return None
        text = retx_text(str(rec["kind"]), bool(rec["timer"]), int(rec["timeout"]),
                         float(rec["gap_s"]), float(rec["ratio"]), self.lang)
        return Field("retx", text)
