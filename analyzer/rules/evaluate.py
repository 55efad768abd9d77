"""Judging a capture: every rule of every rule set → :class:`RuleOutcome` with evidence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.rules.context import CaptureContext
from analyzer.rules.judge_connections import CONNECTION_JUDGES
from analyzer.rules.judge_findings import judge_findings
from analyzer.rules.model import CaptureReport, RuleOutcome, Rules
from analyzer.rules.select import connection_mask

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["evaluate", "evaluate_capture"]


def evaluate(rules: Rules, result: AnalysisResult, capture: str | None = None) -> \
        list[RuleOutcome]:
    """Every rule of ``rules`` judged on ``result``: one outcome per rule per rule set.

    ``capture`` names the capture in the outcomes and for ``capture = "glob"`` selectors
    (default: ``result.source``).
    """
    return evaluate_capture(rules, result, capture).outcomes


def evaluate_capture(rules: Rules, result: AnalysisResult, capture: str | None = None) -> \
        CaptureReport:
    """:func:`evaluate` plus what each ``[[ignore]]`` matched and the capture's counts."""
    ctx = CaptureContext(result, capture if capture is not None else result.source)
    uses = ctx.apply_ignores(rules)
    outcomes: list[RuleOutcome] = []
    for rs in rules.rule_sets:
        mask = connection_mask(rs.selector, ctx.conns, ctx.capture)
        outcomes.extend(judge_findings(rs, ctx, mask))
        for rule, judge in CONNECTION_JUDGES.items():
            exempt = ctx.exempted(rule)
            outcomes.extend(judge(rs, ctx, mask & ~exempt, int((mask & exempt).sum())))
    severity = ctx.findings["severity"].astype(str).value_counts()
    return CaptureReport(
        capture=ctx.capture, outcomes=outcomes, ignores=uses, connections=len(ctx.conns),
        segments=len(result.columns["frame"]),
        findings={s: int(severity.get(s, 0)) for s in ("error", "warning", "info")},
        warnings=list(result.warnings))
