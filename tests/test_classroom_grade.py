"""Exercises from every sample capture, graded as a perfect student, a student with chosen
mistakes, and broken submissions (analyzer/classroom/grade.py, batch.py, feedback.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from classroom_util import (
    ALL_SAMPLES,
    key_for,
    perfect,
    result_of,
    write_answers,
    wrong_value,
)

from analyzer.classroom.assignment import load_assignment
from analyzer.classroom.batch import grade_all
from analyzer.classroom.model import load_key, save_key
from analyzer.classroom.sheet import write_exercise
from analyzer.classroom.spec import PRESETS, build_key, preset
from analyzer.classroom.variants import suitable


def _grades(out: Path) -> dict[str, dict[str, str]]:
    with (out / "grades.csv").open(encoding="utf-8") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


@pytest.mark.parametrize("sample", [p.name for p in ALL_SAMPLES])
def test_every_sample_perfect_student_full_marks(sample: str, tmp_path: Path) -> None:
    result = result_of(sample)
    conns = suitable(result, "handshake") or [0]
    key = build_key(result, conns[0], preset("full"), capture=sample)
    assert key.questions, key.notes
    ex = tmp_path / "ex"
    write_exercise(key, ex)
    assert load_key(ex / "answer_key.json") == key
    subs = tmp_path / "subs"
    subs.mkdir()
    for suffix in (".json", ".csv", ".yaml"):
        write_answers(subs / f"perfect_{suffix[1:]}{suffix}", perfect(key))
    report = grade_all(load_assignment(ex), subs, tmp_path / "grades")
    assert report.graded == 3 and report.with_problems == 0
    for row in _grades(tmp_path / "grades").values():
        assert float(row["score"]) == key.total_points, row


@pytest.mark.parametrize("name", PRESETS)
def test_presets_on_a_clean_capture(name: str) -> None:
    key = key_for("08_data_rto_backoff.pcap", name)
    types = {q.type for q in key.questions}
    assert key.total_points > 0
    if name == "kurose-ross":
        assert "kurose_ross" in types
    if name == "full":
        assert {"endpoint", "isn", "synack_ack", "handshake_complete", "state_after",
                "time_wait", "retransmissions", "rto_gaps", "handshake_rtt",
                "half_status"} <= types


MISTAKES = ["synack_ack", "client_state_after_10", "time_wait_seconds", "half_status"]


def test_chosen_mistakes_lose_exactly_those_points(tmp_path: Path) -> None:
    key = key_for("01_clean_close.pcap")
    by_name = {q.name: q for q in key.questions}
    answers = perfect(key)
    for name in MISTAKES:
        answers[by_name[name].id] = wrong_value(by_name[name])
    ex, subs = tmp_path / "ex", tmp_path / "subs"
    write_exercise(key, ex)
    subs.mkdir()
    write_answers(subs / "bob.json", answers)
    grade_all(load_assignment(ex), subs, tmp_path / "g")
    row = _grades(tmp_path / "g")["bob"]
    lost = {q.id for q in key.questions if float(row[q.id]) < q.points}
    assert lost == {by_name[n].id for n in MISTAKES}
    assert float(row["score"]) == key.total_points - sum(by_name[n].points for n in MISTAKES)
    md = (tmp_path / "g" / "feedback" / "bob.md").read_text(encoding="utf-8")
    c_isn = int(key.question(by_name["synack_ack"].id).answer) - 1
    assert f"ack {c_isn + 1:,} = client ISN {c_isn:,} + 1, because the SYN consumes one " \
           "sequence number" in md
    assert "FIN_WAIT_1" in md and "2 × 30 s = 60 s" in md
    # the catalogue explanation of synack_wrong_ack, as `synack explain` prints it
    assert "A SYN carries no data but consumes one sequence number" in md
    # the relevant part of the diagram, fully labelled
    assert f"ack={c_isn + 1} (1)" in md
    for q in key.questions:  # right answers are not explained
        if q.name not in MISTAKES:
            assert f"### `{q.id}` " not in md


def test_feedback_in_chinese_uses_the_catalogue(tmp_path: Path) -> None:
    key = key_for("01_clean_close.pcap")
    q = next(q for q in key.questions if q.name == "synack_ack")
    answers = perfect(key) | {q.id: 1}  # relative ack is accepted
    answers[next(x.id for x in key.questions if x.name == "time_wait_side")] = "服务器"
    ex, subs = tmp_path / "ex", tmp_path / "subs"
    write_exercise(key, ex, lang="zh")
    subs.mkdir()
    write_answers(subs / "li.yaml", answers)
    grade_all(load_assignment(ex), subs, tmp_path / "g", lang="zh")
    md = (tmp_path / "g" / "feedback" / "li.md").read_text(encoding="utf-8")
    html = (tmp_path / "g" / "feedback" / "li.html").read_text(encoding="utf-8")
    assert "得分: 21 / 22" in md and "正确答案: **client**" in md
    assert "先发送 FIN 的一端" not in md  # the side's own derivation is used
    assert "TIME_WAIT（时间等待）" in md and "<html lang=\"zh\">" in html
    assert "题目" in (ex / "sheet.md").read_text(encoding="utf-8")


def test_equivalent_answers_are_accepted(tmp_path: Path) -> None:
    key = key_for("01_clean_close.pcap")
    by = {q.name: q for q in key.questions}
    c_isn = int(by["client_isn_raw"].answer)
    answers = perfect(key) | {
        by["client_isn_raw"].id: f"{c_isn:,}",
        by["server_state_after_4"].id: "SYN-RECV",
        by["client_state_after_10"].id: "fin-wait-1",
        by["client_state_after_4"].id: "ESTAB",
        by["handshake_rtt_ms"].id: f"{by['handshake_rtt_ms'].answer * 1000:g} us",
        by["time_wait_seconds"].id: "1 min",
        by["retransmitted_frames"].id: "none",
        by["client_endpoint"].id: by["client_endpoint"].answer.replace(":", " "),
        by["half_status"].id: "都不是",
    }
    subs = tmp_path / "subs"
    subs.mkdir()
    save_key(key, tmp_path / "key.json")
    write_answers(subs / "eq.json", answers)
    grade_all(load_assignment(tmp_path / "key.json"), subs, tmp_path / "g")
    assert float(_grades(tmp_path / "g")["eq"]["score"]) == key.total_points


def test_broken_submissions_never_stop_the_batch(tmp_path: Path) -> None:
    key = key_for("01_clean_close.pcap", "handshake")
    ex, subs = tmp_path / "ex", tmp_path / "subs"
    write_exercise(key, ex)
    subs.mkdir()
    write_answers(subs / "good.json", perfect(key))
    (subs / "badjson.json").write_text('{"q1": ', encoding="utf-8")
    (subs / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    (subs / "notalist.json").write_text("[1, 2]", encoding="utf-8")
    (subs / "capture_only.pcap").write_bytes(b"not a capture")
    partial = perfect(key)
    del partial["q2"]
    write_answers(subs / "partial.csv", partial | {"q99": "x"})
    d = subs / "dir_student"
    d.mkdir()
    write_answers(d / "answers.json", perfect(key) | {"q1": "not an address"})
    report = grade_all(load_assignment(ex), subs, tmp_path / "g")
    assert report.graded == 7
    assert report.with_problems == 5
    g = _grades(tmp_path / "g")
    assert float(g["good"]["score"]) == key.total_points
    assert float(g["dir_student"]["score"]) == key.total_points - 1
    q2 = key.question("q2").points
    assert float(g["partial"]["score"]) == key.total_points - q2
    for s in ("badjson", "binary", "notalist", "capture_only"):
        assert float(g[s]["score"]) == 0 and int(g[s]["problems"]) >= 1
    fb = tmp_path / "g" / "feedback"
    assert "is not valid JSON" in (fb / "badjson.md").read_text(encoding="utf-8")
    assert "is not UTF-8 text" in (fb / "binary.md").read_text(encoding="utf-8")
    assert "No answers file" in (fb / "capture_only.md").read_text(encoding="utf-8")
    text = (fb / "partial.md").read_text(encoding="utf-8")
    assert "No answer for: q2" in text and "unknown questions were ignored: q99" in text
    assert "could not be read" in (fb / "dir_student.md").read_text(encoding="utf-8")


def test_feedback_html_escapes_student_text(tmp_path: Path) -> None:
    key = key_for("01_clean_close.pcap", "handshake")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "x.json").write_text(json.dumps({"q1": "<script>alert(1)</script>"}),
                                 encoding="utf-8")
    save_key(key, tmp_path / "k.json")
    grade_all(load_assignment(tmp_path / "k.json"), subs, tmp_path / "g")
    html = (tmp_path / "g" / "feedback" / "x.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
