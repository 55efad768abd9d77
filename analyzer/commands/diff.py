"""`synack diff BEFORE AFTER`: two captures of the same test, regressions beyond thresholds."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import click

from analyzer.commands.check import EXIT_BROKEN, write_text
from analyzer.errors import RulesError
from analyzer.rules.diff import (
    DiffReport,
    Metric,
    Thresholds,
    diff_results,
    load_thresholds,
    parse_thresholds,
)
from analyzer.timing import PROFILE_NAMES

__all__ = ["COMMANDS", "diff_lines"]


def _fmt(m: Metric, v: float) -> str:
    if isinstance(v, float) and math.isnan(v):
        return "-"
    if m.group == "rtt":
        return f"{v:.3f} ms"
    if m.group == "retransmissions":
        return f"{v:.2%}"
    return f"{int(v):,}"


def _delta(m: Metric) -> str:
    if math.isnan(m.delta):
        return ""
    if m.group == "rtt":
        return f"{m.delta:+.3f} ms"
    if m.group == "retransmissions":
        return f"{m.delta * 100:+.2f} pt"
    return f"{int(m.delta):+,}" if m.delta else "0"


def diff_lines(rep: DiffReport, show_all: bool = False) -> list[str]:
    """Aligned text: one line per metric that changed (every metric with ``show_all``)."""
    rows = [m for m in rep.metrics if show_all or m.regression or m.delta != 0
            or m.group in ("connections", "rtt", "retransmissions")]
    lines = [f"before: {rep.before}", f"after:  {rep.after}"]
    width = max((len(m.label) for m in rows), default=10)
    for m in rows:
        mark = "REGRESSION" if m.regression else ""
        lines.append(f"  {m.label:<{width}}  {_fmt(m, m.before):>12} → "
                     f"{_fmt(m, m.after):>12}  {_delta(m):>12}  {mark} {m.regression}".rstrip())
    n = len(rep.regressions)
    lines.append(f"synack diff: FAILED: {n} regression{'s' if n != 1 else ''}" if n else
                 "synack diff: passed: no regression beyond the thresholds")
    return lines


def _thresholds(path: str | None, overrides: tuple[str, ...]) -> Thresholds:
    t = load_thresholds(path) if path else Thresholds()
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--threshold")
        try:
            t = parse_thresholds(f"{key.strip()} = {value.strip()}\n", "--threshold", t)
        except RulesError as exc:
            raise RulesError(f"--threshold {item}", [(0, m) for _, m in exc.problems]) from None
    return t


def _document(rep: DiffReport) -> dict[str, Any]:
    def num(v: float) -> float | None:
        return None if math.isnan(v) else v

    return {"before": rep.before, "after": rep.after, "passed": not rep.regressions,
            "metrics": [{"group": m.group, "name": m.name, "before": num(m.before),
                         "after": num(m.after), "regression": m.regression}
                        for m in rep.metrics]}


@click.command("diff")
@click.argument("before")
@click.argument("after")
@click.option("--thresholds", "thresholds_path", type=click.Path(dir_okay=False),
              help="TOML thresholds file (keys: see docs/ci.md).")
@click.option("--threshold", "overrides", multiple=True, metavar="KEY=VALUE",
              help="One threshold, e.g. rtt_increase_pct=20 or "
                   "'state_increase={RESET=1}' (repeatable; over --thresholds).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the comparison as JSON.")
@click.option("--all", "show_all", is_flag=True, help="Show unchanged metrics too.")
@click.option("--profile", type=click.Choice(PROFILE_NAMES), default="auto", show_default=True,
              help="OS timing profile for the retransmission checks.")
@click.option("--engine", type=click.Choice(["auto", "native", "tshark"]), default="auto",
              show_default=True, help="What reads the packets (see `synack analyze`).")
def diff_cmd(before: str, after: str, thresholds_path: str | None, overrides: tuple[str, ...],
             json_path: Path | None, show_all: bool, profile: str, engine: str) -> None:
    """Compare two captures of the same test: BEFORE (a known-good run) and AFTER.

    Compares connections by summary state, findings by id, handshake RTT percentiles and
    the retransmission rate.

    \b
    Default thresholds (a regression is anything beyond them):
      state_increase = { HALF-OPEN = 0, RESET = 0, REFUSED = 0 }
      finding_increase = 0     (per id, for finding_severities = ["error", "warning"])
      rtt_increase_pct = 50 and rtt_min_increase_ms = 1
      retransmission_rate_increase = 0.01   (1 percentage point)
      connections_change_pct   (not judged unless set)

    \b
    Exit codes: 0 no regression, 1 a regression, 2 usage or input error.
    """
    from analyzer.cli import _load

    t = _thresholds(thresholds_path, overrides)
    r_before = _load(before, 60.0, True, profile, engine)
    r_after = _load(after, 60.0, True, profile, engine)
    rep = diff_results(r_before, r_after, t, (before, after))
    if json_path is not None:
        write_text(json_path, json.dumps(_document(rep), indent=2) + "\n")
    for line in diff_lines(rep, show_all):
        fg = "red" if "REGRESSION" in line or "FAILED" in line else None
        click.echo(click.style(line, fg=fg) if fg else line)
    if rep.regressions:
        sys.exit(EXIT_BROKEN)


COMMANDS = [diff_cmd]
