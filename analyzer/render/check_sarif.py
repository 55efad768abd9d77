"""``synack check --sarif``: SARIF 2.1.0 for code-scanning dashboards.

One result per piece of evidence of a broken rule (per broken rule when it has none): the
capture file is the location, the connection a logical location, the frames and the diagram
command are properties, and the rule's line in the rules file is a related location.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from analyzer.render.check_text import diagram_command
from analyzer.rules.model import CaptureReport, Evidence, RuleOutcome

__all__ = ["SARIF_SCHEMA_URI", "sarif_document"]

SARIF_SCHEMA_URI = \
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def _uri(path: str) -> str:
    return quote(path.replace("\\", "/"), safe="/:._-~")


def _result(o: RuleOutcome, ev: Evidence | None, rules_source: str) -> dict[str, Any]:
    text = o.message if ev is None else f"{o.message}. {ev.connection}: {ev.message}"
    res: dict[str, Any] = {
        "ruleId": o.rule, "level": "error", "message": {"text": text},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(o.capture)}}}],
        "partialFingerprints": {
            "synackEvidence/v1": f"{o.id}|{ev.connection if ev else ''}|{ev.check if ev else ''}"},
        "properties": {"scope": o.scope, "expected": o.expected, "observed": o.observed},
    }
    if ev is not None and ev.conn_id >= 0:
        res["locations"][0]["logicalLocations"] = [{
            "name": f"connection {ev.conn_id}", "kind": "object",
            "fullyQualifiedName": f"{o.capture}#conn{ev.conn_id}"}]
        res["properties"].update(conn_id=ev.conn_id, connection=ev.connection,
                                 frames=ev.frames, check=ev.check,
                                 diagram=diagram_command(o.capture, ev.conn_id))
    if rules_source and o.line:
        res["relatedLocations"] = [{
            "id": 1, "message": {"text": f"the rule {o.id}"},
            "physicalLocation": {"artifactLocation": {"uri": _uri(rules_source)},
                                 "region": {"startLine": o.line}}}]
    return res


def _rule(o: RuleOutcome) -> dict[str, Any]:
    return {"id": o.rule, "name": o.rule.replace(".", "_"),
            "shortDescription": {"text": f"expected {o.expected}"},
            "help": {"text": "synack rules language: docs/ci.md"},
            "defaultConfiguration": {"level": "error"}}


def sarif_document(reports: Iterable[CaptureReport], rules_source: str = "") -> dict[str, Any]:
    """The SARIF 2.1.0 log of one ``synack check`` run."""
    from analyzer import __version__

    reports = list(reports)
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for rep in reports:
        for o in rep.outcomes:
            rules.setdefault(o.rule, _rule(o))
            if o.passed:
                continue
            evidence: list[Evidence | None] = list(o.evidence) or [None]
            results += [_result(o, ev, rules_source) for ev in evidence]
    broken = any(not r.passed for r in reports)
    artifacts = [{"location": {"uri": _uri(r.capture)}, "roles": ["analysisTarget"]}
                 for r in reports]
    return {
        "$schema": SARIF_SCHEMA_URI, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "synack", "version": __version__,
                                "rules": list(rules.values())}},
            "artifacts": artifacts,
            "invocations": [{"executionSuccessful": True, "exitCode": 1 if broken else 0}],
            "results": results,
        }],
    }
