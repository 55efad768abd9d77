"""The connection-level half of the cross-check: streams, handshake RTT, completeness.

Each tshark stream is matched to synack's connection holding the stream's first frame (as
tests/test_shared_captures.py does). A stream and a connection *agree* when they hold the
same frames; otherwise the stream is split over several connections, shares its connection
with other streams, or is (partly) missing from synack's packet table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analyzer.engines.synack_view import SynackView
from analyzer.engines.tshark_analysis import TsharkAnalysis
from analyzer.flows.table import handshake_times
from analyzer.result import AnalysisResult

__all__ = ["COMPLETENESS_BITS", "compare_streams", "completeness_text"]

COMPLETENESS_BITS = ((1, "SYN"), (2, "SYN-ACK"), (4, "ACK"), (8, "DATA"), (16, "FIN"),
                     (32, "RST"))
RTT_TOLERANCE_S = 1e-6
MAX_EXAMPLES = 3


def completeness_text(bits: int) -> str:
    return "+".join(name for b, name in COMPLETENESS_BITS if bits & b) or "none"


def _synack_completeness(ours: AnalysisResult) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per connection: the completeness bits as synack sees them, and the handshake rows."""
    c = ours.connections
    hs = handshake_times(ours.columns, ours.flows)
    bits = (np.where(c["syn_count"] > 0, 1, 0) | np.where(c["synack_count"] > 0, 2, 0)
            | np.where(hs["ack"] >= 0, 4, 0)
            | np.where(c["bytes_c2s"] + c["bytes_s2c"] > 0, 8, 0)
            | np.where(c["fin_c2s"] + c["fin_s2c"] > 0, 16, 0)
            | np.where(c["rst_c2s"] + c["rst_s2c"] > 0, 32, 0))
    return np.asarray(bits, dtype=np.int64), hs


class _Streams:
    def __init__(self, theirs: TsharkAnalysis, ours: AnalysisResult) -> None:
        frames = ours.columns["frame"]
        self.conn_of = dict(zip(frames.tolist(), ours.flows.conn.tolist(), strict=True))
        self.conn_size = np.bincount(ours.flows.conn, minlength=ours.flows.n_conn)
        t = theirs.frames[theirs.frames["stream"] >= 0]
        self.members = t.groupby("stream", sort=True)["frame"].apply(list)
        summary = theirs.streams
        ids = [int(i) for i in summary.index]
        self.irtt = dict(zip(ids, summary["initial_rtt"].astype(float).tolist(), strict=True))
        self.complete = dict(zip(ids, summary["completeness"].astype(int).tolist(),
                                 strict=True))

    def status(self, stream: int) -> tuple[str, list[int]]:
        frames = self.members[stream]
        conns = [self.conn_of.get(f, -1) for f in frames]
        found = sorted({c for c in conns if c >= 0})
        if not found:
            return "not_decoded", found
        if len(found) > 1:
            return "split", found
        if -1 in conns:
            return "partial", found
        if self.conn_size[found[0]] > len(frames):
            return "merged", found
        return "same", found


def _conn_text(ours: AnalysisResult, cid: int) -> str:
    c = ours.connections.iloc[cid]
    isn = c["client_isn"]
    isn_text = f", client ISN {isn}" if pd.notna(isn) else ""
    return f"connection {cid}: frames {c['first_frame']}–{c['last_frame']}, " \
           f"{c['pkts_c2s'] + c['pkts_s2c']} packets{isn_text} ({c['summary']}, {c['history']})"


def _stream_examples(st: _Streams, ours: AnalysisResult, status: str,
                     streams: list[tuple[int, list[int]]]) -> list[dict[str, Any]]:
    out = []
    for sid, conns in streams[:MAX_EXAMPLES]:
        fr = st.members[sid]
        tshark = f"stream {sid}: {len(fr)} frames, {fr[0]}–{fr[-1]}"
        if status == "merged":
            others = sorted({int(s) for s, m in st.members.items() if  # type: ignore[call-overload]
                             any(st.conn_of.get(f, -1) == conns[0] for f in m)} - {sid})
            tshark += f" (the same connection holds streams {others})"
        out.append({"stream": int(sid), "frame": int(fr[0]), "tshark": tshark,
                    "synack": "; ".join(_conn_text(ours, c) for c in conns) or
                    "not in synack's packet table"})
    return out


STATUS_TEXT = {
    "split": "one tshark stream is several synack connections",
    "merged": "one synack connection holds several tshark streams",
    "partial": "some frames of the stream are not in synack's packet table",
    "not_decoded": "the stream is not in synack's packet table",
}


def compare_streams(theirs: TsharkAnalysis, ours: AnalysisResult, view: SynackView,
                    classes: list[dict[str, Any]],
                    ) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    """Stream ↔ connection agreement, handshake RTT and completeness per matched stream."""
    st = _Streams(theirs, ours)
    by: dict[str, list[tuple[int, list[int]]]] = {k: [] for k in ("same", *STATUS_TEXT)}
    for sid in st.members.index.tolist():
        status, conns = st.status(sid)
        by[status].append((sid, conns))
    for status, text in STATUS_TEXT.items():
        if by[status]:
            classes.append({"check": "connections", "class": text, "count": len(by[status]),
                            "examples": _stream_examples(st, ours, status, by[status])})
    streams = {"tshark_streams": len(st.members), "synack_connections": ours.flows.n_conn,
               **{k: len(v) for k, v in by.items()}}
    matched = [(sid, conns[0]) for sid, conns in by["same"]]
    rtt = _rtt(st, ours, matched, classes)
    complete = _completeness(st, ours, matched, classes)
    return streams, rtt, complete


def _hs_text(ours: AnalysisResult, hs: dict[str, np.ndarray], cid: int) -> str:
    fr = ours.columns["frame"]
    parts = [f"{name} frame {fr[hs[key][cid]]}" for key, name in
             (("syn", "SYN"), ("synack", "SYN-ACK"), ("ack", "ACK")) if hs[key][cid] >= 0]
    return " → ".join(parts) or "no handshake seen"


def _rtt(st: _Streams, ours: AnalysisResult, matched: list[tuple[int, int]],
         classes: list[dict[str, Any]]) -> dict[str, int]:
    hs = handshake_times(ours.columns, ours.flows)
    mine = ours.connections["handshake_rtt_ms"].to_numpy(np.float64) / 1e3
    groups: dict[str, list[dict[str, Any]]] = {}
    compared = agree = 0
    for sid, cid in matched:
        t, s = st.irtt[sid], float(mine[cid])
        if np.isnan(t) and np.isnan(s):
            continue
        compared += 1
        if abs(t - s) <= RTT_TOLERANCE_S:
            agree += 1
            continue
        cls = "tshark has an initial RTT, synack none" if np.isnan(s) else \
            "synack has a handshake RTT, tshark none" if np.isnan(t) else "values differ"
        groups.setdefault(cls, []).append({
            "stream": int(sid), "conn_id": int(cid), "frame": int(st.members[sid][0]),
            "tshark": "no iRTT" if np.isnan(t) else f"iRTT {t * 1e3:.3f} ms",
            "synack": ("no handshake RTT" if np.isnan(s) else f"{s * 1e3:.3f} ms") + ": " +
            _hs_text(ours, hs, cid)})
    for cls, ex in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        classes.append({"check": "handshake RTT", "class": cls, "count": len(ex),
                        "examples": ex[:MAX_EXAMPLES]})
    return {"compared": compared, "agree": agree, "differ": compared - agree}


def _completeness(st: _Streams, ours: AnalysisResult, matched: list[tuple[int, int]],
                  classes: list[dict[str, Any]]) -> dict[str, int]:
    bits, hs = _synack_completeness(ours)
    groups: dict[str, list[dict[str, Any]]] = {}
    agree = 0
    for sid, cid in matched:
        t, s = st.complete[sid], int(bits[cid])
        if t == s:
            agree += 1
            continue
        diff = [f"{name}: {'tshark' if t & b else 'synack'} only"
                for b, name in COMPLETENESS_BITS if (t ^ s) & b]
        groups.setdefault(", ".join(diff), []).append({
            "stream": int(sid), "conn_id": int(cid), "frame": int(st.members[sid][0]),
            "tshark": completeness_text(t),
            "synack": f"{completeness_text(s)} ({_hs_text(ours, hs, cid)})"})
    for cls, ex in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        classes.append({"check": "completeness", "class": cls, "count": len(ex),
                        "examples": ex[:MAX_EXAMPLES]})
    return {"compared": len(matched), "agree": agree, "differ": len(matched) - agree}
