"""synack's per-packet verdicts, in the shape Wireshark's expert flags have, with reasons.

Everything comes from the analysis synack already did (``result.timing`` for
retransmissions and out-of-order segments, the timing stage's row context for duplicate
ACKs, keep-alives and zero-window probes, the ``segment_not_captured`` findings, the flows
stage for sequence gaps and incarnations); nothing here is a second opinion of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.checks.artefacts import duplicate_mask
from analyzer.flows.groups import NONE
from analyzer.result import AnalysisResult, flag_strings
from analyzer.schema import ACK, FIN, RST, SYN
from analyzer.timing.context import RowContext, build_context
from analyzer.timing.segments import find_resends

__all__ = ["RETRANSMITTED_KINDS", "SynackView", "synack_view"]

RETRANSMITTED_KINDS = ("rto", "fast", "tlp", "spurious", "reply")


class SynackView:
    """Per packet-table row: synack's verdicts (``table``) and why (:meth:`reason`)."""

    def __init__(self, result: AnalysisResult, table: pd.DataFrame, ctx: RowContext) -> None:
        self.result = result
        self.table = table
        self.ctx = ctx
        self._tx = result.retransmissions.set_index("row") if len(result.retransmissions) \
            else None
        fd = result.findings
        self.findings: dict[int, list[str]] = {}
        if len(fd):
            for frame, check in zip(fd["frame"].tolist(), fd["check"].tolist(), strict=True):
                self.findings.setdefault(int(frame), []).append(str(check))

    def reason(self, row: int) -> str:
        """One line: what synack makes of this row, and the evidence."""
        flags = flag_strings(self.result.columns["flags"][row:row + 1])[0]
        checks = [c for c in self.findings.get(int(self.result.columns["frame"][row]), [])
                  if c != "retransmission"]
        also = f" — findings: {', '.join(sorted(set(checks)))}" if checks else ""
        return f"[{flags}] {self._reason(row)}{also}"

    def kind_of(self, row: int) -> str:
        """A short label of what synack makes of the row (for grouping disagreements)."""
        t = self.table.iloc[row]
        if t["duplicate"]:
            return "duplicate capture"
        if t["retx_kind"]:
            return f"retransmission kind {t['retx_kind']}"
        for col, text in (("out_of_order", "out-of-order"), ("keep_alive", "keep-alive"),
                          ("zero_window_probe", "zero-window probe"),
                          ("gap_before", "new data after a gap"),
                          ("duplicate_ack", "duplicate ACK")):
            if t[col]:
                return text
        if self.ctx.occ[row]:
            return "new data"
        flags = int(self.result.columns["flags"][row])
        return "RST" if flags & RST else "pure ACK" if flags & ACK else "segment without ACK"

    def _reason(self, row: int) -> str:
        t = self.table.iloc[row]
        fl = self.result.flows
        span = f"rel {fl.rel_seq[row]}..{fl.seg_end[row]}"
        if t.duplicate:
            return self._duplicate(row)
        if t.retx_kind:
            return _retx_reason(self._tx.loc[row]) if self._tx is not None else t.retx_kind  # type: ignore[arg-type]
        if t.out_of_order:
            return f"out-of-order: first copy of {span} (bytes from a hole), within the " \
                   "RTT of the segment that opened the hole"
        if t.keep_alive:
            return "keep-alive: at most one byte at SND.NXT-1 with everything acknowledged"
        if t.zero_window_probe:
            return "zero-window probe: one byte sent while the peer's window was 0"
        mbe = self.ctx.max_end_before[row]
        if t.gap_before:
            return f"new data after a gap: starts at rel {fl.rel_seq[row]}, above the highest " \
                   f"byte sent before (rel {mbe}); the bytes between were never captured"
        if self.ctx.occ[row]:
            return f"new data: {span}, the first time these bytes appear"
        return self._no_data(row, t)

    def _duplicate(self, row: int) -> str:
        """The copy of an earlier row: same direction, numbers, flags, length and IP ID."""
        c, fl = self.result.columns, self.result.flows
        same = np.flatnonzero(fl.group[:row] == fl.group[row])
        for key in ("seq", "ack", "flags", "payload_len", "ip_id", "window"):
            same = same[c[key][same] == c[key][row]]
        if not same.size:
            return "not a send: the same segment captured twice"
        o = int(same[-1])
        dt = (int(c["ts_ns"][row]) - int(c["ts_ns"][o])) / 1e3
        ipid = f", IP ID {int(c['ip_id'][o]):#06x}" if c["ip_id"][o] >= 0 else ""
        return f"not a send: frame {int(c['frame'][o])} captured again {dt:.0f} µs later " \
               f"(same numbers, flags, length{ipid})"

    def _no_data(self, row: int, t: pd.Series) -> str:
        flags = int(self.result.columns["flags"][row])
        what = "RST" if flags & RST else "pure ACK" if flags & ACK else "segment"
        extra = []
        if t.duplicate_ack:
            extra.append(f"duplicate ACK #{int(self.ctx.dup_count[row])}")
        if t.acked_unseen:
            extra.append("acknowledges data the capture never showed")
        win = int(self.result.columns["window"][row])
        extra.append(f"window {win}")
        return f"{what} without data ({', '.join(extra)})"


def _retx_reason(tx: pd.Series) -> str:
    kind, trig, gap = tx["kind"], tx["trigger"], float(tx["gap_s"])
    srtt = float(tx["srtt_s"]) if pd.notna(tx["srtt_s"]) else float("nan")
    orig = int(tx["original_frame"])
    since = f"{gap * 1e3:.1f} ms after the previous send" if gap == gap else ""
    since += f", original frame {orig}" if orig >= 0 else ", original not captured"
    since = since.lstrip(", ")
    if kind == "duplicate":
        return "not a send: the same segment captured twice (identical copy)"
    if kind == "spurious":
        return f"spurious retransmission ({since}): the original had already arrived " \
               f"(evidence: {tx['spurious_by']})"
    if kind == "reply":
        return "SYN-ACK sent again in answer to the peer's repeated SYN"
    if kind == "tlp":
        rel = f"{gap / srtt:.1f}·SRTT, " if srtt == srtt and srtt > 0 else ""
        return f"tail-loss probe sent {rel}{since}, before any RTO could fire"
    if kind == "fast":
        why = {"dupacks": "after 3 duplicate ACKs", "sack": "a SACK block above it",
               "ack": "ACK-clocked during loss recovery"}.get(trig, trig)
        return f"fast retransmission ({why}; {since})"
    if trig == "ack":
        return f"go-back-N resend after an RTO, ACK-clocked ({since})"
    nth = f" #{int(tx['timeout'])}" if tx["timeout"] >= 1 else ""
    return f"RTO retransmission: timeout{nth}, {since}"


def _reused(result: AnalysisResult) -> np.ndarray:
    """Rows of the first SYN of a connection whose 4-tuple an earlier connection used."""
    conns = result.connections
    pair = ["|".join(sorted([f"{a}:{b}", f"{c}:{d}"])) for a, b, c, d in zip(
        conns["client"].astype(str), conns["client_port"], conns["server"].astype(str),
        conns["server_port"], strict=True)]
    order = conns["first_frame"].to_numpy().argsort(kind="stable")
    seen: set[str] = set()
    later = np.zeros(len(conns), dtype=bool)
    for i in order.tolist():
        later[i] = pair[i] in seen
        seen.add(pair[i])
    flags = result.columns["flags"]
    syn = (flags & (SYN | ACK)) == SYN
    out = np.zeros(len(flags), dtype=bool)
    conn = result.flows.conn
    for c in np.flatnonzero(later).tolist():
        rows = np.flatnonzero((conn == c) & syn)
        if rows.size:
            out[rows[0]] = True
    return out


def _acked_unseen(result: AnalysisResult) -> np.ndarray:
    fd = result.findings
    frames: set[int] = set()
    if len(fd):
        for fr in fd.loc[fd["check"] == "segment_not_captured", "frames"]:
            frames.update(int(f) for f in fr)
    return np.isin(result.columns["frame"], np.array(sorted(frames), dtype=np.int64))


def synack_view(result: AnalysisResult) -> SynackView:
    """synack's verdicts for every row of ``result``'s packet table."""
    cols, fl = result.columns, result.flows
    ctx = build_context(cols, fl, result.connections)
    res = find_resends(cols, ctx, fl)
    n = len(fl.conn)
    kind = np.full(n, "", dtype=object)
    tx = result.retransmissions
    if len(tx):
        kind[tx["row"].to_numpy(np.int64)] = tx["kind"].to_numpy()
    flags = cols["flags"]
    mbe = ctx.max_end_before
    table = pd.DataFrame({
        "frame": cols["frame"], "conn_id": fl.conn,
        "retx_kind": kind,
        "duplicate": duplicate_mask(cols, fl) | (kind == "duplicate"),
        "retransmission": np.isin(kind, RETRANSMITTED_KINDS),
        "fast_retransmission": kind == "fast",
        "spurious_retransmission": kind == "spurious",
        "out_of_order": np.isin(np.arange(n), res.ooo_rows),
        "keep_alive": np.isin(np.arange(n), res.keepalive_rows),
        "zero_window_probe": ctx.zwp,
        "duplicate_ack": ctx.dup_count > 0,
        "gap_before": ctx.occ & (mbe != NONE) & (fl.rel_seq > mbe),
        "acked_unseen": _acked_unseen(result),
        "zero_window": (cols["window"] == 0) & ((flags & (SYN | FIN | RST)) == 0),
        "reused_ports": _reused(result),
    })
    return SynackView(result, table, ctx)
