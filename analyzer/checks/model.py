"""The findings model: one catalogue of checks, one table of findings.

A *check* is catalogue data (:class:`CheckSpec`: id, severity, RFC, explanations in
English and Chinese, the equivalent Zeek weird / Suricata event) plus a function that
finds its instances. A *finding* is one instance: which connection, which packets,
expected vs observed (raw and relative), and a one-line message in both languages.

Checks from every stage (protocol, timing, reassembly) register into the same
``REGISTRY`` with :func:`register`, so ``synack checks``, docs/checks.md and
``result.findings`` all come from one source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import pandas as pd

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = [
    "FINDING_COLUMNS", "REGISTRY", "SEVERITIES", "CheckSpec", "Finding", "findings_frame",
    "register",
]

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

FINDING_COLUMNS = ("check", "severity", "conn_id", "frame", "frames", "expected", "observed",
                   "expected_rel", "observed_rel", "rfc", "message", "message_zh")


@dataclass(frozen=True, slots=True)
class Finding:
    """One instance of a check. ``frame`` is the main packet, ``frames`` all involved.

    ``severity`` may differ from the check's default (e.g. ``syn_with_data`` is info with a
    TFO cookie and a warning without). Values are strings so that any kind of value
    (numbers, states, durations) fits; relative values are "" when not meaningful.
    """

    check: str
    conn_id: int
    frame: int
    frames: tuple[int, ...]
    expected: str
    observed: str
    message: str
    message_zh: str
    expected_rel: str = ""
    observed_rel: str = ""
    severity: Severity | None = None


CheckFn = Callable[["AnalysisResult"], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """Catalogue entry of one check."""

    id: str
    severity: Severity
    category: str  # handshake | teardown | half_open | timing | capture | reassembly | state
    title: str
    title_zh: str
    rfc: str  # e.g. "RFC 9293 §3.10.7.3"
    explanation: str  # a paragraph a student can follow
    explanation_zh: str
    zeek: str = ""  # equivalent Zeek weird / notice name, if any
    suricata: str = ""  # equivalent Suricata stream event, if any
    fn: CheckFn | None = field(default=None, compare=False, repr=False)


REGISTRY: dict[str, CheckSpec] = {}


def register(spec: CheckSpec) -> Callable[[CheckFn], CheckFn]:
    """Decorator: put ``spec`` with its finder function into the catalogue."""

    def wrap(fn: CheckFn) -> CheckFn:
        if spec.id in REGISTRY:
            raise ValueError(f"check {spec.id} registered twice")
        REGISTRY[spec.id] = replace(spec, fn=fn)
        return fn

    return wrap



def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings → DataFrame with FINDING_COLUMNS, sorted by connection and frame."""
    rows = []
    for f in findings:
        spec = REGISTRY[f.check]
        rows.append((f.check, f.severity or spec.severity, f.conn_id, f.frame, list(f.frames),
                     f.expected, f.observed, f.expected_rel, f.observed_rel, spec.rfc,
                     f.message, f.message_zh))
    df = pd.DataFrame(rows, columns=list(FINDING_COLUMNS))
    df["severity"] = pd.Categorical(df["severity"], categories=list(SEVERITIES))
    return df.sort_values(["conn_id", "frame", "check"], kind="stable").reset_index(drop=True)
