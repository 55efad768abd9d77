"""The classroom model: questions, answer keys and packet rows, and their JSON form.

An :class:`AnswerKey` is what ``synack exercise`` writes next to the student sheet
(``answer_key.json``) and what ``synack grade`` grades against. It is self-contained: every
question carries its right value, the equivalent values it accepts, its tolerance, how to
derive it from the packets (English and Chinese), the check of the ``synack explain``
catalogue whose explanation applies, and the frames it is about; the connection's packets
(:class:`PacketRow`) are kept too, so feedback can draw the relevant part of the diagram
without the capture.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "KEY_SCHEMA", "KINDS", "AnswerKey", "PacketRow", "Question", "load_key", "save_key",
]

KEY_SCHEMA = "synack-answer-key/1"

Kind = Literal["int", "number", "numbers", "frames", "state", "side", "choice", "endpoint",
               "text"]
KINDS: tuple[str, ...] = ("int", "number", "numbers", "frames", "state", "side", "choice",
                          "endpoint", "text")


@dataclass(slots=True)
class Question:
    """One graded question.

    ``answer`` is the canonical right value; ``accept`` lists other values that are
    equally right (e.g. the relative number when the raw one is asked and the question
    allows it). Numbers are compared with ``tolerance`` (absolute, in ``unit``) or
    ``rel_tolerance`` (a fraction), whichever is larger. ``prompt`` and ``derivation``
    map a language ("en", "zh") to text; ``concept`` is a check id of the catalogue.
    """

    id: str
    type: str
    kind: Kind
    prompt: dict[str, str]
    answer: Any
    points: float = 1.0
    accept: list[Any] = field(default_factory=list)
    tolerance: float = 0.0
    rel_tolerance: float = 0.0
    unit: str = ""
    choices: list[str] = field(default_factory=list)
    derivation: dict[str, str] = field(default_factory=dict)
    concept: str = ""
    frames: list[int] = field(default_factory=list)
    name: str = ""

    def text(self, which: str, lang: str) -> str:
        table: dict[str, str] = getattr(self, which)
        return table.get(lang) or table.get("en", "")


@dataclass(slots=True)
class PacketRow:
    """One segment of the exercise's connection, as the diagram and feedback show it."""

    frame: int
    t: float            # seconds since the capture's first frame
    direction: str      # "c2s" | "s2c"
    flags: str          # tcpdump letters: "S", "S.", ".", "P.", "F." ...
    seq: int
    ack: int            # -1 without the ACK flag
    rel_seq: int
    rel_ack: int        # -1 without the ACK flag
    length: int
    window: int
    client_state: str
    server_state: str
    note: str = ""      # e.g. "rto retransmission of frame 10"


@dataclass(slots=True)
class AnswerKey:
    """Everything needed to grade one exercise (one student's variant)."""

    title: str
    capture: str
    capture_sha256: str
    conn_id: int
    client: str
    server: str
    questions: list[Question]
    packets: list[PacketRow] = field(default_factory=list)
    preset: str = ""
    variant: str = ""
    profile: str = "linux"
    notes: list[str] = field(default_factory=list)
    schema: str = KEY_SCHEMA

    @property
    def total_points(self) -> float:
        return float(sum(q.points for q in self.questions))

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _question(d: dict[str, Any]) -> Question:
    return Question(**d)


def key_from_json(doc: dict[str, Any]) -> AnswerKey:
    """Rebuild a key; ValueError with the reason for a document that is not one."""
    if doc.get("schema") != KEY_SCHEMA:
        raise ValueError(f"not a synack answer key (schema {doc.get('schema')!r}, "
                         f"expected {KEY_SCHEMA!r})")
    data = dict(doc)
    data["questions"] = [_question(q) for q in doc.get("questions", [])]
    data["packets"] = [PacketRow(**p) for p in doc.get("packets", [])]
    return AnswerKey(**data)


def save_key(key: AnswerKey, path: Path) -> None:
    path.write_text(json.dumps(key.to_json(), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def load_key(path: Path) -> AnswerKey:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read answer key: {exc}") from exc
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not a synack answer key")
    return key_from_json(doc)
