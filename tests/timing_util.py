"""Helpers of the timing tests: scripted connections with options, quick accessors."""

from __future__ import annotations

from typing import Any

import pandas as pd
from scripted import ADDRESSES, columns, merge

from analyzer.api import analyze_columns
from analyzer.result import AnalysisResult
from analyzer.timing import Timing

C, S = 1000, 5000  # client and server ISNs
SACK = {"opt_sack_perm": True}


def handshake(rtt: float = 0.02, sack: bool = False, t0: float = 0.0) -> list[tuple]:
    """SYN, SYN-ACK, ACK with the capture point halfway (each leg rtt/2)."""
    opt: dict[str, Any] = dict(SACK) if sack else {}
    return [("c", "S", C, 0, 0, t0, opt), ("s", "SA", S, C + 1, 0, t0 + rtt / 2, opt),
            ("c", "A", C + 1, S + 1, 0, t0 + rtt)]


def run(script: list[tuple], profile: str = "auto", **kw: Any) -> AnalysisResult:
    return analyze_columns(columns(script, **kw), ADDRESSES, profile=profile)


def run_many(scripts: list[tuple[list[tuple], dict[str, Any]]], profile: str = "auto",
             ) -> AnalysisResult:
    """Several connections in one capture (each script with its columns() keywords)."""
    return analyze_columns(merge([columns(s, **kw) for s, kw in scripts]), ADDRESSES,
                           profile=profile)


def timing(result: AnalysisResult) -> Timing:
    assert result.timing is not None
    return result.timing


def tx(result: AnalysisResult) -> pd.DataFrame:
    return timing(result).retransmissions


def kind_of(result: AnalysisResult, frame: int) -> str:
    t = tx(result)
    row = t[t["frame"] == frame]
    assert len(row) == 1, f"frame {frame} is not a retransmission:\n{t}"
    return str(row["kind"].iloc[0])


def found(result: AnalysisResult, check: str) -> pd.DataFrame:
    fd = result.findings
    return fd[fd["check"] == check]
