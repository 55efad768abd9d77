"""`synack exercise` and `synack grade`: homework from captures, graded with explanations."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from analyzer.errors import UsageError

__all__ = ["COMMANDS"]


def _load(path: str):  # type: ignore[no-untyped-def]
    from analyzer.api import analyze

    return analyze(path)


def _spec(questions: Path | None, preset_name: str | None, profile: str | None):  # type: ignore[no-untyped-def]
    from analyzer.classroom.spec import load_spec, preset

    if questions is not None and preset_name is not None:
        raise UsageError("give either --questions or --preset, not both")
    spec = load_spec(questions) if questions is not None else preset(preset_name or "full")
    if profile:
        spec.profile = profile
    return spec


def _students(arg: str) -> list[str]:
    p = Path(arg)
    names = p.read_text(encoding="utf-8").split() if p.is_file() else arg.split(",")
    out = [n.strip() for n in names if n.strip() and not n.startswith("#")]
    if not out:
        raise UsageError(f"--students {arg}: no student names")
    return out


@click.command("exercise")
@click.argument("captures", nargs=-1, required=True)
@click.option("--conn", "conn_id", type=int, help="Connection id (default: the first one "
              "that shows what the questions are about).")
@click.option("--questions", type=click.Path(dir_okay=False, path_type=Path),
              help="Question spec (TOML): [exercise] and [[question]] tables.")
@click.option("--preset", "preset_name",
              type=click.Choice(["handshake", "teardown", "full", "kurose-ross"]),
              help="A built-in question set (default: full).")
@click.option("--variant", "seed", help="Seed of a per-student variant: picks the capture and "
              "connection from CAPTURES (files or directories), the packets asked about and "
              "the OS profile.")
@click.option("--students", help="With --variant: a file of student names (one per line) or "
              "a comma-separated list; writes one variant per student into OUT/<student>/.")
@click.option("--profile", type=click.Choice(["linux", "rfc", "macos", "windows", "random"]),
              help="OS profile of the TIME_WAIT questions (default: the spec's, linux).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the student sheet.")
@click.option("-o", "--output", "out", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Directory for sheet.md, sheet.html, answer_key.json and "
              "the answer templates.")
def exercise_cmd(captures: tuple[str, ...], conn_id: int | None, questions: Path | None,
                 preset_name: str | None, seed: str | None, students: str | None,
                 profile: str | None, lang: str, out: Path) -> None:
    """A student sheet and an answer key from a connection of CAPTURE."""
    from analyzer.classroom.facts import pick_connection
    from analyzer.classroom.sheet import write_exercise
    from analyzer.classroom.spec import build_key
    from analyzer.classroom.variants import Variants, expand_captures

    spec = _spec(questions, preset_name, profile)
    paths = expand_captures(list(captures))
    if seed is None:
        if students:
            raise UsageError("--students needs --variant SEED")
        if len(paths) != 1:
            raise UsageError(f"{len(paths)} captures given: one exercise is about one "
                             "capture (use --variant SEED to pick one per student)")
        result = _load(paths[0])
        cid = conn_id if conn_id is not None else pick_connection(result, spec.need)
        key = build_key(result, cid, spec, capture=paths[0])
        write_exercise(key, out, lang, result)
        _report(key, out)
        return
    variants = Variants(paths, spec, _load)
    for name in _students(students) if students else [""]:
        key = variants.key(f"{seed}/{name}" if name else seed, conn_id)
        write_exercise(key, out / name if name else out, lang,
                       variants.cache.get(key.capture))
        _report(key, out / name if name else out)


def _report(key, out: Path) -> None:  # type: ignore[no-untyped-def]
    click.echo(f"{out}: {len(key.questions)} questions ({key.total_points:g} points) on "
               f"connection {key.conn_id} of {key.capture}")
    for note in key.notes:
        if "not asked" in note:
            click.echo(f"synack: note: {note}", err=True)


@contextmanager
def _bar(total: int) -> Iterator[object]:
    """A rich progress bar over the submissions on a terminal (stderr), else nothing."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("grading {task.description}"), BarColumn(),
                  MofNCompleteColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=total)

        def tick(student: str) -> None:
            bar.update(task, advance=1, description=student)

        yield tick


@click.command("grade")
@click.argument("assignment", type=click.Path(exists=True, path_type=Path))
@click.argument("submissions", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("grades"), show_default=True,
              help="Directory for grades.csv and feedback/<student>.md/.html.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the feedback pages.")
def grade_cmd(assignment: Path, submissions: Path, out: Path, lang: str) -> None:
    """Grade every submission in SUBMISSIONS against ASSIGNMENT.

    ASSIGNMENT is an exercise directory or answer_key.json (answers files are graded), or a
    capture assignment (.toml: the students' own captures are checked). A submission is
    <student>.<ext> files or a <student>/ directory. Broken submissions are reported in
    their feedback and never stop the batch.
    """
    from analyzer.classroom.assignment import load_assignment
    from analyzer.classroom.batch import grade_all, submission_count

    asg = load_assignment(assignment)
    with _bar(submission_count(submissions)) as tick:
        report = grade_all(asg, submissions, out, lang, tick)  # type: ignore[arg-type]
    click.echo(f"synack: {report.line()}")


COMMANDS = [exercise_cmd, grade_cmd]
