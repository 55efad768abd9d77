"""One detailed section per chosen connection: diagram, state timeline, findings, payload."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from analyzer.checks import REGISTRY
from analyzer.errors import SynackError
from analyzer.pdutil import records
from analyzer.render.ladder import build_ladder
from analyzer.render.ladder.mpl import figure
from analyzer.render.report.svg import inline_svg
from analyzer.result import AnalysisResult

__all__ = ["PREVIEW_BYTES", "Previews", "section"]

PREVIEW_BYTES = 512


def printable(data: bytes) -> str:
    """Bytes as text for a preview: printable ASCII kept, other bytes as "·"."""
    return "".join(chr(b) if 32 <= b < 127 or b in (9, 10) else "·" for b in data)


class Previews:
    """The first bytes each side sent, read from the capture (none when not re-readable)."""

    def __init__(self, result: AnalysisResult) -> None:
        self.result = result
        self.reasm: Any = None
        try:
            from analyzer.reassembly import Reassembler

            self.reasm = Reassembler(result)
        except (SynackError, OSError, ValueError):
            self.reasm = None

    def first_bytes(self, conn_id: int, direction: str) -> str | None:
        if self.reasm is None:
            return None
        try:
            stream = self.reasm.stream(conn_id, direction)
            out = b""
            for chunk in stream.chunks(gaps=False):
                out += chunk.data or b""
                if len(out) >= PREVIEW_BYTES:
                    break
        except (SynackError, OSError, ValueError):
            return None
        return printable(out[:PREVIEW_BYTES]) if out else None


def _transitions(result: AnalysisResult, conn_id: int, t0: int) -> list[dict[str, Any]]:
    from analyzer.checks.context import context

    tr = context(result).conn_transitions(conn_id)
    return [{"endpoint": str(r["endpoint"]), "frame": int(r["frame"]),
             "t": (int(r["ts_ns"]) - t0) / 1e9, "from": str(r["from_state"]),
             "to": str(r["to_state"]), "observed": bool(r["observed"]),
             "cause": str(r["cause"])} for r in records(tr)]


def section(result: AnalysisResult, conn_id: int, lang: str, previews: Previews,
            ) -> dict[str, Any]:
    """Everything the template shows for one connection."""
    row = result.connections.iloc[conn_id].to_dict()
    lad = build_ladder(result, conn_id, lang=lang)
    fig = figure(lad)
    svg: Markup = inline_svg(fig, lad.title.text)
    fd = result.findings
    mine = fd[fd["conn_id"].to_numpy() == conn_id] if len(fd) else fd
    col = "message_zh" if lang == "zh" else "message"
    findings = [{"check": str(r["check"]), "severity": str(r["severity"]),
                 "frame": int(r["frame"]), "message": str(r[col]),
                 "expected": str(r["expected"]), "observed": str(r["observed"]),
                 "rfc": str(r["rfc"]),
                 "title": (REGISTRY[str(r["check"])].title_zh if lang == "zh"
                           else REGISTRY[str(r["check"])].title)}
                for r in records(mine)]
    return {
        "id": conn_id, "title": lad.title.text, "diagram": svg,
        "arrows": len(lad.arrows), "collapsed": sum(b.segments for b in lad.bands),
        "transitions": _transitions(result, conn_id, int(row["start_ns"])),
        "findings": findings, "summary": str(row["summary"]),
        "client_final": str(row["client_final"]), "server_final": str(row["server_final"]),
        "preview_c": previews.first_bytes(conn_id, "client"),
        "preview_s": previews.first_bytes(conn_id, "server"),
    }
