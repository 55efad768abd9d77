"""`synack exercise` and `synack grade` (analyzer/commands/classroom.py), variants and specs
(analyzer/classroom/variants.py, spec.py)."""

from __future__ import annotations

import json
from pathlib import Path

from classroom_util import SAMPLES, perfect, write_answers
from click.testing import CliRunner

from analyzer.classroom.model import load_key
from analyzer.cli import cli


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    err = "" if res.exception is None or isinstance(res.exception, SystemExit) \
        else str(res.exception)
    return res.exit_code, res.output + err


def test_exercise_writes_sheet_key_and_templates(tmp_path: Path) -> None:
    code, out = run("exercise", str(SAMPLES / "01_clean_close.pcap"), "--preset",
                    "teardown", "--profile", "windows", "-o", str(tmp_path / "ex"))
    assert code == 0, out
    ex = tmp_path / "ex"
    for name in ("sheet.md", "sheet.html", "answer_key.json", "answers_template.json",
                 "answers_template.csv"):
        assert (ex / name).is_file()
    key = load_key(ex / "answer_key.json")
    tw = next(q for q in key.questions if q.name == "time_wait_seconds")
    assert tw.answer == 240.0
    sheet = (ex / "sheet.md").read_text(encoding="utf-8")
    assert "|--------" in sheet and "seq=____" in sheet and "TIME_WAIT" not in sheet.split(
        "## Diagram")[1]
    assert str(key.packets[0].seq) not in sheet


def test_exercise_from_a_spec_file(tmp_path: Path) -> None:
    spec = tmp_path / "q.toml"
    spec.write_text('[exercise]\ntitle = "ISN quiz"\n[[question]]\ntype = "isn"\n'
                    'side = "server"\nform = "raw"\npoints = 3\n[[question]]\n'
                    'type = "state_after"\nframes = [10, 12]\nside = "client"\n',
                    encoding="utf-8")
    code, out = run("exercise", str(SAMPLES / "01_clean_close.pcap"), "--questions",
                    str(spec), "-o", str(tmp_path / "ex"))
    assert code == 0, out
    key = load_key(tmp_path / "ex" / "answer_key.json")
    assert [q.name for q in key.questions] == ["server_isn_raw", "client_state_after_10",
                                               "client_state_after_12"]
    assert [q.answer for q in key.questions[1:]] == ["FIN_WAIT_1", "TIME_WAIT"]
    assert key.total_points == 5 and key.title == "ISN quiz"
    spec.write_text('[[question]]\ntype = "nonsense"\n', encoding="utf-8")
    code, out = run("exercise", str(SAMPLES / "01_clean_close.pcap"), "--questions",
                    str(spec), "-o", str(tmp_path / "ex2"))
    assert code != 0 and "unknown type 'nonsense'" in out


def test_variants_per_student_differ_and_grade(tmp_path: Path) -> None:
    caps = tmp_path / "caps"
    caps.mkdir()
    for n in ("01_clean_close.pcap", "02_server_close.pcap", "04_three_segment_close.pcap",
              "05_half_close.pcap", "08_data_rto_backoff.pcap"):
        (caps / n).write_bytes((SAMPLES / n).read_bytes())
    students = ["ann", "ben", "cat", "dan"]
    code, out = run("exercise", str(caps), "--variant", "term-2025", "--students",
                    ",".join(students), "-o", str(tmp_path / "ex"))
    assert code == 0, out
    keys = {s: load_key(tmp_path / "ex" / s / "answer_key.json") for s in students}
    answers = {s: json.dumps(perfect(k), sort_keys=True) for s, k in keys.items()}
    assert len(set(answers.values())) == len(students)
    again = tmp_path / "again"
    run("exercise", str(caps), "--variant", "term-2025", "--students", ",".join(students),
        "-o", str(again))
    assert load_key(again / "ann" / "answer_key.json") == keys["ann"]  # reproducible
    subs = tmp_path / "subs"
    subs.mkdir()
    for s in students:
        write_answers(subs / f"{s}.json", perfect(keys[s]))
    write_answers(subs / "cheat.json", perfect(keys["ann"]))
    (subs / "ben.json").write_text(json.dumps(perfect(keys["ann"])), encoding="utf-8")
    code, out = run("grade", str(tmp_path / "ex"), str(subs), "-o", str(tmp_path / "g"))
    assert code == 0, out
    assert "graded 5 submission(s), 1 with problems" in out
    rows = (tmp_path / "g" / "grades.csv").read_text(encoding="utf-8").splitlines()
    score = {r.split(",")[0]: float(r.split(",")[1]) for r in rows[1:]}
    assert score["ann"] == keys["ann"].total_points
    assert score["ben"] < keys["ben"].total_points  # copied answers do not fit his variant
    assert score["cheat"] == 0
    assert "no answer key (variant) for student cheat" in (
        tmp_path / "g" / "feedback" / "cheat.md").read_text(encoding="utf-8")


def test_exercise_usage_errors(tmp_path: Path) -> None:
    code, out = run("exercise", str(SAMPLES / "01_clean_close.pcap"), str(SAMPLES /
                    "02_server_close.pcap"), "-o", str(tmp_path / "x"))
    assert code != 0 and "--variant" in out
    code, out = run("exercise", str(SAMPLES / "01_clean_close.pcap"), "--conn", "5",
                    "-o", str(tmp_path / "x"))
    assert code != 0 and "no connection 5" in out
