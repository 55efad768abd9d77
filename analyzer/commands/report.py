"""`synack report CAPTURE [-o reports/NAME/]`: the self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["COMMANDS", "default_dir"]


def default_dir(capture: str) -> Path:
    """reports/<capture name without suffixes>/ (stdin: reports/stdin/)."""
    name = Path(capture).name
    for suffix in (".gz", ".pcapng", ".pcap", ".cap"):
        name = name.removesuffix(suffix)
    return Path("reports") / (name if capture != "-" and name else "stdin")


@click.command("report")
@click.argument("capture")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write index.html into (default: reports/NAME/).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--max-sections", type=int, default=200, show_default=True,
              help="Connections with a detailed section (findings first).")
@click.option("--profile", default="auto", show_default=True,
              help="Timing profile (see `timing`).")
@click.option("--time-wait", "time_wait", type=float, default=60.0, show_default=True,
              help="2·MSL in seconds assumed for TIME_WAIT expiry.")
@click.option("--no-checksums", is_flag=True, help="Do not verify TCP checksums.")
def report_cmd(capture: str, output: Path | None, lang: str, max_sections: int, profile: str,
               time_wait: float, no_checksums: bool) -> None:
    """A self-contained HTML report of CAPTURE (opens offline): summary, connections
    table, findings, plots, and a ladder diagram per connection."""
    from analyzer.cli import _load
    from analyzer.render.report import write_report

    result = _load(capture, time_wait, not no_checksums, profile)
    path = write_report(result, output or default_dir(capture), lang=lang,
                        max_sections=max_sections)
    click.echo(f"synack: wrote {path}", err=True)


COMMANDS = [report_cmd]
