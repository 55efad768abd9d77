"""Grading rules: one answer against one question.

* numbers: within the question's tolerance (absolute, or relative, whichever is larger);
  thousands separators (2,791,437,015), "0x…" and units (``25 us``, ``0.025 ms``,
  ``1 min``, ``30 KB/s``) are understood; a number without a unit is read in the
  question's unit, and for times also in seconds when that is the only reading that fits;
* equivalent values: any value in the question's ``accept`` list is right too (the
  relative number where the raw one is asked, times from the connection's first packet);
* states: RFC or Linux spelling (SYN_RECEIVED, SYN-RECEIVED, SYN_RECV, SYN-RCVD, ESTAB …),
  with or without a Chinese gloss ("TIME_WAIT（时间等待）");
* sides / choices: English or Chinese words (client, 客户端, half-open, 半开连接 …);
* endpoints: ``address:port`` ([v6]:port, or "address port"); half the points when only
  one of the two is right;
* lists of numbers: position by position, points in proportion to the right ones;
* sets of frames: points × |right ∩ given| / |right ∪ given| ("none" is the empty set).
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Any

from analyzer.classroom.model import Question
from analyzer.tcpstate.states import parse_state

__all__ = ["Mark", "grade_answer", "parse_number"]

_UNITS = {
    "s": {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0, "秒": 1.0,
          "ms": 1e-3, "毫秒": 1e-3, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "微秒": 1e-6,
          "ns": 1e-9, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0, "分钟": 60.0},
    "bytes": {"b": 1.0, "byte": 1.0, "bytes": 1.0, "字节": 1.0, "kb": 1e3, "kib": 1024.0,
              "mb": 1e6, "mib": 1048576.0},
    "bytes/s": {"b/s": 1.0, "bytes/s": 1.0, "byte/s": 1.0, "bps": 1 / 8, "bit/s": 1 / 8,
                "bits/s": 1 / 8, "kb/s": 1e3, "kbytes/s": 1e3, "kib/s": 1024.0,
                "mb/s": 1e6, "mib/s": 1048576.0, "kbps": 1e3 / 8, "mbps": 1e6 / 8,
                "字节/秒": 1.0},
}
_UNITS["ms"] = {k: v * 1e3 for k, v in _UNITS["s"].items()}
_NUM = re.compile(r"^\s*([-+]?(?:0x[0-9a-f]+|\d[\d,_ \u2009\u00a0]*(?:\.\d*)?|\.\d+)"
                  r"(?:e[-+]?\d+)?)\s*(.*?)\s*$", re.IGNORECASE)
_SIDES = {"client": "client", "c": "client", "客户端": "client", "客户机": "client",
          "server": "server", "s": "server", "服务器": "server", "服务端": "server",
          "both": "both", "两端": "both", "双方": "both", "都": "both", "client and server":
          "both", "none": "none", "neither": "none", "都没有": "none", "无": "none",
          "没有": "none"}
_CHOICES = {"半开": "half-open", "半开连接": "half-open", "半关闭": "half-closed",
            "都不是": "neither", "none": "neither", "neither": "neither", "无": "neither",
            "halfopen": "half-open", "halfclosed": "half-closed"}
_NONE = {"", "none", "no", "-", "无", "没有", "null", "[]", "n/a"}


@dataclass(slots=True)
class Mark:
    """The grade of one question: points earned, and what happened."""

    qid: str
    points: float
    max_points: float
    status: str          # right | partial | wrong | missing | unreadable
    given: str           # the answer as written ("" when missing)
    detail: str = ""     # why it could not be read, or which part was right


def parse_number(value: Any, unit: str = "") -> tuple[float, bool]:
    """(number in ``unit``, whether a unit was written); ValueError when not a number."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int | float):
        return float(value), False
    m = _NUM.match(str(value).strip().lower().replace("＿", "_"))
    if not m:
        raise ValueError("not a number")
    num = re.sub(r"[,_ \u2009\u00a0]", "", m.group(1))
    x = float(int(num, 16)) if num.lower().startswith(("0x", "-0x")) else float(num)
    tail = m.group(2).strip()
    if not tail:
        return x, False
    table = _UNITS.get(unit, {})
    if tail not in table:
        raise ValueError(f"unknown unit {tail!r}" if table else "not a number")
    return x * table[tail], True


def _close(x: float, want: float, q: Question) -> bool:
    eps = 0.0 if q.kind in ("int", "frames") else 1e-9 * max(1.0, abs(want))
    tol = max(q.tolerance, q.rel_tolerance * abs(want), eps)
    return math.isfinite(x) and abs(x - want) <= tol


def _number_ok(value: Any, wants: list[Any], q: Question) -> bool:
    x, had_unit = parse_number(value, q.unit)
    scale = [1.0]
    if not had_unit and q.unit == "ms":
        scale.append(1e3)  # a bare number that only fits when read in seconds
    return any(_close(x * s, float(w), q) for w in wants for s in scale)


def _int_ok(value: Any, wants: list[Any], q: Question) -> bool:
    x, _ = parse_number(value, q.unit)
    if x != int(x):
        raise ValueError("not a whole number")
    return any(_close(x, float(w), q) for w in wants)


def _listify(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    text = str(value).strip().strip("[]()")
    if text.lower() in _NONE:
        return []
    parts = re.split(r"\s*;\s*", text) if ";" in text else re.split(r"[\s,，、]+", text)
    return [p for p in parts if p]


def _numbers_frac(value: Any, wants: list[list[Any]], q: Question) -> float:
    given = _listify(value)
    best = 0.0
    for want in wants:
        n = max(len(want), len(given))
        if n == 0:
            return 1.0
        ok = sum(1 for g, w in zip(given, want, strict=False)
                 if _number_ok(g, [w], q))
        best = max(best, ok / n)
    return best


def _frames_frac(value: Any, want: list[Any]) -> float:
    given = {int(parse_number(v)[0]) for v in _listify(value)}
    right = {int(w) for w in want}
    union = given | right
    return 1.0 if not union else len(given & right) / len(union)


def _endpoint(text: str) -> tuple[str, int]:
    t = str(text).strip()
    m = re.match(r"^\[([^\]]+)\][:.\s]\s*(\d+)$", t) or \
        re.match(r"^(\S+?)(?:\s*[\s,/#]\s*|:)(\d+)$", t)
    if not m:
        raise ValueError("expected address:port")
    return str(ipaddress.ip_address(m.group(1))), int(m.group(2))


def _endpoint_frac(value: Any, want: str) -> float:
    ip, port = _endpoint(str(value))
    wip, wport = _endpoint(want)
    return (0.5 if ip == wip else 0.0) + (0.5 if port == wport else 0.0)


def _state(value: Any) -> str:
    text = re.split(r"[（(]", str(value).strip())[0].strip()
    return str(parse_state(re.sub(r"\s+", "_", text)))


def _word(value: Any, table: dict[str, str]) -> str:
    w = str(value).strip().lower()
    w = re.split(r"[（(]", w)[0].strip()
    return table.get(w, table.get(w.replace("_", "-").replace(" ", "-"), w.replace(
        "_", "-").replace(" ", "-")))


def _fraction(q: Question, value: Any) -> float:
    wants = [q.answer, *q.accept]
    kind = q.kind
    if kind == "int":
        return 1.0 if _int_ok(value, wants, q) else 0.0
    if kind == "number":
        return 1.0 if _number_ok(value, wants, q) else 0.0
    if kind == "numbers":
        return _numbers_frac(value, wants, q)
    if kind == "frames":
        return _frames_frac(value, q.answer)
    if kind == "endpoint":
        return max(_endpoint_frac(value, str(w)) for w in wants)
    if kind == "state":
        try:
            return 1.0 if _state(value) in {str(parse_state(str(w))) for w in wants} else 0.0
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a TCP state") from exc
    if kind == "side":
        return 1.0 if _word(value, _SIDES) in wants else 0.0
    if kind == "choice":
        return 1.0 if _word(value, _CHOICES) in wants else 0.0
    return 1.0 if str(value).strip().casefold() in {str(w).casefold() for w in wants} else 0.0


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def grade_answer(q: Question, value: Any, present: bool = True) -> Mark:
    """Grade one answer; a value that cannot be read scores 0 with the reason."""
    if not present or value is None or (isinstance(value, str) and not value.strip()):
        return Mark(q.id, 0.0, q.points, "missing", "")
    try:
        frac = _fraction(q, value)
    except (ValueError, TypeError, OverflowError) as exc:
        return Mark(q.id, 0.0, q.points, "unreadable", _shown(value), str(exc))
    status = "right" if frac >= 1.0 else ("partial" if frac > 0 else "wrong")
    return Mark(q.id, round(q.points * frac, 3), q.points, status, _shown(value))
