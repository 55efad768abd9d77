"""Wireshark's own TCP analysis of a capture: per TCP frame, its stream and expert flags.

tshark runs two-pass (``-2``, so that flags may depend on later frames as in the GUI) with
the analysis preferences pinned exactly as ../shared/captures/make_truth.py pins them (they
are also the 4.0 defaults), so that a user profile cannot change the answers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.engines.layers import layout
from analyzer.engines.tshark_run import (
    TsharkRun,
    field_run,
    tshark_command,
    tshark_path,
    tshark_version,
)
from analyzer.errors import InputError

__all__ = ["ANALYSIS_PREFS", "FLAGS", "TsharkAnalysis", "tshark_analysis"]

ANALYSIS_PREFS = (
    "tcp.analyze_sequence_numbers:TRUE",
    "tcp.calculate_timestamps:TRUE",
    "tcp.relative_sequence_numbers:TRUE",
    "tcp.track_bytes_in_flight:TRUE",
    "tcp.desegment_tcp_streams:TRUE",
    "tcp.check_checksum:FALSE",
)
FLAGS = (
    "retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
    "lost_segment", "ack_lost_segment", "duplicate_ack", "zero_window", "keep_alive",
    "reused_ports", "keep_alive_ack", "zero_window_probe", "zero_window_probe_ack",
    "window_update", "window_full",
)
FIELDS = {
    "frame": "frame.number", "protocols": "frame.protocols", "stream": "tcp.stream",
    "sport": "tcp.srcport", "dport": "tcp.dstport", "flags": "tcp.flags", "len": "tcp.len",
    "completeness": "tcp.completeness", "initial_rtt": "tcp.analysis.initial_rtt",
    **{f: f"tcp.analysis.{f}" for f in FLAGS},
}
PER_LAYER = ("stream", "sport", "dport", "flags", "len", "completeness")


class TsharkAnalysis:
    """tshark's verdicts: ``frames`` (one row per TCP frame) and ``streams`` (per stream)."""

    def __init__(self, frames: pd.DataFrame, version: str, warnings: list[str]) -> None:
        self.frames = frames
        self.version = version
        self.warnings = warnings

    @property
    def streams(self) -> pd.DataFrame:
        """Per tcp.stream: frames, first frame, SYN/FIN/RST counts, completeness, iRTT."""
        f = self.frames[self.frames["stream"] >= 0]
        flags = f["flags"]
        g = f.assign(syn=(flags & 0x12) == 0x02, fin=(flags & 0x01) != 0,
                     rst=(flags & 0x04) != 0).groupby("stream", sort=True)
        out = pd.DataFrame({
            "first_frame": g["frame"].min(), "pkts": g.size(), "syn": g["syn"].sum(),
            "fin": g["fin"].sum(), "rst": g["rst"].sum(),
            "completeness": g["completeness"].max(), "initial_rtt": g["initial_rtt"].max(),
        })
        return out


def _occurrence(text: str | None, k: int) -> str | None:
    if text is None or "," not in text:
        return text
    parts = text.split(",")
    return parts[min(k, len(parts) - 1)]


def _rows(batch: object) -> list[dict[str, object]]:
    data = batch.to_pydict()  # type: ignore[attr-defined]
    out = []
    for i, proto in enumerate(data["protocols"]):
        lay = layout(proto or "")
        if lay.kind != "tcp":
            continue
        row: dict[str, object] = {"frame": int(data["frame"][i])}
        for key in PER_LAYER:
            row[key] = _occurrence(data[key][i], lay.tcp_index)
        row["initial_rtt"] = _occurrence(data["initial_rtt"][i], 0)
        for flag in FLAGS:
            row[flag] = data[flag][i] is not None
        out.append(row)
    return out


def _number(col: pd.Series, base: int = 10, missing: int = -1) -> np.ndarray:
    return np.array([int(v, base) if isinstance(v, str) and v else missing for v in col],
                    dtype=np.int64)


def tshark_analysis(path: str) -> TsharkAnalysis:
    """Run tshark's two-pass TCP analysis on ``path`` (a file; stdin is not supported)."""
    exe = tshark_path()
    cmd = tshark_command(exe, path, list(FIELDS.values()), ANALYSIS_PREFS, ["-2", "-Y", "tcp"])
    run = TsharkRun()
    rows: list[dict[str, object]] = []
    for batch in field_run(cmd, list(FIELDS), run):
        rows += _rows(batch)
    cols = ["frame", *PER_LAYER, "initial_rtt", *FLAGS]
    df = pd.DataFrame(rows, columns=cols)
    if run.returncode and df.empty:
        raise InputError(f"{path}: tshark could not read the capture: "
                         f"{'; '.join(run.errors) or run.returncode}")
    for key in ("stream", "sport", "dport", "len", "completeness"):
        df[key] = _number(df[key])
    df["flags"] = _number(df["flags"], 16, 0)
    df["initial_rtt"] = pd.to_numeric(df["initial_rtt"], errors="coerce")
    df = df.sort_values("frame", kind="stable").reset_index(drop=True)
    warnings = [f"tshark: {e}" for e in run.errors] if run.returncode else []
    return TsharkAnalysis(df, tshark_version(exe), warnings)
