"""Grading one submission: answers against a key, a capture against requirements.

A submission is everything in SUBMISSIONS_DIR that belongs to one student: the files
``<student>.<ext>`` (the student is the name up to the first dot) or a directory
``<student>/``. Answers files are .json/.csv/.yaml/.yml; captures .pcap/.pcapng/.cap (or
gzipped). Nothing here raises for a bad submission: every problem becomes a message in
the student's :class:`StudentGrade` (in English and Chinese) and the score counts what
could be graded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.classroom.answers import ANSWER_SUFFIXES, AnswersError, match_answers, read_answers
from analyzer.classroom.assignment import Assignment, Requirement
from analyzer.classroom.compare import Mark, grade_answer
from analyzer.classroom.facts import ConnFacts, conn_facts
from analyzer.classroom.generators import T
from analyzer.classroom.model import AnswerKey
from analyzer.classroom.requirements import evaluate_rules

__all__ = ["CAPTURE_SUFFIXES", "ReqResult", "StudentGrade", "discover", "grade_submission"]

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".gz")


@dataclass
class ReqResult:
    req: Requirement
    ok: bool
    evidence: list[dict[str, str]]

    @property
    def points(self) -> float:
        return self.req.points if self.ok else 0.0


@dataclass
class StudentGrade:
    student: str
    files: list[str] = field(default_factory=list)
    key: AnswerKey | None = None
    marks: list[Mark] = field(default_factory=list)
    requirements: list[ReqResult] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    graded_conn: dict[str, str] = field(default_factory=dict)
    max_points: float = 0.0

    @property
    def score(self) -> float:
        return round(sum(m.points for m in self.marks)
                     + sum(r.points for r in self.requirements), 3)

    def problem(self, text: dict[str, str]) -> None:
        self.problems.append(text)


def discover(root: Path) -> dict[str, list[Path]]:
    """Student name → files, for every file or directory directly in ``root``."""
    out: dict[str, list[Path]] = {}
    for p in sorted(root.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir():
            out.setdefault(p.name, []).extend(sorted(x for x in p.rglob("*") if x.is_file()
                                                     and not x.name.startswith(".")))
        else:
            out.setdefault(p.name.split(".", 1)[0], []).append(p)
    return out


def _split(files: list[Path]) -> tuple[list[Path], list[Path], list[Path]]:
    ans, caps, other = [], [], []
    for p in files:
        name = p.name.lower()
        if name.endswith(ANSWER_SUFFIXES):
            ans.append(p)
        elif name.endswith(CAPTURE_SUFFIXES):
            caps.append(p)
        else:
            other.append(p)
    return ans, caps, other


def _grade_answers(g: StudentGrade, key: AnswerKey, answers: list[Path]) -> None:
    raw: dict[str, Any] = {}
    if not answers:
        g.problem(T("No answers file (.json, .csv or .yaml) was submitted: every question is "
                    "marked as missing.",
                    "没有提交答案文件（.json、.csv 或 .yaml）：所有题目都按未作答处理。"))
    elif len(answers) > 1:
        g.problem(T("Several answers files were submitted; only {f} was graded.",
                    "提交了多个答案文件，只批改了 {f}。", f=answers[0].name))
    if answers:
        try:
            raw = read_answers(answers[0])
        except AnswersError as exc:
            g.problem(T("The answers file could not be read: {e}. Every question is marked "
                        "as missing.", "无法读取答案文件：{e}。所有题目都按未作答处理。", e=exc))
    given, unknown = match_answers(key, raw)
    if unknown:
        g.problem(T("Answers to unknown questions were ignored: {k}.",
                    "以下答案对应的题号不存在，已忽略：{k}。", k=", ".join(map(str, unknown))))
    missing = [q.id for q in key.questions if q.id not in given]
    if raw and missing:
        g.problem(T("No answer for: {m}.", "以下题目没有作答：{m}。", m=", ".join(missing)))
    for q in key.questions:
        g.marks.append(grade_answer(q, given.get(q.id), q.id in given))
    g.max_points += key.total_points


def _pick_conn(result: Any, asg: Assignment) -> ConnFacts | None:
    conns = result.core_connections
    if asg.server_port is not None:
        conns = conns[conns["server_port"] == asg.server_port]
    best: tuple[float, int] | None = None
    for cid in conns["conn_id"].to_numpy():
        f = conn_facts(result, int(cid))
        pts = sum(r.points for r in asg.requirements if evaluate_rules(f, r.rules)[0])
        if best is None or pts > best[0]:
            best = (pts, int(cid))
    return conn_facts(result, best[1]) if best is not None else None


def _grade_capture(g: StudentGrade, asg: Assignment, caps: list[Path],
                   answers: list[Path]) -> None:
    from analyzer.api import analyze
    from analyzer.errors import SynackError

    g.max_points += sum(r.points for r in asg.requirements)
    facts = None
    if not caps:
        g.problem(T("No capture (.pcap/.pcapng) was submitted: no requirement can be met.",
                    "没有提交抓包文件（.pcap/.pcapng）：所有要求都无法满足。"))
    else:
        unusable = False
        try:
            facts = _pick_conn(analyze(str(caps[0])), asg)
        except SynackError as exc:
            unusable = True
            g.problem(T("{f} is not a usable capture: {e}", "{f} 不是可用的抓包文件：{e}",
                        f=caps[0].name, e=exc))
        if facts is None and not unusable:
            g.problem(T("{f} contains no TCP connection{p}.", "{f} 中没有 TCP 连接{zp}。",
                        f=caps[0].name,
                        p=f" to port {asg.server_port}" if asg.server_port else "",
                        zp=f"（端口 {asg.server_port}）" if asg.server_port else ""))
    for req in asg.requirements:
        if facts is None:
            g.requirements.append(ReqResult(req, False, []))
            continue
        ok, ev = evaluate_rules(facts, req.rules)
        g.requirements.append(ReqResult(req, ok, ev))
    if facts is not None:
        g.graded_conn = T("connection {c} of {f}: {a} → {b}", "{f} 中的连接 {c}：{a} → {b}",
                          c=facts.conn_id, f=caps[0].name, a=facts.endpoint("client"),
                          b=facts.endpoint("server"))
    if asg.spec is not None:
        _own_questions(g, asg, facts, caps, answers)


def _own_questions(g: StudentGrade, asg: Assignment, facts: ConnFacts | None,
                   caps: list[Path], answers: list[Path]) -> None:
    from analyzer.classroom.spec import build_key

    assert asg.spec is not None
    if facts is None:
        g.problem(T("The questions about your capture could not be graded without a usable "
                    "capture.", "没有可用的抓包文件，关于你抓包的题目无法批改。"))
        return
    key = build_key(facts.result, facts.conn_id, asg.spec, capture=str(caps[0]))
    g.key = key
    _grade_answers(g, key, answers)


def grade_submission(student: str, files: list[Path], asg: Assignment) -> StudentGrade:
    """Grade one student's files; never raises for a bad submission."""
    g = StudentGrade(student, files=[p.name for p in files])
    answers, caps, other = _split(files)
    if other:
        g.problem(T("Files of unknown type were ignored: {f}.", "忽略了无法识别类型的文件：{f}。",
                    f=", ".join(p.name for p in other)))
    if asg.is_capture:
        _grade_capture(g, asg, caps, answers)
        return g
    if caps:
        g.problem(T("This assignment grades an answers file; the capture(s) {f} were not "
                    "looked at.", "本作业批改的是答案文件；抓包文件 {f} 未被查看。",
                    f=", ".join(p.name for p in caps)))
    key = asg.key_for(student)
    if key is None:
        g.problem(T("There is no answer key (variant) for student {s}.",
                    "没有学生 {s} 的答案（变体）。", s=student))
        return g
    g.key = key
    _grade_answers(g, key, answers)
    return g
