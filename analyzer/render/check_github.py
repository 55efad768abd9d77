"""``synack check --github``: GitHub Actions workflow commands, one ``::error`` per broken
rule (auto-enabled when ``GITHUB_ACTIONS=true``)."""

from __future__ import annotations

from collections.abc import Iterable

from analyzer.render.check_text import diagram_command
from analyzer.rules.model import CaptureReport, RuleOutcome

__all__ = ["escape_data", "escape_property", "github_annotations"]

MAX_CONNECTIONS = 5  # connections named in one annotation


def escape_data(s: str) -> str:
    """Escape a workflow command's message (GitHub's toolkit ``escapeData``)."""
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    """Escape a workflow command's property value (GitHub's toolkit ``escapeProperty``)."""
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def _annotation(o: RuleOutcome, rules_source: str) -> str:
    lines = [o.message]
    for ev in o.evidence[:MAX_CONNECTIONS]:
        if ev.conn_id < 0:
            lines.append(ev.message)
            continue
        frames = ", ".join(map(str, ev.frames))
        lines.append(f"conn {ev.conn_id} {ev.connection} (frames {frames}): {ev.message}; "
                     f"see: {diagram_command(o.capture, ev.conn_id)}")
    if o.evidence_total > MAX_CONNECTIONS:
        lines.append(f"… and {o.evidence_total - MAX_CONNECTIONS:,} more")
    rule_at = f" ({rules_source}:{o.line})" if rules_source and o.line else ""
    title = f"synack: {o.id}{rule_at}"
    return (f"::error file={escape_property(o.capture)},title={escape_property(title)}::"
            f"{escape_data(chr(10).join(lines))}")


def github_annotations(reports: Iterable[CaptureReport], rules_source: str = "") -> list[str]:
    """One ``::error`` line per broken rule of every capture."""
    return [_annotation(o, rules_source) for rep in reports for o in rep.broken]
