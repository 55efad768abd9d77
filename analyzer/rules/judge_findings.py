"""Rules about findings: forbidden severities, forbidden ids, per-id count limits.

A finding id named in ``forbid_findings`` or ``[findings.ID]`` is judged by that rule
alone; ``allow_findings`` ids are never judged by ``forbid_severities``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from analyzer.rules.context import CaptureContext, plural
from analyzer.rules.model import Evidence, RuleOutcome, RuleSet
from analyzer.rules.select import finding_mask

__all__ = ["judge_findings", "outcome"]


def outcome(rs: RuleSet, ctx: CaptureContext, rule: str, key: str, passed: bool,
            expected: str, observed: str, evidence: list[Evidence] | None = None,
            evidence_total: int = 0, ignored: int = 0) -> RuleOutcome:
    """A RuleOutcome of rule set ``rs``; ``key`` is the rules-file key (for its line)."""
    where = f" ({rs.name})" if rs.name else ""
    return RuleOutcome(rule=rule, scope=rs.name, capture=ctx.capture, passed=passed,
                       expected=expected, observed=observed,
                       message=f"{observed}{where}; expected {expected}",
                       evidence=evidence or [], evidence_total=evidence_total,
                       ignored=ignored, line=rs.lines.get(key, rs.line))


def _by_check(fd: pd.DataFrame) -> str:
    counts = fd["check"].value_counts()
    return ", ".join(f"{n} {c}" for c, n in counts.items())


def judge_findings(rs: RuleSet, ctx: CaptureContext, conn_mask: np.ndarray) -> \
        Iterator[RuleOutcome]:
    fm = finding_mask(rs.selector, ctx.findings, conn_mask, ctx.capture)
    live = ctx.findings[fm & ~ctx.ignored]
    gone = ctx.findings[fm & ctx.ignored]
    limited = dict(rs.finding_limits)
    if rs.forbid_severities:
        exempt = set(rs.allow_findings) | set(rs.forbid_findings) | set(limited)
        yield _severities(rs, ctx, live, gone, rs.forbid_severities, exempt)
    for fid in rs.forbid_findings:
        yield _limit(rs, ctx, live, gone, fid, 0, f"forbid_findings.{fid}", "forbid_findings")
    for fid, most in rs.finding_limits:
        yield _limit(rs, ctx, live, gone, fid, most, f"findings.{fid}.max", "findings")


def _severities(rs: RuleSet, ctx: CaptureContext, live: pd.DataFrame, gone: pd.DataFrame,
                severities: tuple[str, ...], exempt: set[str]) -> RuleOutcome:
    def pick(fd: pd.DataFrame) -> pd.DataFrame:
        return fd[fd["severity"].astype(str).isin(severities).to_numpy()
                  & ~fd["check"].isin(exempt).to_numpy()]

    bad = pick(live)
    sev = " or ".join(severities)
    observed = f"{plural(len(bad), sev + ' finding')}" + (f": {_by_check(bad)}" if len(bad)
                                                          else "")
    return outcome(rs, ctx, "forbid_severities", "forbid_severities", len(bad) == 0,
                   f"no {sev} findings", observed, evidence=ctx.finding_evidence(bad),
                   evidence_total=len(bad), ignored=len(pick(gone)))


def _limit(rs: RuleSet, ctx: CaptureContext, live: pd.DataFrame, gone: pd.DataFrame, fid: str,
           most: int, rule: str, key: str) -> RuleOutcome:
    hits = live[live["check"] == fid]
    expected = f"no {fid} findings" if most == 0 else f"at most {plural(most, fid + ' finding')}"
    return outcome(rs, ctx, rule, key, len(hits) <= most, expected,
                   plural(len(hits), fid + " finding"),
                   evidence=ctx.finding_evidence(hits) if len(hits) > most else [],
                   evidence_total=len(hits) if len(hits) > most else 0,
                   ignored=int((gone["check"] == fid).sum()))
