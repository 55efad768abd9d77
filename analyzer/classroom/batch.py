"""Grading a whole directory of submissions: grades.csv and a feedback page per student.

A submission that cannot be graded (unreadable answers, a file that is not a capture, a
missing answer — or anything unexpected) is reported in that student's feedback and gets
the score of what could be graded; the batch always goes on.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.classroom.assignment import Assignment
from analyzer.classroom.feedback import feedback_html, feedback_markdown
from analyzer.classroom.generators import T
from analyzer.classroom.grade import StudentGrade, discover, grade_submission

__all__ = ["BatchReport", "grade_all"]

Tick = Callable[[str], None]


@dataclass
class BatchReport:
    grades: list[StudentGrade] = field(default_factory=list)
    out: Path = Path(".")

    @property
    def graded(self) -> int:
        return len(self.grades)

    @property
    def with_problems(self) -> int:
        return sum(1 for g in self.grades if g.problems)

    def line(self) -> str:
        return (f"graded {self.graded} submission(s), {self.with_problems} with problems; "
                f"grades in {self.out / 'grades.csv'}, feedback in {self.out / 'feedback'}")


def _safe_grade(student: str, files: list[Path], asg: Assignment) -> StudentGrade:
    try:
        return grade_submission(student, files, asg)
    except Exception as exc:
        g = StudentGrade(student, files=[p.name for p in files])
        g.problem(T("This submission could not be graded ({e}: {m}); please ask your "
                    "teacher.", "这份提交无法批改（{e}：{m}），请联系老师。",
                    e=type(exc).__name__, m=exc))
        return g


def _columns(asg: Assignment, grades: list[StudentGrade]) -> list[str]:
    cols: list[str] = [r.id for r in asg.requirements]
    for g in grades:
        for m in g.marks:
            if m.qid not in cols:
                cols.append(m.qid)
    return cols


def _write_csv(path: Path, asg: Assignment, grades: list[StudentGrade]) -> None:
    cols = _columns(asg, grades)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "score", "max_points", "problems", *cols])
        for g in grades:
            pts = {m.qid: m.points for m in g.marks}
            pts.update({r.req.id: r.points for r in g.requirements})
            w.writerow([g.student, f"{g.score:g}", f"{g.max_points:g}", len(g.problems),
                        *(f"{pts[c]:g}" if c in pts else "" for c in cols)])


def grade_all(asg: Assignment, submissions: Path, out: Path, lang: str = "en",
              tick: Tick | None = None) -> BatchReport:
    """Grade every submission in ``submissions``; write ``out``/grades.csv and
    ``out``/feedback/<student>.md and .html. ``tick(student)`` after each one."""
    subs = discover(submissions)
    report = BatchReport(out=out)
    fb = out / "feedback"
    fb.mkdir(parents=True, exist_ok=True)
    for student, files in subs.items():
        g = _safe_grade(student, files, asg)
        if g.max_points == 0 and g.key is not None:
            g.max_points = g.key.total_points
        report.grades.append(g)
        (fb / f"{student}.md").write_text(feedback_markdown(g, lang), encoding="utf-8")
        (fb / f"{student}.html").write_text(feedback_html(g, lang), encoding="utf-8")
        if tick is not None:
            tick(student)
    _write_csv(out / "grades.csv", asg, report.grades)
    return report


def submission_count(submissions: Path) -> int:
    return len(discover(submissions))
