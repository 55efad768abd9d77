"""`synack check CAPTURE... [--rules FILE]`: judge captures against a rules file, for CI."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from analyzer.errors import UsageError
from analyzer.render.check_github import github_annotations
from analyzer.render.check_json import check_document
from analyzer.render.check_junit import junit_xml
from analyzer.render.check_sarif import sarif_document
from analyzer.render.check_text import verdict_lines
from analyzer.rules import (
    DEFAULT_RULES,
    STARTER_RULES,
    CaptureReport,
    Rules,
    evaluate_capture,
)
from analyzer.rules.load import load_rules
from analyzer.timing import PROFILE_NAMES

__all__ = ["COMMANDS", "EXIT_BROKEN", "write_text"]

EXIT_BROKEN = 1
DEFAULT_RULES_FILE = "synack-rules.toml"


def write_text(path: Path, text: str) -> None:
    """Write an output file; a failure is a usage error (exit 2), not a traceback."""
    try:
        if path.parent != Path(""):
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _init(path: str, force: bool) -> None:
    target = Path(path)
    if target.exists() and not force:
        raise UsageError(f"{target} exists: not overwriting it (--force to replace it)")
    write_text(target, STARTER_RULES)
    click.echo(f"wrote {target}: edit it, then run: synack check CAPTURE --rules {target}")


def _github_default() -> bool:
    return os.environ.get("GITHUB_ACTIONS", "").lower() == "true"


@click.command("check")
@click.argument("captures", nargs=-1)
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False),
              help="TOML rules file (see `synack check --init` and docs/ci.md). "
                   "Default: fail on error-severity findings only.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
              help="Write JUnit XML: one testcase per rule per capture.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the verdict as JSON (schema: analyzer/rules/schema/"
                   "check-result-v1.json).")
@click.option("--sarif", type=click.Path(dir_okay=False, path_type=Path),
              help="Write SARIF 2.1.0 (code-scanning dashboards).")
@click.option("--github/--no-github", "github", default=None,
              help="Print GitHub Actions ::error annotations (default: on when "
                   "GITHUB_ACTIONS=true).")
@click.option("--init", "init_path", is_flag=False, flag_value=DEFAULT_RULES_FILE,
              default=None, metavar="[FILE]",
              help=f"Write a commented starter rules file ({DEFAULT_RULES_FILE}) and exit.")
@click.option("--force", is_flag=True, help="With --init: overwrite an existing file.")
@click.option("--max-evidence", type=int, default=5, show_default=True,
              help="Connections shown per broken rule in the terminal (0: all).")
@click.option("-v", "--verbose", is_flag=True, help="Also list the rules that hold.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary line.")
@click.option("--profile", type=click.Choice(PROFILE_NAMES), default="auto", show_default=True,
              help="OS timing profile for the retransmission/TIME_WAIT checks.")
@click.option("--engine", type=click.Choice(["auto", "native", "tshark"]), default="auto",
              show_default=True, help="What reads the packets (see `synack analyze`).")
@click.option("--time-wait", "time_wait", type=float, default=60.0, show_default=True,
              help="2·MSL in seconds assumed for TIME_WAIT expiry.")
@click.option("--no-checksums", is_flag=True, help="Do not verify TCP checksums.")
def check_cmd(captures: tuple[str, ...], rules_path: str | None, junit: Path | None,
              json_path: Path | None, sarif: Path | None, github: bool | None,
              init_path: str | None, force: bool, max_evidence: int, verbose: bool,
              quiet: bool, profile: str, engine: str, time_wait: float,
              no_checksums: bool) -> None:
    """Judge each CAPTURE against a rules file: the build fails when TCP misbehaves.

    \b
    Exit codes:
      0  every rule holds in every capture
      1  a rule is broken (the verdict names the connections and frames)
      2  usage or input error: bad option, unreadable capture, invalid rules file
         (the message names the file and line)

    \b
    Examples:
      synack check --init                      # writes synack-rules.toml
      synack check test.pcap --rules synack-rules.toml --junit junit.xml
      synack check a.pcap b.pcap --json verdict.json --sarif synack.sarif
    """
    if init_path is not None:
        if captures:
            raise click.UsageError("--init writes a rules file; give no CAPTURE with it")
        _init(init_path, force)
        return
    if not captures:
        raise click.UsageError("give at least one CAPTURE (or --init to start a rules file)")
    rules = load_rules(rules_path) if rules_path else DEFAULT_RULES
    reports = [_judge(path, rules, profile, engine, time_wait, not no_checksums)
               for path in captures]
    source = rules_path or ""
    _write_outputs(reports, source, junit, json_path, sarif)
    _print(reports, source, max_evidence, verbose, quiet)
    if github if github is not None else _github_default():
        for line in github_annotations(reports, source):
            click.echo(line)
    if any(not r.passed for r in reports):
        sys.exit(EXIT_BROKEN)


def _judge(path: str, rules: Rules, profile: str, engine: str, time_wait: float,
           checksums: bool) -> CaptureReport:
    from analyzer.cli import _load

    result = _load(path, time_wait, checksums, profile, engine)
    return evaluate_capture(rules, result, path)


def _write_outputs(reports: list[CaptureReport], source: str, junit: Path | None,
                   json_path: Path | None, sarif: Path | None) -> None:
    if junit is not None:
        write_text(junit, junit_xml(reports, source))
    if json_path is not None:
        write_text(json_path, json.dumps(check_document(reports, source), indent=2,
                                         ensure_ascii=False) + "\n")
    if sarif is not None:
        write_text(sarif, json.dumps(sarif_document(reports, source), indent=2,
                                     ensure_ascii=False) + "\n")


def _print(reports: list[CaptureReport], source: str, max_evidence: int, verbose: bool,
           quiet: bool) -> None:
    lines = verdict_lines(reports, source, max_evidence or None, verbose)
    for line in lines[-1:] if quiet else lines:
        fg = "red" if "FAIL" in line[:8] or line.startswith("synack check: FAILED") else \
            ("green" if line.startswith("synack check: passed") else None)
        click.echo(click.style(line, fg=fg) if fg else line)


COMMANDS = [check_cmd]
