"""`synack timing CAPTURE`: retransmission chains, profile fit and the TIME_WAIT table."""

from __future__ import annotations

import json
import sys

import click
import pandas as pd

from analyzer.render.console import print_table
from analyzer.render.timing import (
    chains_table,
    fit_table,
    retransmissions_table,
    time_wait_table,
    timing_records,
)
from analyzer.timing import PROFILE_NAMES

__all__ = ["COMMANDS"]


@click.command("timing")
@click.argument("capture")
@click.option("--conn", "conn_id", type=int, default=None,
              help="Only this connection (also lists each retransmission).")
@click.option("--profile", type=click.Choice(PROFILE_NAMES), default="auto", show_default=True,
              help="OS timing profile; auto picks the one that fits the observed timeouts.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Show every chain and TIME_WAIT row.")
@click.option("--time-wait", "time_wait", type=float, default=None,
              help="2·MSL (s) for the state timelines; default: the profile's.")
@click.option("--no-checksums", is_flag=True, help="Do not verify TCP checksums.")
def timing_cmd(capture: str, conn_id: int | None, profile: str, fmt: str, show_all: bool,
               time_wait: float | None, no_checksums: bool) -> None:
    """Retransmission backoff chains, the OS profile they fit, and TIME_WAIT of CAPTURE."""
    from analyzer.cli import _console, _load
    from analyzer.timing import get_profile

    tw_s = time_wait if time_wait is not None else \
        get_profile("linux" if profile == "auto" else profile).time_wait_s
    result = _load(capture, tw_s, not no_checksums, profile)
    if conn_id is not None:
        result.connection(conn_id)
    t = result.timing
    assert t is not None
    chains, tw, tx = t.chains, t.time_wait, t.retransmissions
    if conn_id is not None:
        chains = chains[chains["conn_id"] == conn_id]
        tw = tw[tw["conn_id"] == conn_id]
        tx = tx[tx["conn_id"] == conn_id]
    if fmt == "json":
        doc = {"source": capture, "profile": t.profile.label,
               "fit": timing_records(t.fit), "chains": timing_records(chains),
               "time_wait": timing_records(tw.astype({"host": str, "peer": str})),
               "retransmissions": timing_records(tx.drop(columns=["row"]))}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    _print(result.connections, t.fit, chains, tw, tx, conn_id, show_all, capture, _console())


def _print(conns: pd.DataFrame, fit: pd.DataFrame, chains: pd.DataFrame, tw: pd.DataFrame,
           tx: pd.DataFrame, conn_id: int | None, show_all: bool, capture: str,
           console: object) -> None:
    from rich.console import Console

    assert isinstance(console, Console)
    limit = None if show_all or conn_id is not None else 50
    print_table(fit_table(fit, f"{capture}: timing profiles (timer-driven gaps)"), console)
    if len(chains):
        print_table(chains_table(chains, f"{len(chains):,} retransmission chains", limit),
                    console)
    else:
        console.print("no retransmissions")
    if conn_id is not None and len(tx):
        print_table(retransmissions_table(tx, f"connection {conn_id}: retransmissions"),
                    console)
    t0 = int(conns["start_ns"].min()) if len(conns) else 0
    if len(tw):
        print_table(time_wait_table(tw, f"{len(tw):,} endpoints in TIME_WAIT "
                                        f"(times from the capture's start)", t0, limit),
                    console)
    else:
        console.print("no endpoint entered TIME_WAIT")


COMMANDS = [timing_cmd]
