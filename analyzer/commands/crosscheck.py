"""`synack crosscheck CAPTURE`: synack's verdicts against Wireshark's (tshark two-pass)."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console

from analyzer.engines import ENGINES

__all__ = ["COMMANDS"]


@click.command("crosscheck")
@click.argument("capture")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--engine", type=click.Choice(list(ENGINES)), default="auto", show_default=True,
              help="What reads the packets for synack's side (see `analyze --engine`).")
@click.option("--no-checksums", is_flag=True, help="Do not verify TCP checksums.")
def crosscheck_cmd(capture: str, as_json: bool, engine: str, no_checksums: bool) -> None:
    """Compare synack with Wireshark's TCP analysis of CAPTURE, packet by packet.

    tshark runs two-pass with its analysis preferences pinned. Prints how often both tools
    agree on each verdict (retransmission, fast/spurious retransmission, out-of-order, lost
    segment, ACKed unseen segment, duplicate ACK, zero window, keep-alive, zero-window
    probe, reused ports), on connections, handshake RTT and completeness, and every class
    of disagreement with examples and synack's reasons. Needs tshark.
    """
    from analyzer.engines.crosscheck import crosscheck
    from analyzer.errors import UsageError

    if capture == "-":
        raise UsageError("crosscheck reads the capture twice (tshark and synack): "
                         "give a file, not stdin")
    doc = crosscheck(capture, engine=engine, verify_checksums=not no_checksums).to_dict()
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    from analyzer.render.crosscheck import print_crosscheck

    console = Console() if sys.stdout.isatty() else Console(width=200)
    print_crosscheck(doc, console)


COMMANDS = [crosscheck_cmd]
