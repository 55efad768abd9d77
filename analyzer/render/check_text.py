"""The terminal verdict of ``synack check``: each broken rule with the connections and
packets that broke it and the command that draws each connection; one line per capture
for the rules that hold."""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from analyzer.rules.context import plural
from analyzer.rules.model import CaptureReport, Evidence, RuleOutcome

__all__ = ["diagram_command", "evidence_lines", "outcome_lines", "verdict_lines"]


def diagram_command(capture: str, conn_id: int) -> str:
    """The one-line command that draws one connection's ladder diagram."""
    return f"synack diagram {shlex.quote(capture)} --conn {conn_id}"


def _frames(frames: list[int]) -> str:
    return ", ".join(map(str, frames)) if frames else "-"


def evidence_lines(ev: Evidence, capture: str, indent: str = "      ") -> list[str]:
    if ev.conn_id < 0:
        return [f"{indent}{ev.message}" + (f" (frames {_frames(ev.frames)})" if ev.frames
                                           else "")]
    head = f"{indent}conn {ev.conn_id}  {ev.connection}  frames {_frames(ev.frames)}"
    return [head, f"{indent}  {ev.message}", f"{indent}  → {diagram_command(capture, ev.conn_id)}"]


def outcome_lines(o: RuleOutcome, rules_source: str | None = "",
                  max_evidence: int | None = 5) -> list[str]:
    """A broken (or holding) rule, then up to ``max_evidence`` pieces of evidence.

    The rule is followed by where it is written (``rules.toml:12``, or ``default``), unless
    ``rules_source`` is None.
    """
    where = "" if rules_source is None else (
        f" ({rules_source}:{o.line})" if rules_source and o.line else
        (" (default)" if not o.line else ""))
    mark = "ok  " if o.passed else "FAIL"
    lines = [f"  {mark} {o.id}{where}: {o.message}"]
    shown = o.evidence if max_evidence is None else o.evidence[:max_evidence]
    for ev in shown:
        lines += evidence_lines(ev, o.capture)
    more = o.evidence_total - len(shown)
    if more > 0:
        lines.append(f"      … and {more:,} more (--max-evidence, or --json for the list)")
    if o.ignored:
        lines.append(f"      ({o.ignored:,} exempted by [[ignore]] entries)")
    return lines


def _capture_lines(rep: CaptureReport, rules_source: str, max_evidence: int | None,
                   verbose: bool) -> list[str]:
    f = rep.findings
    lines = [f"{rep.capture}: {plural(rep.connections, 'connection')}, "
             f"{plural(rep.segments, 'segment')}, findings: {f['error']} error, "
             f"{f['warning']} warning, {f['info']} info"]
    for w in rep.warnings:
        lines.append(f"  warning: {w}")
    for o in rep.outcomes:
        if not o.passed or verbose:
            lines += outcome_lines(o, rules_source, max_evidence if not o.passed else 0)
    held = [o.id for o in rep.outcomes if o.passed]
    if held and not verbose:
        lines.append(f"  ok   {len(held)} of {len(rep.outcomes)} rules hold: {', '.join(held)}")
    for use in rep.ignores:
        if use.matched:
            lines.append(f"  ignored {use.matched:,} × {use.ignore.describe()} "
                         f"(line {use.ignore.line}): {use.ignore.reason}")
    return lines


def verdict_lines(reports: Iterable[CaptureReport], rules_source: str = "",
                  max_evidence: int | None = 5, verbose: bool = False) -> list[str]:
    """The whole verdict, ending with one summary line."""
    reports = list(reports)
    lines: list[str] = []
    for rep in reports:
        lines += _capture_lines(rep, rules_source, max_evidence, verbose)
    broken = sum(len(r.broken) for r in reports)
    total = sum(len(r.outcomes) for r in reports)
    failed = sum(not r.passed for r in reports)
    caps = plural(len(reports), "capture")
    if broken:
        lines.append(f"synack check: FAILED: {broken} of {total} rules broken in {failed} of "
                     f"{caps}")
    else:
        lines.append(f"synack check: passed: all {total} rules hold in {caps}")
    return lines
