"""The `synack` command line: commands, options and exit codes, nothing else.

Exit codes: 0 success; 2 usage or input error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from analyzer.api import Progress, analyze
from analyzer.errors import SynackError
from analyzer.timing.profiles import PROFILE_NAMES

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

# Rendering modules import pandas: they are imported inside the commands, after the
# capture has been read (see analyzer.api), so that `synack` starts quickly.

__all__ = ["main"]

EXIT_INPUT = 2


@contextmanager
def _progress(label: str) -> Iterator[Progress | None]:
    """A rich progress bar on stderr while reading, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    with Bar("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
             TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _console() -> Console:
    """Terminal width on a terminal; wide enough for the tables when piped to a file."""
    return Console() if sys.stdout.isatty() else Console(width=220)


def _load(path: str, time_wait: float, checksums: bool, profile: str = "auto",
          engine: str = "auto", jobs: int | None = None) -> AnalysisResult:
    with _progress(f"reading {Path(path).name}") as progress:
        result = analyze(path, time_wait_s=time_wait, verify_checksums=checksums,
                         progress=progress, profile=profile, engine=engine, jobs=jobs)
    if getattr(result.stats, "fallback", ""):
        click.echo(f"synack: {path}: {result.stats.fallback}", err=True)
    for w in result.warnings:
        click.echo(f"synack: warning: {path}: {w}", err=True)
    return result


_common = [
    click.option("--time-wait", "time_wait", type=float, default=60.0, show_default=True,
                 help="2·MSL in seconds assumed for TIME_WAIT expiry (Linux 60, RFC 240)."),
    click.option("--no-checksums", is_flag=True, help="Do not verify TCP checksums."),
]


def _with_common(f):  # type: ignore[no-untyped-def]
    for opt in reversed(_common):
        f = opt(f)
    return f


class _LazyGroup(click.Group):
    """Commands beyond analyze/states/explain/checks are imported when used (fast start)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from analyzer.commands import COMMAND_MODULES

        return sorted({*super().list_commands(ctx), *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from analyzer.commands import load_command

        return super().get_command(ctx, cmd_name) or load_command(cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="synack")
def cli() -> None:
    """synack: TCP connection life cycles in pcap/pcapng captures.

    Exit codes: 0 success, 2 usage or input error.
    """


@cli.command("analyze")
@click.argument("captures", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="How to print the connections.")
@click.option("--output", "-o", "output", type=click.Path(file_okay=False, path_type=Path),
              help="Also write connections.csv, transitions.csv, anomalies.csv, "
                   "packets.parquet and summary.json into this directory.")
@click.option("--max-rows", type=int, default=50, show_default=True,
              help="Rows of the terminal table.")
@click.option("--all", "show_all", is_flag=True, help="Show every connection in the table.")
@click.option("--findings", "show_findings", is_flag=True,
              help="Print the findings (protocol checks) after the connections.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the findings' messages.")
@click.option("--profile", type=click.Choice(PROFILE_NAMES), default="auto", show_default=True,
              help="OS timing profile for retransmission/TIME_WAIT checks (see `timing`).")
@click.option("--engine", type=click.Choice(["auto", "native", "tshark"]), default="auto",
              show_default=True, help="What reads the packets: native, tshark (Wireshark's "
              "dissectors: tunnels, any link type), or auto (native, else tshark).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Processes reading a large pcap file in parts [default: one per CPU, "
                   "at most 4].")
@_with_common
def analyze_cmd(captures: tuple[str, ...], fmt: str, output: Path | None, max_rows: int,
                show_all: bool, show_findings: bool, lang: str, profile: str, engine: str,
                jobs: int | None, time_wait: float, no_checksums: bool) -> None:
    """Connections of each CAPTURE (a file, or - for stdin) and how each one ended."""
    console = _console()
    docs = []
    for path in captures:
        result = _load(path, time_wait, not no_checksums, profile, engine, jobs)
        if output is not None:
            from analyzer.render.export import write_output_dir

            target = output if len(captures) == 1 else output / Path(path).stem
            write_output_dir(result, target)
            from analyzer.render.report import write_report  # index.html beside the tables
            write_report(result, target, lang=lang)
        if fmt == "table":
            from analyzer.render.console import connections_table, print_table

            conns = result.connections if show_findings else result.core_connections
            n_conn, n_seg = len(conns), len(result.columns["frame"])
            title = f"{path}: {n_conn:,} TCP connection{'s' * (n_conn != 1)}, " \
                    f"{n_seg:,} segment{'s' * (n_seg != 1)}"
            print_table(connections_table(conns, title,
                                          None if show_all else max_rows), console)
            if show_findings:
                _print_findings(result, path, lang, None if show_all else max_rows, console)
        elif fmt == "csv":
            sys.stdout.write(result.connections.assign(capture=path).to_csv(index=False))
        else:
            from analyzer.render.export import connections_records, summary_dict
            from analyzer.render.findings import findings_records

            doc = summary_dict(result)
            doc["connection_table"] = connections_records(result.connections)
            doc["findings"] = findings_records(result.findings, lang)
            docs.append(doc)
    if fmt == "json":
        click.echo(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2))


@cli.command("states")
@click.argument("capture")
@click.option("--conn", "conn_id", type=int, required=True, help="Connection id (see analyze).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@_with_common
def states_cmd(capture: str, conn_id: int, fmt: str, time_wait: float,
               no_checksums: bool) -> None:
    """Per-packet state timeline of one connection, both endpoints."""
    result = _load(capture, time_wait, not no_checksums)
    conn = result.connection(conn_id)
    timeline = result.states(conn_id)
    if fmt == "csv":
        sys.stdout.write(timeline.to_csv(index=False))
        return
    if fmt == "json":
        click.echo(timeline.to_json(orient="records", indent=2))
        return
    from analyzer.render.console import print_table, states_table, transition_lines

    title = f"connection {conn_id}: {conn['client']}:{conn['client_port']} → " \
            f"{conn['server']}:{conn['server_port']} ({conn['summary']})"
    print_table(states_table(timeline, title, int(conn["start_ns"])), _console())
    for line in transition_lines(result.transitions[result.transitions["conn_id"] == conn_id]):
        click.echo(line)


def _print_findings(result: AnalysisResult, path: str, lang: str, max_rows: int | None,
                    console: Console) -> None:
    from analyzer.render.console import print_table
    from analyzer.render.findings import findings_table

    fd = result.findings
    if len(fd) == 0:
        console.print(f"{path}：没有检查结果" if lang == "zh" else f"{path}: no findings")
        return
    counts = fd["severity"].astype(str).value_counts() if len(fd) else None
    parts = [f"{int(counts.get(s, 0))} {s}" for s in ("error", "warning", "info")] \
        if counts is not None else []
    title = f"{path}: {len(fd):,} findings" + (f" ({', '.join(parts)})" if parts else "")
    if lang == "zh":
        title = f"{path}：{len(fd):,} 条检查结果"
    print_table(findings_table(fd, title, lang, max_rows), console)


@cli.command("explain")
@click.argument("capture")
@click.option("--conn", "conn_id", type=int, required=True, help="Connection id (see analyze).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@_with_common
def explain_cmd(capture: str, conn_id: int, lang: str, time_wait: float,
                no_checksums: bool) -> None:
    """One connection told in plain words: handshake, teardown, findings and why."""
    from analyzer.render.story import explain_text

    result = _load(capture, time_wait, not no_checksums)
    click.echo(explain_text(result, conn_id, lang), nl=False)


@cli.command("checks")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "markdown"]), default="table",
              show_default=True)
def checks_cmd(lang: str, fmt: str) -> None:
    """The catalogue of checks: id, severity, RFC reference and explanation."""
    from analyzer.render.console import print_table
    from analyzer.render.findings import catalogue_markdown, catalogue_table

    if fmt == "markdown":
        click.echo(catalogue_markdown(lang), nl=False)
        return
    print_table(catalogue_table(lang), _console())


def main() -> None:
    """Console-script entry point: errors become one line and exit code 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("synack: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_INPUT)
    except SynackError as exc:
        click.echo(f"synack: error: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    except BrokenPipeError:
        sys.exit(0)
    except KeyboardInterrupt:
        click.echo("synack: interrupted", err=True)
        sys.exit(130)


def run() -> None:
    """The installed ``synack`` command: :func:`main`, then a quick exit.

    Once a command has succeeded and its output is flushed, tearing the interpreter down
    (freeing every object of a large analysis, module by module) only costs time, about
    0.1 s after a million-packet capture: exit handlers run, then the process ends.
    """
    main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # reader gone, or closed
            stream.flush()
    os._exit(0)


if __name__ == "__main__":
    run()
