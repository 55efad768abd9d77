"""The cross-check against Wireshark for the terminal: agreement table, flags without an
equivalent, and each class of disagreement with examples and synack's reasons."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["print_crosscheck"]


def _pct(both: int, total: int) -> str:
    return f"{100 * both / total:.1f} %" if total else "—"


def agreement_table(doc: dict[str, Any]) -> Table:
    t = Table(title=f"{doc['capture']}: synack ({doc['engine']} engine) vs tshark "
                    f"{doc['tshark_version']}", title_justify="left")
    for name, just in (("verdict", "left"), ("tshark", "right"), ("synack", "right"),
                       ("both", "right"), ("tshark only", "right"), ("synack only", "right"),
                       ("agreement", "right"), ("synack's verdict from", "left")):
        t.add_column(name, justify=just)  # type: ignore[arg-type]
    for v in doc["verdicts"]:
        agree = "—" if v["agreement"] is None else f"{100 * v['agreement']:.1f} %"
        t.add_row(v["verdict"], str(v["tshark"]), str(v["synack_count"]), str(v["both"]),
                  str(v["tshark_only"]), str(v["synack_only"]), agree, v["synack"])
    s, r, c = doc["streams"], doc["handshake_rtt"], doc["completeness"]
    t.add_section()
    t.add_row("connections (same frames)", str(s["tshark_streams"]),
              str(s["synack_connections"]), str(s["same"]),
              str(s["tshark_streams"] - s["same"]), "", _pct(s["same"], s["tshark_streams"]),
              "flows: connection of the stream's first frame")
    t.add_row("handshake RTT (± 1 µs)", "", "", str(r["agree"]), str(r["differ"]), "",
              _pct(r["agree"], r["compared"]), "connections: SYN → SYN-ACK → ACK")
    t.add_row("completeness", "", "", str(c["agree"]), str(c["differ"]), "",
              _pct(c["agree"], c["compared"]), "connections: what was seen")
    f = doc["frames"]
    t.caption = (f"TCP frames: tshark {f['tshark_tcp']:,}, synack {f['synack_tcp']:,}, "
                 f"both {f['both']:,}. 'tshark only' / 'synack only': frames (or streams) "
                 "where just one tool says yes; agreement = both / (both + either only).")
    return t


def no_equivalent_table(doc: dict[str, Any]) -> Table:
    t = Table(title="tshark flags synack has no equivalent for", title_justify="left")
    t.add_column("flag")
    t.add_column("frames", justify="right")
    t.add_column("why")
    for row in doc["no_equivalent"]:
        t.add_row(row["tshark_flag"], str(row["frames"]), row["why"])
    return t


def _example(ex: dict[str, Any]) -> str:
    where = [f"frame {ex['frame']}"] if "frame" in ex else []
    where += [f"stream {ex['stream']}"] if "stream" in ex else []
    where += [f"conn {ex['conn_id']}"] if "conn_id" in ex else []
    head = ", ".join(where)
    parts = [f"tshark: {ex['tshark']}"] if "tshark" in ex else []
    parts += [f"synack: {ex['synack']}"] if "synack" in ex else []
    return f"    {head}" + ("\n      " + "\n      ".join(parts) if parts else "")


def print_crosscheck(doc: dict[str, Any], console: Console) -> None:
    """Print the ``Crosscheck.to_dict()`` document ``doc``."""
    console.print(agreement_table(doc))
    console.print(no_equivalent_table(doc))
    classes = doc["disagreements"]
    if not classes:
        console.print("No disagreements.")
    for c in classes:
        console.print(Text(f"{c['check']}: {c['class']} — {c['count']}", style="bold"))
        for ex in c["examples"]:
            console.print(Text(_example(ex)))
    for w in doc.get("warnings", []):
        console.print(Text(f"warning: {w}", style="yellow"))
