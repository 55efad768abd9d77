"""Reading a student's answers file: JSON, CSV or YAML, one answer per question.

Accepted shapes (question keys are the ids ``q1``, ``Q1``, ``1`` or the question's name,
e.g. ``client_isn_raw``):

* JSON / YAML: ``{"q1": "...", "q2": 5}`` or ``{"student": "...", "answers": {...}}``;
* CSV: rows ``question,answer`` (a header row ``question,answer`` is optional; a row may
  have more cells — a list answer — which are joined).

:func:`read_answers` raises :class:`AnswersError` with a message for the student's
feedback when the file cannot be read; it never raises anything else.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from analyzer.classroom.model import AnswerKey

__all__ = ["ANSWER_SUFFIXES", "AnswersError", "match_answers", "read_answers"]

ANSWER_SUFFIXES = (".json", ".csv", ".yaml", ".yml")


class AnswersError(Exception):
    """The answers file cannot be used; ``str(exc)`` says why, for the feedback page."""


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnswersError(f"{path.name} is not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise AnswersError(f"{path.name} cannot be read: {exc.strerror or exc}") from exc


def _mapping(doc: Any, name: str) -> dict[str, Any]:
    if isinstance(doc, dict) and isinstance(doc.get("answers"), dict):
        doc = doc["answers"]
    if not isinstance(doc, dict):
        raise AnswersError(f"{name} must map question ids to answers "
                           f"(found {type(doc).__name__})")
    return {str(k): v for k, v in doc.items()}


def _json(text: str, name: str) -> dict[str, Any]:
    try:
        return _mapping(json.loads(text), name)
    except json.JSONDecodeError as exc:
        raise AnswersError(f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                           f"column {exc.colno}") from exc


def _yaml(text: str, name: str) -> dict[str, Any]:
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise AnswersError(f"{name} is not valid YAML{where}: "
                           f"{getattr(exc, 'problem', '') or exc}") from exc
    return _mapping(doc, name)


def _csv(text: str, name: str) -> dict[str, Any]:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise AnswersError(f"{name} is not valid CSV: {exc}") from exc
    out: dict[str, Any] = {}
    for i, row in enumerate(rows, 1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if i == 1 and cells[0].lower() in ("question", "id", "question_id"):
            continue
        if len(cells) < 2:
            raise AnswersError(f"{name} line {i}: expected question,answer")
        rest = [c for c in cells[1:] if c != ""]
        out[cells[0]] = rest[0] if len(rest) == 1 else ("; ".join(rest) if rest else "")
    return out


def read_answers(path: Path) -> dict[str, Any]:
    """The answers of one file, keyed as the student wrote them."""
    text = _read_text(path)
    suffix = path.suffix.lower()
    if not text.strip():
        raise AnswersError(f"{path.name} is empty")
    if suffix == ".json":
        return _json(text, path.name)
    if suffix in (".yaml", ".yml"):
        return _yaml(text, path.name)
    if suffix == ".csv":
        return _csv(text, path.name)
    raise AnswersError(f"{path.name}: answers must be a .json, .csv or .yaml file")


def _norm(key: str) -> str:
    k = key.strip().lower()
    return f"q{k}" if k.isdigit() else k


def match_answers(key: AnswerKey, raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Answers by question id, and the keys that match no question."""
    by = {}
    for q in key.questions:
        by[q.id.lower()] = q.id
        if q.name:
            by.setdefault(q.name.lower(), q.id)
    out: dict[str, Any] = {}
    unknown = []
    for k, v in raw.items():
        qid = by.get(_norm(k))
        if qid is None:
            unknown.append(k)
        else:
            out[qid] = v
    return out, unknown
