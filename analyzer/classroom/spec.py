"""Question specs (TOML) and presets, and building the answer key of one connection.

A spec file::

    [exercise]
    title = "The three-way handshake"
    profile = "linux"        # OS timing profile for TIME_WAIT questions (or "random")
    allow_relative = true    # accept relative numbers where a raw one is asked
    points = 1               # default points per question

    [[question]]
    type = "isn"             # one of QUESTION_TYPES
    side = "client"          # type-specific parameters, see docs/classroom.md
    form = "raw"
    points = 2

Presets (``--preset``) are the same tables built in: handshake, teardown, full, kurose-ross.
"""

from __future__ import annotations

import hashlib
import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.classroom import kurose, q_handshake, q_teardown, q_timing  # noqa: F401
from analyzer.classroom.facts import conn_facts
from analyzer.classroom.generators import GENERATORS, GenContext
from analyzer.classroom.model import AnswerKey
from analyzer.errors import UsageError
from analyzer.result import AnalysisResult
from analyzer.timing.profiles import PROFILES

__all__ = ["PRESETS", "QUESTION_TYPES", "Spec", "build_key", "file_sha256", "load_spec",
           "preset", "spec_from_dict"]

QUESTION_TYPES = tuple(sorted(GENERATORS))

_PRESETS: dict[str, dict[str, Any]] = {
    "handshake": {
        "exercise": {"title": "The three-way handshake", "need": "handshake"},
        "question": [
            {"type": "endpoint"}, {"type": "isn"}, {"type": "synack_ack", "points": 2},
            {"type": "handshake_complete"},
            {"type": "state_after", "phase": "handshake", "count": 3},
            {"type": "handshake_rtt"},
        ]},
    "teardown": {
        "exercise": {"title": "The four-way close and TIME_WAIT", "need": "teardown"},
        "question": [
            {"type": "state_after", "phase": "teardown", "count": 4},
            {"type": "time_wait"}, {"type": "half_status"},
        ]},
    "full": {
        "exercise": {"title": "A TCP connection from SYN to TIME_WAIT", "need": "handshake"},
        "question": [
            {"type": "endpoint"}, {"type": "isn"}, {"type": "synack_ack", "points": 2},
            {"type": "handshake_complete"}, {"type": "state_after", "count": 4},
            {"type": "time_wait"}, {"type": "retransmissions"}, {"type": "rto_gaps"},
            {"type": "handshake_rtt"}, {"type": "half_status"},
        ]},
    "kurose-ross": {
        "exercise": {"title": "Wireshark lab: TCP (after Kurose & Ross)", "need": "data"},
        "question": [
            {"type": "endpoint"}, {"type": "isn", "form": "raw"},
            {"type": "synack_ack"}, {"type": "kurose_ross"}, {"type": "retransmissions"},
        ]},
}
PRESETS = tuple(_PRESETS)


@dataclass
class Spec:
    """A question set: exercise settings and the ``[[question]]`` tables, in order."""

    title: str
    questions: list[dict[str, Any]]
    profile: str = "linux"
    allow_relative: bool = True
    points: float = 1.0
    need: str = "handshake"  # what the chosen connection must show: handshake|teardown|data
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def spec_from_dict(doc: dict[str, Any], name: str = "spec") -> Spec:
    """Validate a parsed spec; UsageError naming the file and the bad entry."""
    ex = doc.get("exercise", {})
    if not isinstance(ex, dict):
        raise UsageError(f"{name}: [exercise] must be a table")
    qs = doc.get("question", [])
    if not isinstance(qs, list) or not qs:
        raise UsageError(f"{name}: no [[question]] tables")
    for i, q in enumerate(qs, 1):
        if not isinstance(q, dict) or q.get("type") not in GENERATORS:
            got = q.get("type") if isinstance(q, dict) else q
            raise UsageError(f"{name}: question {i}: unknown type {got!r}; known types: "
                             f"{', '.join(QUESTION_TYPES)}")
    known = {"title", "profile", "allow_relative", "points", "need"}
    unknown = sorted(set(ex) - known)
    if unknown:
        raise UsageError(f"{name}: [exercise]: unknown key(s) {', '.join(unknown)}; known: "
                         f"{', '.join(sorted(known))}")
    return Spec(title=str(ex.get("title", "TCP exercise")), questions=[dict(q) for q in qs],
                profile=str(ex.get("profile", "linux")),
                allow_relative=bool(ex.get("allow_relative", True)),
                points=float(ex.get("points", 1.0)), need=str(ex.get("need", "handshake")),
                name=name)


def preset(name: str) -> Spec:
    if name not in _PRESETS:
        raise UsageError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return spec_from_dict(_PRESETS[name], name)


def load_spec(path: Path) -> Spec:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read question spec: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a valid TOML question spec: {exc}") from exc
    return spec_from_dict(doc, str(path))


def file_sha256(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return ""


def seeded_rng(seed: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))


def build_key(result: AnalysisResult, conn_id: int, spec: Spec, *, variant: str = "",
              capture: str = "") -> AnswerKey:
    """The answer key of ``spec`` on one connection (``variant``: the seed of a variant,
    which randomizes the packets asked about and, with profile "random", the OS)."""
    facts = conn_facts(result, conn_id)
    ctx = GenContext(profile=spec.profile, allow_relative=spec.allow_relative,
                     rng=seeded_rng(f"{variant}:{capture}:{conn_id}"))
    if ctx.profile == "random" or (variant and ctx.profile == "linux" and spec.name in PRESETS):
        ctx.profile = ctx.rng.choice(sorted(PROFILES))
    questions = []
    for params in spec.questions:
        p = {"points": spec.points, **params}
        if variant:
            p.setdefault("random", True)
        try:
            questions.extend(GENERATORS[str(p["type"])](facts, p, ctx))
        except ValueError as exc:
            raise UsageError(f"{spec.name}: question type {p['type']}: {exc}") from exc
    for i, q in enumerate(questions, 1):
        q.id = f"q{i}"
    row = result.connection(conn_id)
    path = capture or result.source
    return AnswerKey(title=spec.title, capture=path, capture_sha256=file_sha256(path),
                     conn_id=conn_id, client=facts.endpoint("client"),
                     server=facts.endpoint("server"), questions=questions,
                     packets=facts.packet_rows(), preset=spec.name, variant=variant,
                     profile=ctx.profile, notes=ctx.notes + [f"summary: {row['summary']}"])
