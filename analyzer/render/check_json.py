"""``synack check --json``: the verdict as a versioned JSON document.

The document follows analyzer/rules/schema/check-result-v1.json (``schema_version`` 1);
fields are only ever added within a version, never renamed or removed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

from analyzer.render.check_text import diagram_command
from analyzer.rules.model import CaptureReport, Evidence, IgnoreUse, RuleOutcome

__all__ = ["SCHEMA_VERSION", "check_document", "check_schema"]

SCHEMA_VERSION = 1


def check_schema() -> dict[str, Any]:
    """The JSON Schema of the document (shipped in the package)."""
    text = resources.files("analyzer.rules").joinpath(
        f"schema/check-result-v{SCHEMA_VERSION}.json").read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def _evidence(ev: Evidence, capture: str) -> dict[str, Any]:
    return {"conn_id": ev.conn_id, "connection": ev.connection, "frames": ev.frames,
            "check": ev.check, "message": ev.message,
            "diagram": diagram_command(capture, ev.conn_id) if ev.conn_id >= 0 else ""}


def _outcome(o: RuleOutcome) -> dict[str, Any]:
    return {"id": o.id, "rule": o.rule, "scope": o.scope, "passed": o.passed,
            "expected": o.expected, "observed": o.observed, "message": o.message,
            "line": o.line, "evidence_total": o.evidence_total, "ignored": o.ignored,
            "evidence": [_evidence(e, o.capture) for e in o.evidence]}


def _ignore(use: IgnoreUse) -> dict[str, Any]:
    ig = use.ignore
    return {"line": ig.line, "findings": list(ig.findings), "rules": list(ig.rules),
            "selector": ig.selector.describe(), "reason": ig.reason, "matched": use.matched}


def _capture(rep: CaptureReport) -> dict[str, Any]:
    return {"path": rep.capture, "passed": rep.passed, "connections": rep.connections,
            "segments": rep.segments, "findings": rep.findings, "warnings": rep.warnings,
            "rules": [_outcome(o) for o in rep.outcomes],
            "ignored": [_ignore(u) for u in rep.ignores]}


def check_document(reports: Iterable[CaptureReport], rules_source: str = "") -> dict[str, Any]:
    """The ``--json`` document of one ``synack check`` run."""
    from analyzer import __version__

    reports = list(reports)
    broken = sum(len(r.broken) for r in reports)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "synack", "version": __version__},
        "rules_file": rules_source,
        "passed": broken == 0,
        "exit_code": 0 if broken == 0 else 1,
        "summary": {"captures": len(reports),
                    "failed_captures": sum(not r.passed for r in reports),
                    "rules": sum(len(r.outcomes) for r in reports), "broken": broken},
        "captures": [_capture(r) for r in reports],
    }
