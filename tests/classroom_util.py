"""Helpers of the classroom tests: keys for sample captures, students filling them in."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import analyzer
from analyzer.classroom.model import AnswerKey, Question
from analyzer.classroom.spec import build_key, preset
from analyzer.result import AnalysisResult

SAMPLES = Path(__file__).resolve().parents[1] / "sample_pcaps"
ALL_SAMPLES = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".pcap", ".pcapng"))


@cache
def result_of(name: str) -> AnalysisResult:
    return analyzer.analyze(str(SAMPLES / name))


def key_for(name: str, preset_name: str = "full", conn: int = 0) -> AnswerKey:
    return build_key(result_of(name), conn, preset(preset_name), capture=str(SAMPLES / name))


def perfect(key: AnswerKey) -> dict[str, Any]:
    return {q.id: q.answer for q in key.questions}


def csv_value(v: Any) -> str:
    if isinstance(v, list):
        return "; ".join(str(x) for x in v) if v else "none"
    return str(v)


def write_answers(path: Path, answers: dict[str, Any]) -> Path:
    suffix = path.suffix
    if suffix == ".json":
        path.write_text(json.dumps({"answers": answers}), encoding="utf-8")
    elif suffix in (".yaml", ".yml"):
        import yaml

        path.write_text(yaml.safe_dump(answers, allow_unicode=True), encoding="utf-8")
    else:
        rows = ["question,answer"] + [f'{k},"{csv_value(v)}"' for k, v in answers.items()]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def wrong_value(q: Question) -> Any:
    """A wrong answer of the right kind."""
    a = q.answer
    if q.kind == "int":
        return int(a) + 7
    if q.kind == "number":
        return float(a) * 3 + 1
    if q.kind == "numbers":
        return [float(x) * 3 + 1 for x in a] or [1]
    if q.kind == "frames":
        return [*a, 99999] if a else [1]
    if q.kind == "state":
        return "LISTEN" if a != "LISTEN" else "CLOSED"
    if q.kind in ("side", "choice"):
        return next(c for c in q.choices if c != a)
    if q.kind == "endpoint":
        return "192.0.2.1:1"
    return "wrong"
