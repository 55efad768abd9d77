"""Grading rules of one answer (analyzer/classroom/compare.py)."""

from __future__ import annotations

import pytest

from analyzer.classroom.compare import grade_answer, parse_number
from analyzer.classroom.model import Question


def q(kind: str, answer: object, **kw: object) -> Question:
    return Question(id="q1", type="t", kind=kind, prompt={"en": "?"}, answer=answer,
                    **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "unit", "value"), [
    ("2,791,437,015", "", 2791437015), ("0x10", "", 16), ("25 us", "ms", 0.025),
    ("0.000025 s", "ms", 0.025), ("1 min", "s", 60), ("240秒", "s", 240),
    ("30 KB/s", "bytes/s", 30000), (12, "", 12),
])
def test_parse_number(text: str, unit: str, value: float) -> None:
    assert parse_number(text, unit)[0] == pytest.approx(value)


def test_int_is_exact_and_accepts_equivalents() -> None:
    k = q("int", 2791437015, accept=[1])
    assert grade_answer(k, "2,791,437,015").status == "right"
    assert grade_answer(k, 1).status == "right"
    assert grade_answer(k, 2791437014).status == "wrong"
    assert grade_answer(k, "12a").status == "unreadable"
    assert grade_answer(k, None, present=False).status == "missing"
    assert grade_answer(k, "  ").status == "missing"


def test_number_tolerance_and_units() -> None:
    k = q("number", 0.025, unit="ms", tolerance=0.002, rel_tolerance=0.05)
    for ok in ("0.025", "0.026", "25 µs", 0.000025, "0.000025 s"):
        assert grade_answer(k, ok).status == "right", ok
    for bad in ("0.03", "25", "25 ms"):
        assert grade_answer(k, bad).status == "wrong", bad
    assert grade_answer(k, "3 parsecs").status == "unreadable"


@pytest.mark.parametrize("text", ["SYN_RECEIVED", "syn-received", "SYN_RECV", "SYN-RCVD",
                                  "SYN RECEIVED", "SYN_RECEIVED（同步收到）"])
def test_state_spellings(text: str) -> None:
    assert grade_answer(q("state", "SYN_RECEIVED"), text).status == "right"


def test_state_wrong_and_unreadable() -> None:
    assert grade_answer(q("state", "TIME_WAIT"), "CLOSE_WAIT").status == "wrong"
    assert grade_answer(q("state", "TIME_WAIT"), "WAITING").status == "unreadable"


def test_lists_frames_sides_choices_endpoints() -> None:
    nums = q("numbers", [1.0, 2.0, 4.0, 8.0], points=4, tolerance=0.01)
    assert grade_answer(nums, "1.001; 2; 4.0; 8").points == 4
    assert grade_answer(nums, [1, 2, 4.5, 9]).points == 2
    frames = q("frames", [5, 8], points=2)
    assert grade_answer(frames, "8, 5").status == "right"
    assert grade_answer(frames, [5]).points == 1
    assert grade_answer(q("frames", []), "none").status == "right"
    assert grade_answer(q("side", "client"), "客户端").status == "right"
    assert grade_answer(q("choice", "half-closed"), "Half_Closed").status == "right"
    assert grade_answer(q("choice", "half-open"), "半开连接").status == "right"
    ep = q("endpoint", "[fd00:213::1]:57868")
    assert grade_answer(ep, "[fd00:213:0::1]:57868").status == "right"
    assert grade_answer(ep, "fd00:213::1 1").points == 0.5
