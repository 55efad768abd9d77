"""`synack annotate CAPTURE -o annotated.pcapng`: the capture with packet comments."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["COMMANDS"]


@click.command("annotate")
@click.argument("capture")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="The annotated pcapng to write.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the comments.")
@click.option("--profile", default="auto", show_default=True,
              help="Timing profile for the retransmission comments (see `timing`).")
@click.option("--time-wait", "time_wait", type=float, default=60.0, show_default=True,
              help="2·MSL in seconds assumed for TIME_WAIT expiry.")
@click.option("--no-checksums", is_flag=True, help="Do not verify TCP checksums.")
def annotate_cmd(capture: str, output: Path, lang: str, profile: str, time_wait: float,
                 no_checksums: bool) -> None:
    """The same packets, bit for bit, in pcapng with a comment on each segment that matters
    (handshake and teardown steps, state changes, retransmissions, findings): open it in
    Wireshark and filter with `frame.comment`."""
    from analyzer.cli import _load
    from analyzer.errors import UsageError
    from analyzer.render.annotate import write_annotated

    if capture == "-":
        raise UsageError("annotate reads the capture twice: give a file, not stdin")
    result = _load(capture, time_wait, not no_checksums, profile)
    output.parent.mkdir(parents=True, exist_ok=True)
    stats = write_annotated(result, output, lang)
    for w in stats.warnings:
        click.echo(f"synack: warning: {w}", err=True)
    click.echo(f"synack: wrote {output}: {stats.frames:,} frames, {stats.comments:,} comments "
               f"on {stats.commented:,} of them", err=True)


COMMANDS = [annotate_cmd]
