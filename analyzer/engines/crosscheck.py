"""synack against Wireshark, packet by packet and connection by connection.

``crosscheck(path)`` runs tshark's two-pass TCP analysis (:mod:`.tshark_analysis`) and
synack's own, lines them up by frame number and by stream, and counts where they agree.
Each per-packet verdict pairs a ``tcp.analysis.*`` flag with synack's closest equivalent
(``VERDICTS``); flags synack has no equivalent for are listed with their counts
(``NO_EQUIVALENT``). Every disagreement is put in a class — which side said yes, and what the
other side made of the packet instead — with examples carrying synack's reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analyzer.engines.crosscheck_streams import compare_streams
from analyzer.engines.synack_view import SynackView, synack_view
from analyzer.engines.tshark_analysis import FLAGS, TsharkAnalysis, tshark_analysis
from analyzer.result import AnalysisResult

__all__ = ["NO_EQUIVALENT", "VERDICTS", "Crosscheck", "Verdict", "compare", "crosscheck"]

MAX_EXAMPLES = 3


@dataclass(frozen=True)
class Verdict:
    """A per-packet verdict both tools give: tshark's flag and synack's column."""

    name: str
    tshark: str     # tcp.analysis.<flag>
    synack: str     # column of SynackView.table
    source: str     # where synack's verdict comes from


VERDICTS = (
    Verdict("retransmission", "retransmission", "retransmission",
            "timing: kind rto/fast/tlp/spurious/reply (a duplicated capture is not a send)"),
    Verdict("fast retransmission", "fast_retransmission", "fast_retransmission",
            "timing: kind fast (dup ACKs, SACK, recovery)"),
    Verdict("spurious retransmission", "spurious_retransmission", "spurious_retransmission",
            "timing: kind spurious (ACK/SACK/D-SACK/timestamps)"),
    Verdict("out-of-order", "out_of_order", "out_of_order",
            "timing: fills a hole within the RTT"),
    Verdict("lost segment (previous not captured)", "lost_segment", "gap_before",
            "flows: starts above the highest byte sent before"),
    Verdict("ACKed unseen segment", "ack_lost_segment", "acked_unseen",
            "check segment_not_captured (frames it names)"),
    Verdict("duplicate ACK", "duplicate_ack", "duplicate_ack",
            "timing: RFC 5681 duplicate ACK count"),
    Verdict("zero window", "zero_window", "zero_window",
            "packet table: raw window 0, no SYN/FIN/RST (no finding of its own)"),
    Verdict("keep-alive", "keep_alive", "keep_alive",
            "timing: ≤ 1 byte at SND.NXT-1, all acknowledged"),
    Verdict("zero-window probe", "zero_window_probe", "zero_window_probe",
            "timing: 1 byte while the peer's window is 0"),
    Verdict("reused ports", "reused_ports", "reused_ports",
            "flows: first SYN of a new incarnation of a 4-tuple"),
)
NO_EQUIVALENT = {
    "keep_alive_ack": "synack does not label the ACK that answers a keep-alive",
    "zero_window_probe_ack": "synack does not label the ACK that answers a zero-window probe",
    "window_update": "synack has no window-update verdict (a pure ACK that only moves the "
                     "window is an ordinary ACK to it)",
    "window_full": "synack does not track bytes in flight against the peer's window",
}


@dataclass
class Crosscheck:
    """The comparison of one capture (``to_dict`` is the ``--json`` document)."""

    capture: str
    engine: str
    tshark_version: str
    frames: dict[str, int]
    verdicts: list[dict[str, Any]]
    streams: dict[str, Any]
    handshake_rtt: dict[str, int]
    completeness: dict[str, int]
    no_equivalent: list[dict[str, Any]]
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": 1, **asdict(self)}


def crosscheck(path: str, engine: str = "auto", verify_checksums: bool = True) -> Crosscheck:
    """Analyse ``path`` with tshark and with synack (``engine``) and compare."""
    from analyzer.api import analyze

    theirs = tshark_analysis(path)
    ours = analyze(path, engine=engine, verify_checksums=verify_checksums)
    return compare(path, theirs, ours)


def _tshark_label(row: pd.Series) -> str:
    on = [f for f in FLAGS if bool(row[f])]
    return ", ".join(on) if on else "no flag"


class _Aligned:
    """tshark's and synack's per-frame tables side by side (frames both have)."""

    def __init__(self, theirs: TsharkAnalysis, view: SynackView) -> None:
        t = theirs.frames
        ours = view.table["frame"].to_numpy()
        self.theirs = t
        self.view = view
        self.common = np.intersect1d(t["frame"].to_numpy(), ours)
        self.t_rows = np.searchsorted(t["frame"].to_numpy(), self.common)
        self.s_rows = np.searchsorted(ours, self.common)
        self.only_tshark = np.setdiff1d(t["frame"].to_numpy(), ours)
        self.only_synack = np.setdiff1d(ours, t["frame"].to_numpy())

    def example(self, i: int) -> dict[str, Any]:
        tr, sr = self.theirs.iloc[int(self.t_rows[i])], int(self.s_rows[i])
        return {"frame": int(self.common[i]), "stream": int(tr["stream"]),
                "conn_id": int(self.view.table["conn_id"].iloc[sr]),
                "tshark": _tshark_label(tr), "synack": self.view.reason(sr)}


def _verdict(al: _Aligned, v: Verdict, out: list[dict[str, Any]]) -> dict[str, Any]:
    t = al.theirs[v.tshark].to_numpy(bool)[al.t_rows]
    s = al.view.table[v.synack].to_numpy(bool)[al.s_rows]
    both, t_only, s_only = int((t & s).sum()), int((t & ~s).sum()), int((~t & s).sum())
    union = both + t_only + s_only
    copies = al.view.table["duplicate"].to_numpy(bool)[al.s_rows] & (t != s)
    for side, mask in (("tshark", t & ~s), ("synack", ~t & s)):
        _classes(al, v, side, np.flatnonzero(mask), out)
    return {"verdict": v.name, "tshark_flag": f"tcp.analysis.{v.tshark}", "synack": v.source,
            "tshark": int(t.sum()), "synack_count": int(s.sum()), "both": both,
            "tshark_only": t_only, "synack_only": s_only,
            "agreement": round(both / union, 4) if union else None,
            "disagreeing_copies": int(copies.sum())}


def _classes(al: _Aligned, v: Verdict, side: str, idx: np.ndarray,
             out: list[dict[str, Any]]) -> None:
    groups: dict[str, list[int]] = {}
    for i in idx.tolist():
        if side == "tshark":
            other = "synack: " + al.view.kind_of(int(al.s_rows[i]))
        else:
            other = "tshark: " + _tshark_label(al.theirs.iloc[int(al.t_rows[i])])
        groups.setdefault(other, []).append(i)
    for other, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        yes = "tshark yes, synack no" if side == "tshark" else "synack yes, tshark no"
        out.append({"check": v.name, "class": f"{yes} ({other})", "count": len(members),
                    "examples": [al.example(i) for i in members[:MAX_EXAMPLES]]})


def compare(path: str, theirs: TsharkAnalysis, ours: AnalysisResult) -> Crosscheck:
    """Compare tshark's analysis with synack's result of the same capture."""
    view = synack_view(ours)
    al = _Aligned(theirs, view)
    classes: list[dict[str, Any]] = []
    verdicts = [_verdict(al, v, classes) for v in VERDICTS]
    streams, rtt, complete = compare_streams(theirs, ours, view, classes)
    frames = {"tshark_tcp": len(theirs.frames), "synack_tcp": len(view.table),
              "both": int(al.common.size), "tshark_only": int(al.only_tshark.size),
              "synack_only": int(al.only_synack.size)}
    if al.only_tshark.size:
        classes.append({"check": "packets", "class": "TCP for tshark, not in synack's table",
                        "count": int(al.only_tshark.size),
                        "examples": [{"frame": int(f)} for f in al.only_tshark[:MAX_EXAMPLES]]})
    no_eq = [{"tshark_flag": f"tcp.analysis.{f}", "frames": int(theirs.frames[f].sum()),
              "why": why} for f, why in NO_EQUIVALENT.items()]
    stats = ours.stats
    return Crosscheck(capture=path, engine=str(getattr(stats, "engine", "native")),
                      tshark_version=theirs.version, frames=frames, verdicts=verdicts,
                      streams=streams, handshake_rtt=rtt, completeness=complete,
                      no_equivalent=no_eq, disagreements=classes,
                      warnings=list(ours.warnings) + theirs.warnings)
