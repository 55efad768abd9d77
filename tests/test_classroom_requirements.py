"""Capture assignments: what the students' own captures must show, in the rules language
(analyzer/classroom/requirements.py, assignment.py), graded on good and bad samples."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from classroom_util import SAMPLES, result_of

from analyzer.classroom.assignment import load_assignment
from analyzer.classroom.batch import grade_all
from analyzer.classroom.facts import conn_facts
from analyzer.classroom.requirements import close_style, evaluate_rules
from analyzer.errors import UsageError

ASSIGNMENT = Path(__file__).resolve().parents[1] / "docs" / "classroom" / "own_capture.toml"


@pytest.mark.parametrize(("sample", "style", "closer"), [
    ("01_clean_close.pcap", "four_way", "client"), ("02_server_close.pcap", "four_way", "server"),
    ("03_simultaneous_close.pcap", "simultaneous", "both"),
    ("04_three_segment_close.pcap", "three_way", "client"),
    ("09_linger_abort.pcap", "abort", "client"), ("06_syn_retries_linear0.pcap", "none", "none"),
])
def test_close_style_matches_the_truth_files(sample: str, style: str, closer: str) -> None:
    f = conn_facts(result_of(sample), 0)
    assert close_style(f) == style
    if closer != "client" or style != "abort":
        assert evaluate_rules(f, {"active_closer": closer})[0]


def _grade(tmp_path: Path, samples: dict[str, str]) -> tuple[dict[str, dict[str, str]], Path]:
    subs = tmp_path / "subs"
    subs.mkdir()
    for student, sample in samples.items():
        shutil.copy(SAMPLES / sample, subs / f"{student}.pcap")
    out = tmp_path / "g"
    report = grade_all(load_assignment(ASSIGNMENT), subs, out)
    assert report.graded == len(samples)
    with (out / "grades.csv").open(encoding="utf-8") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}, out / "feedback"


def test_good_and_bad_student_captures(tmp_path: Path) -> None:
    g, fb = _grade(tmp_path, {"good": "01_clean_close.pcap", "server": "02_server_close.pcap",
                              "syn": "06_syn_retries_linear0.pcap"})
    reqs = ("handshake", "data_both_ways", "client_closes_first", "client_time_wait")
    assert [float(g["good"][r]) for r in reqs] == [2, 1, 2, 1]
    assert [float(g["server"][r]) for r in reqs] == [2, 1, 0, 0]
    assert [float(g["syn"][r]) for r in reqs] == [0, 0, 0, 0]
    text = (fb / "server.md").read_text(encoding="utf-8")
    assert "client closes first" in text and "not met" in text
    assert "the first FIN (frame 10) was sent by the server" in text
    syn = (fb / "syn.md").read_text(encoding="utf-8")
    assert "never led to a completed handshake" in syn


def test_questions_about_the_students_own_capture(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(SAMPLES / "01_clean_close.pcap", subs / "ann.pcap")
    row = result_of("01_clean_close.pcap").connection(0)
    c_isn, s_isn = int(row["client_isn"]), int(row["server_isn"])
    (subs / "ann.csv").write_text(f"q1,{c_isn}\nq2,{s_isn}\nq3,{c_isn + 1}\n", encoding="utf-8")
    (subs / "broken.pcap").write_text("this is not a capture", encoding="utf-8")
    out = tmp_path / "g"
    report = grade_all(load_assignment(ASSIGNMENT), subs, out, lang="zh")
    assert report.graded == 2 and report.with_problems == 1
    with (out / "grades.csv").open(encoding="utf-8") as fh:
        g = {r["student"]: r for r in csv.DictReader(fh)}
    assert float(g["ann"]["score"]) == 9 == float(g["ann"]["max_points"])
    assert float(g["broken"]["score"]) == 0
    text = (out / "feedback" / "broken.md").read_text(encoding="utf-8")
    assert "不是可用的抓包文件" in text and "byte 0" in text


def test_bad_assignment_files_are_usage_errors(tmp_path: Path) -> None:
    bad = tmp_path / "a.toml"
    bad.write_text('[[requirement]]\nid = "x"\nrules = { no_such_rule = 1 }\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"unknown rule.*no_such_rule"):
        load_assignment(bad)
    bad.write_text("[assignment]\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"needs \[\[requirement\]\]"):
        load_assignment(bad)
