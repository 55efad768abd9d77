"""`synack diagram CAPTURE --conn ID`: the annotated ladder diagram of one connection."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from analyzer.render.ladder import FORMATS

__all__ = ["COMMANDS"]

_SUFFIX = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".txt": "txt", ".mmd": "mermaid",
           ".mermaid": "mermaid", ".md": "mermaid"}


def _format(fmt: str | None, output: Path | None) -> str:
    if fmt:
        return fmt
    if output is not None:
        return _SUFFIX.get(output.suffix.lower(), "svg")
    return "txt"


@click.command("diagram")
@click.argument("capture")
@click.option("--conn", "conn_id", type=int, required=True, help="Connection id (see analyze).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here (default: text on stdout).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="svg, png, pdf, txt or mermaid; default from the file suffix, else txt.")
@click.option("--raw", is_flag=True, help="Raw sequence/ack numbers instead of relative.")
@click.option("--full", is_flag=True, help="Draw every segment (no collapsed data bands).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--profile", default="auto", show_default=True,
              help="Timing profile for the retransmission marks (see `timing`).")
@click.option("--time-wait", "time_wait", type=float, default=60.0, show_default=True,
              help="2·MSL in seconds assumed for TIME_WAIT expiry.")
@click.option("--no-checksums", is_flag=True, help="Do not verify TCP checksums.")
def diagram_cmd(capture: str, conn_id: int, output: Path | None, fmt: str | None, raw: bool,
                full: bool, lang: str, profile: str, time_wait: float,
                no_checksums: bool) -> None:
    """Ladder (sequence) diagram of one connection: arrows, steps, states, findings."""
    from analyzer.cli import _load
    from analyzer.render.ladder import build_ladder, render

    fmt = _format(fmt, output)
    result = _load(capture, time_wait, not no_checksums, profile)
    lad = build_ladder(result, conn_id, full=full, raw=raw, lang=lang)
    out = render(lad, fmt)
    if output is None:
        if isinstance(out, bytes):
            if sys.stdout.isatty():
                raise click.UsageError(f"--format {fmt} is binary: give -o FILE")
            sys.stdout.buffer.write(out)
        else:
            sys.stdout.write(out)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(out, bytes):
        output.write_bytes(out)
    else:
        output.write_text(out, encoding="utf-8")
    click.echo(f"synack: wrote {output} ({len(lad.arrows)} arrows, "
               f"{sum(b.segments for b in lad.bands):,} segments collapsed)", err=True)


COMMANDS = [diagram_cmd]
