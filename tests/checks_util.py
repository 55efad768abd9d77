"""Shared helpers of the checks tests: run a script, pick findings."""

from __future__ import annotations

import pandas as pd
from scripted import ADDRESSES, columns

from analyzer.api import analyze_columns
from analyzer.result import AnalysisResult

C, S = 1000, 5000  # client and server ISNs
HANDSHAKE = [("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 1, 0)]
#: a textbook close after the handshake (client closes first)
CLOSE = [("c", "FA", C + 1, S + 1, 0), ("s", "A", S + 1, C + 2, 0),
         ("s", "FA", S + 1, C + 2, 0), ("c", "A", C + 2, S + 2, 0)]


def run(script: list[tuple], **kw: object) -> AnalysisResult:
    return analyze_columns(columns(script, **kw), ADDRESSES)  # type: ignore[arg-type]


def found(result: AnalysisResult, check: str) -> pd.DataFrame:
    fd = result.findings
    return fd[fd["check"] == check]


def checks(result: AnalysisResult) -> set[str]:
    return set(result.findings["check"])


def problems(result: AnalysisResult) -> set[str]:
    """Checks reported as warnings or errors."""
    fd = result.findings
    return set(fd[fd["severity"].astype(str).isin(["warning", "error"])]["check"])
