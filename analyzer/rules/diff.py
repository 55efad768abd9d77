"""``synack diff``: two captures of the same test compared, regressions beyond thresholds.

Compared: connections by summary word, findings by id, handshake RTT percentiles (p50,
p95, max) and the retransmission rate. Thresholds (TOML, validated like rules files)::

    connections_change_pct = 50      # total connection count may change by ±50 %
    state_increase = { HALF-OPEN = 0, RESET = 0, REFUSED = 0 }  # more of these: regression
    finding_increase = 0             # more findings of one id (of finding_severities)
    finding_severities = ["error", "warning"]
    rtt_increase_pct = 50            # RTT percentile up by more than 50 % ...
    rtt_min_increase_ms = 1.0        # ... and by more than 1 ms
    retransmission_rate_increase = 0.01   # rate up by more than 1 percentage point
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analyzer.checks.model import SEVERITIES
from analyzer.errors import RulesError
from analyzer.rules.load import parse_toml
from analyzer.rules.values import (
    Check,
    Problems,
    dotted,
    name_list,
    nonneg_int,
    number,
    rate,
    unknown_key,
)
from analyzer.tcpstate.summary import SUMMARY_STATES

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["DiffReport", "Metric", "Thresholds", "diff_results", "load_thresholds",
           "parse_thresholds"]

RTT_KEYS = ("p50", "p95", "max")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How much worse AFTER may be than BEFORE before it is a regression."""

    connections_change_pct: float | None = None
    state_increase: tuple[tuple[str, int], ...] = (("HALF-OPEN", 0), ("RESET", 0),
                                                   ("REFUSED", 0))
    finding_increase: int = 0
    finding_severities: tuple[str, ...] = ("error", "warning")
    rtt_increase_pct: float = 50.0
    rtt_min_increase_ms: float = 1.0
    retransmission_rate_increase: float = 0.01


@dataclass(slots=True)
class Metric:
    """One compared quantity; ``regression`` says why it is one ("" when it is not)."""

    group: str  # connections | state | finding | rtt | retransmissions
    name: str
    before: float
    after: float
    regression: str = ""

    @property
    def delta(self) -> float:
        return self.after - self.before

    @property
    def label(self) -> str:
        """``state HALF-OPEN``, ``finding syn_no_reply``, ``handshake_rtt_ms.p95``."""
        return f"{self.group} {self.name}" if self.group in ("state", "finding") else self.name


@dataclass(slots=True)
class DiffReport:
    before: str
    after: str
    metrics: list[Metric] = field(default_factory=list)

    @property
    def regressions(self) -> list[Metric]:
        return [m for m in self.metrics if m.regression]


def _state_table(v: Any, path: tuple[str | int, ...], probs: Problems) -> \
        tuple[tuple[str, int], ...] | None:
    if not isinstance(v, dict):
        probs.add(path, f"{dotted(path)} must be a table such as {{ HALF-OPEN = 0, RESET = 0 }}")
        return None
    out = []
    for state, n in v.items():
        ok = name_list(SUMMARY_STATES, "summary state")(state, (*path, state), probs)
        got = nonneg_int(n, (*path, state), probs)
        if ok is not None and got is not None:
            out.append((state, got))
    return tuple(out) if len(out) == len(v) else None


_KEYS: dict[str, Check] = {
    "connections_change_pct": number, "state_increase": _state_table,
    "finding_increase": nonneg_int, "finding_severities": name_list(SEVERITIES, "severity"),
    "rtt_increase_pct": number, "rtt_min_increase_ms": number,
    "retransmission_rate_increase": rate,
}


def parse_thresholds(text: str, source: str = "<thresholds>",
                     base: Thresholds | None = None) -> Thresholds:
    """Validate a thresholds document (over ``base``, default :class:`Thresholds`)."""
    doc, probs = parse_toml(text, source)
    values: dict[str, Any] = {}
    for key, v in doc.items():
        if key not in _KEYS:
            unknown_key((key,), probs, _KEYS, "the thresholds")
            continue
        got = _KEYS[key](v, (key,), probs)
        if got is not None:
            values[key] = got
    if probs.items:
        raise RulesError(source, sorted(probs.items))
    return replace(base or Thresholds(), **values)


def load_thresholds(path: str | Path, base: Thresholds | None = None) -> Thresholds:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(str(path), [(0, f"cannot read thresholds file: "
                                         f"{exc.strerror or exc}")]) from None
    return parse_thresholds(text, str(path), base)


def _rtts(r: AnalysisResult) -> np.ndarray:
    v = r.core_connections["handshake_rtt_ms"].to_numpy(np.float64)
    return v[~np.isnan(v)]


def _rtt(values: np.ndarray, key: str) -> float:
    if len(values) == 0:
        return float("nan")
    return float(values.max() if key == "max" else np.percentile(values, float(key[1:])))


def _retx_rate(r: AnalysisResult) -> float:
    c = r.connections
    segs = int((c["pkts_c2s"] + c["pkts_s2c"]).sum())
    return int(c["retransmissions"].sum()) / segs if segs else 0.0


def diff_results(before: AnalysisResult, after: AnalysisResult, t: Thresholds | None = None,
                 names: tuple[str, str] = ("", "")) -> DiffReport:
    """Compare two analyses; every metric with its regression verdict."""
    t = t or Thresholds()
    rep = DiffReport(names[0] or before.source, names[1] or after.source)
    rep.metrics.append(_count_metric(before, after, t))
    rep.metrics += _state_metrics(before, after, t)
    rep.metrics += _finding_metrics(before, after, t)
    rb, ra = _rtts(before), _rtts(after)
    for key in RTT_KEYS:
        m = Metric("rtt", f"handshake_rtt_ms.{key}", _rtt(rb, key), _rtt(ra, key))
        grew = m.after - m.before
        if grew > t.rtt_min_increase_ms and grew > m.before * t.rtt_increase_pct / 100:
            m.regression = f"up {grew:.3f} ms (> {t.rtt_increase_pct:g} % and > " \
                           f"{t.rtt_min_increase_ms:g} ms)"
        rep.metrics.append(m)
    m = Metric("retransmissions", "retransmission_rate", _retx_rate(before), _retx_rate(after))
    if m.delta > t.retransmission_rate_increase:
        m.regression = f"up {m.delta:.2%} (> {t.retransmission_rate_increase:.2%})"
    rep.metrics.append(m)
    return rep


def _count_metric(before: AnalysisResult, after: AnalysisResult, t: Thresholds) -> Metric:
    m = Metric("connections", "connections", len(before.core_connections),
               len(after.core_connections))
    pct = t.connections_change_pct
    if pct is not None and abs(m.delta) > m.before * pct / 100:
        m.regression = f"changed by {m.delta:+g} (more than ±{pct:g} %)"
    return m


def _state_metrics(before: AnalysisResult, after: AnalysisResult, t: Thresholds) -> \
        list[Metric]:
    vb = before.core_connections["summary"].astype(str).value_counts()
    va = after.core_connections["summary"].astype(str).value_counts()
    limits = dict(t.state_increase)
    out = []
    for state in SUMMARY_STATES:
        m = Metric("state", state, int(vb.get(state, 0)), int(va.get(state, 0)))
        if m.before == m.after == 0:
            continue
        if state in limits and m.delta > limits[state]:
            m.regression = f"{m.delta:+g} {state} connections (more than {limits[state]})"
        out.append(m)
    return out


def _finding_metrics(before: AnalysisResult, after: AnalysisResult, t: Thresholds) -> \
        list[Metric]:
    fb, fa = before.findings, after.findings
    cb, ca = fb["check"].value_counts(), fa["check"].value_counts()
    sev = {str(c): str(s) for c, s in zip(fa["check"], fa["severity"], strict=True)}
    sev.update({str(c): str(s) for c, s in zip(fb["check"], fb["severity"], strict=True)
                if c not in sev})
    out = []
    for check in sorted(set(cb.index) | set(ca.index)):
        m = Metric("finding", str(check), int(cb.get(check, 0)), int(ca.get(check, 0)))
        if sev.get(str(check)) in t.finding_severities and m.delta > t.finding_increase:
            m.regression = f"{m.delta:+g} {sev[str(check)]} findings (more than " \
                           f"{t.finding_increase})"
        out.append(m)
    return out
