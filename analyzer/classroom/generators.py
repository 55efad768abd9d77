"""The registry of question types: a generator per type turns a connection into questions.

A generator takes the connection's :class:`~analyzer.classroom.facts.ConnFacts`, the
parameters of its ``[[question]]`` table in the spec, and a :class:`GenContext` (timing
profile, a random generator for variants, whether relative numbers are accepted), and
returns questions (ids are assigned afterwards, in order). A type that does not apply to
the connection (no SYN-ACK for ``synack_ack``, say) returns nothing and records a note.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from analyzer.classroom.facts import ConnFacts
from analyzer.classroom.model import Question

__all__ = ["GENERATORS", "GenContext", "Generator", "T", "fmt_int", "generator"]

Params = dict[str, Any]


@dataclass
class GenContext:
    profile: str = "linux"
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    allow_relative: bool = True
    notes: list[str] = field(default_factory=list)

    def skip(self, qtype: str, why: str) -> list[Question]:
        self.notes.append(f"{qtype}: not asked — {why}")
        return []


Generator = Callable[[ConnFacts, Params, GenContext], list[Question]]
GENERATORS: dict[str, Generator] = {}


def generator(name: str) -> Callable[[Generator], Generator]:
    def wrap(fn: Generator) -> Generator:
        GENERATORS[name] = fn
        return fn

    return wrap


def T(en: str, zh: str, **kw: object) -> dict[str, str]:
    """An English/Chinese text pair, both formatted with ``kw``."""
    return {"en": en.format(**kw), "zh": zh.format(**kw)}


def fmt_int(n: int) -> str:
    """2791437015 → "2,791,437,015" (as the feedback writes numbers)."""
    return f"{n:,}"


SIDE_ZH = {"client": "客户端", "server": "服务器", "both": "两端", "none": "都没有"}


def sides(params: Params) -> list[str]:
    side = str(params.get("side", "both"))
    return ["client", "server"] if side == "both" else [side]


def points(params: Params, default: float = 1.0) -> float:
    return float(params.get("points", default))
