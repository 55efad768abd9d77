"""Terminal rendering with rich: the connections table and a connection's state timeline."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["connections_table", "print_table", "states_table", "transition_lines"]

_SUMMARY_STYLE = {
    "CLOSED": "green", "ESTABLISHED": "cyan", "MIDSTREAM": "cyan", "HALF-CLOSED": "yellow",
    "CLOSING": "yellow", "HALF-OPEN": "red", "RESET": "magenta", "REFUSED": "magenta",
}


Justify = Literal["left", "right"]


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in rec.items()} for rec in df.to_dict("records")]


def _ms(v: float) -> str:
    return "" if pd.isna(v) else f"{v:.1f}"


def connections_table(conns: pd.DataFrame, title: str, max_rows: int | None) -> Table:
    """One line per connection: who, when, how much, how it ended."""
    table = Table(title=title, show_lines=False, header_style="bold")
    columns: tuple[tuple[str, Justify], ...] = (
        ("id", "right"), ("client → server", "left"), ("start s", "right"), ("dur s", "right"),
        ("pkts c→s/s→c", "right"), ("bytes c→s/s→c", "right"), ("RTT ms", "right"),
        ("client", "left"), ("server", "left"), ("summary", "left"), ("zeek", "left"),
        ("history", "left"))
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=name != "client → server")
    t0 = int(conns["start_ns"].min()) if len(conns) else 0
    shown = conns if max_rows is None else conns.head(max_rows)
    for r in _records(shown):
        sep = ":" if r["ip_version"] == 4 else "."
        table.add_row(
            str(r["conn_id"]),
            f"{r['client']}{sep}{r['client_port']} → {r['server']}{sep}{r['server_port']}",
            f"{(r['start_ns'] - t0) / 1e9:.3f}", f"{r['duration_s']:.3f}",
            f"{r['pkts_c2s']}/{r['pkts_s2c']}", f"{r['bytes_c2s']:,}/{r['bytes_s2c']:,}",
            _ms(r["handshake_rtt_ms"]), str(r["client_final"]), str(r["server_final"]),
            Text(str(r["summary"]), style=_SUMMARY_STYLE.get(str(r["summary"]), "")),
            str(r.get("conn_state", "")), str(r.get("history", "")),
        )
    if max_rows is not None and len(conns) > max_rows:
        table.caption = f"{len(conns) - max_rows:,} more connections not shown " \
                        "(--all, or --format csv/json)"
    return table


def states_table(timeline: pd.DataFrame, title: str, t0_ns: int) -> Table:
    """Per-packet timeline with both endpoints' states; changes in bold."""
    table = Table(title=title, header_style="bold")
    for name in ("frame", "time s", "", "flags", "seq", "ack", "len", "client state",
                 "server state"):
        right = name in ("frame", "time s", "seq", "ack", "len")
        table.add_column(name, justify="right" if right else "left")
    for r in _records(timeline):
        arrow = "→" if r["direction"] == "c2s" else "←"
        table.add_row(
            str(r["frame"]), f"{(r['ts_ns'] - t0_ns) / 1e9:.6f}", arrow, str(r["flags"]),
            str(r["rel_seq"]), "" if r["rel_ack"] < 0 else str(r["rel_ack"]),
            str(r["payload_len"]),
            Text(str(r["client_state"]), style="bold yellow" if r["client_changed"] else ""),
            Text(str(r["server_state"]), style="bold yellow" if r["server_changed"] else ""),
        )
    return table


def print_table(table: Table, console: Console | None = None) -> None:
    (console or Console()).print(table)


def transition_lines(transitions: pd.DataFrame) -> list[str]:
    """One line per state change: endpoint, from → to, the frame (or timer), how it is known."""
    lines = []
    for r in _records(transitions):
        how = "observed" if r["observed"] else "inferred"
        where = f"frame {r['frame']}" if r["frame"] >= 0 else "timer"
        lines.append(f"  {r['endpoint']!s:6} {r['from_state']!s:>12} → {r['to_state']!s:<12} "
                     f"{where:>10}  {how:8}  {r['cause']}")
    return lines
