"""Assignments: what ``synack grade`` grades against.

* an answer key (``answer_key.json`` from ``synack exercise``), or an exercise directory:
  its ``answer_key.json`` for everyone, and ``<student>/answer_key.json`` for the students
  who got their own variant (``--students``);
* a capture assignment (TOML): the students capture a connection themselves; each
  ``[[requirement]]`` says what the capture must show in the rules language (see
  :mod:`analyzer.classroom.requirements`), and optional ``[[question]]`` tables ask about
  the student's own capture (answered in an answers file, graded against that capture)::

    [assignment]
    title = "Your own TCP connection"
    server_port = 8080          # optional: only connections to this port are considered
    profile = "linux"

    [[requirement]]
    id = "handshake"
    points = 2
    text = "A complete three-way handshake initiated by your client"
    text_zh = "由你的客户端发起的完整三次握手"
    concept = "handshake_ack_wrong_ack"   # catalogue explanation shown when it fails
    rules = { require_handshake = true }
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.classroom.model import AnswerKey, load_key
from analyzer.classroom.requirements import validate_rules
from analyzer.classroom.spec import Spec, spec_from_dict
from analyzer.errors import UsageError

__all__ = ["Assignment", "Requirement", "load_assignment"]


@dataclass
class Requirement:
    id: str
    text: dict[str, str]
    rules: dict[str, Any]
    points: float = 1.0
    concept: str = ""


@dataclass
class Assignment:
    """Either answer keys (``keys``: "" → everyone's, student → a variant) or a capture
    assignment (``requirements`` and optional ``spec`` of questions about the capture)."""

    title: str
    source: str
    keys: dict[str, AnswerKey] = field(default_factory=dict)
    requirements: list[Requirement] = field(default_factory=list)
    spec: Spec | None = None
    server_port: int | None = None

    @property
    def is_capture(self) -> bool:
        return bool(self.requirements)

    def key_for(self, student: str) -> AnswerKey | None:
        return self.keys.get(student) or self.keys.get("")


def _keys_dir(path: Path) -> Assignment:
    keys: dict[str, AnswerKey] = {}
    top = path / "answer_key.json"
    if top.is_file():
        keys[""] = load_key(top)
    for sub in sorted(p for p in path.iterdir() if p.is_dir()):
        k = sub / "answer_key.json"
        if k.is_file():
            keys[sub.name] = load_key(k)
    if not keys:
        raise UsageError(f"{path}: no answer_key.json in this directory or its subdirectories")
    title = next(iter(keys.values())).title
    return Assignment(title=title, source=str(path), keys=keys)


def _requirement(i: int, d: Any, where: str) -> Requirement:
    if not isinstance(d, dict) or not isinstance(d.get("rules"), dict):
        raise UsageError(f"{where}: requirement {i}: needs a rules table")
    try:
        validate_rules(d["rules"], f"{where}: requirement {i}")
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    rid = str(d.get("id", f"r{i}"))
    text = str(d.get("text", rid))
    return Requirement(id=rid, text={"en": text, "zh": str(d.get("text_zh", text))},
                       rules=dict(d["rules"]), points=float(d.get("points", 1.0)),
                       concept=str(d.get("concept", "")))


def _capture_assignment(path: Path) -> Assignment:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: not a readable TOML assignment: {exc}") from exc
    head = doc.get("assignment", {})
    reqs = [_requirement(i, d, str(path))
            for i, d in enumerate(doc.get("requirement", []), 1)]
    if not reqs:
        raise UsageError(f"{path}: a capture assignment needs [[requirement]] tables")
    spec = None
    if doc.get("question"):
        ex = {k: head[k] for k in ("profile", "allow_relative", "points") if k in head}
        spec = spec_from_dict({"exercise": {"title": head.get("title", ""), **ex},
                               "question": doc["question"]}, str(path))
    port = head.get("server_port")
    return Assignment(title=str(head.get("title", path.stem)), source=str(path),
                      requirements=reqs, spec=spec,
                      server_port=int(port) if port is not None else None)


def load_assignment(path: Path) -> Assignment:
    """An exercise directory, an answer key (.json) or a capture assignment (.toml)."""
    if path.is_dir():
        return _keys_dir(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such assignment file or directory")
    if path.suffix.lower() == ".toml":
        return _capture_assignment(path)
    try:
        key = load_key(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return Assignment(title=key.title, source=str(path), keys={"": key})
