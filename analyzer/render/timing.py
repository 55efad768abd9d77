"""Terminal rendering of the timing analysis: profile fit, backoff chains, TIME_WAIT."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table
from rich.text import Text

__all__ = ["chains_table", "fit_table", "retransmissions_table", "time_wait_table",
           "timing_records"]

_OUTCOME_STYLE = {"answered": "green", "gave_up": "red", "reset": "magenta",
                  "capture_end": "yellow", "continued": "cyan", "unknown": "dim"}
_KIND_STYLE = {"rto": "red", "fast": "yellow", "tlp": "cyan", "spurious": "magenta",
               "reply": "dim", "duplicate": "dim"}


def _nums(values: Sequence[float] | np.ndarray, fmt: str = "{:.3f}") -> str:
    return " ".join("–" if pd.isna(v) else fmt.format(v) for v in values)


def fit_table(fit: pd.DataFrame, title: str = "timing profiles") -> Table:
    """How well each OS profile explains the timer-driven gaps (chosen one in bold)."""
    table = Table(title=title, header_style="bold")
    for name in ("profile", "gaps", "fitting", "score", "mean |log ratio|"):
        table.add_column(name, justify="left" if name == "profile" else "right")
    r: Any
    for r in fit.itertuples(index=False):
        style = "bold green" if r.chosen else ""
        table.add_row(Text(str(r.label), style=style), str(r.gaps), str(r.fitting),
                      "" if pd.isna(r.score) else f"{r.score:.0%}", f"{r.mean_abs_log:.3f}")
    return table


def chains_table(chains: pd.DataFrame, title: str, max_rows: int | None = None) -> Table:
    """One line per chain: when each send went out, the gaps, the ratios, the outcome."""
    table = Table(title=title, header_style="bold")
    for name in ("chain", "conn", "dir", "segment", "orig frame", "sends", "times s",
                 "gaps s", "ratios", "kinds", "outcome"):
        table.add_column(name, justify="right" if name in ("chain", "conn", "orig frame",
                                                          "sends") else "left")
    shown = chains if max_rows is None else chains.head(max_rows)
    c: Any
    for c in shown.itertuples(index=False):
        kinds = Text(" ".join(str(k) for k in c.kinds))
        table.add_row(
            str(c.chain_id), str(c.conn_id), c.direction, f"{c.segment} @{c.rel_seq}",
            str(c.original_frame), str(c.retries + 1), _nums(c.times_s), _nums(c.gaps_s),
            _nums(c.ratios, "×{:.2f}"), kinds,
            Text(str(c.outcome), style=_OUTCOME_STYLE.get(str(c.outcome), "")))
    if max_rows is not None and len(chains) > max_rows:
        table.caption = f"{len(chains) - max_rows:,} more chains not shown (--all)"
    return table


def retransmissions_table(tx: pd.DataFrame, title: str) -> Table:
    """Every retransmitted segment with its kind, gap, backoff ratio and expected RTO."""
    table = Table(title=title, header_style="bold")
    for name in ("frame", "orig", "dir", "segment", "kind", "trigger", "retry", "timeout",
                 "gap s", "ratio", "expected s", "evidence"):
        table.add_column(name, justify="left" if name in ("dir", "segment", "kind", "trigger",
                                                          "evidence") else "right")
    r: Any
    for r in tx.itertuples(index=False):
        evidence = r.spurious_by or ("ACK lost after the capture point" if r.ack_lost else "")
        table.add_row(
            str(r.frame), str(r.original_frame), r.direction, f"{r.segment} @{r.rel_seq}",
            Text(str(r.kind), style=_KIND_STYLE.get(str(r.kind), "")), str(r.trigger),
            str(r.retry), str(r.timeout) if r.timeout else "", _nums([r.gap_s]),
            "" if pd.isna(r.ratio) else f"×{r.ratio:.2f}",
            "" if pd.isna(r.expected_rto_s) else f"{r.expected_rto_s:.3f}", evidence)
    return table


def time_wait_table(tw: pd.DataFrame, title: str, t0_ns: int,
                    max_rows: int | None = None) -> Table:
    """Who entered TIME_WAIT, when, for how long the capture shows it, and what ended it."""
    table = Table(title=title, header_style="bold")
    for name in ("conn", "endpoint", "entered s", "until", "observed s", "2·MSL s",
                 "FIN resent", "reuse"):
        table.add_column(name, justify="right" if name in ("conn", "entered s", "observed s",
                                                          "2·MSL s", "FIN resent") else "left")
    shown = tw if max_rows is None else tw.head(max_rows)
    r: Any
    for r in shown.itertuples(index=False):
        reuse = ""
        if r.reuse_conn >= 0:
            safe = "safe" if r.reuse_safe is True else "unsafe?" if r.reuse_safe is False else ""
            reuse = f"conn {r.reuse_conn} after {r.reuse_gap_s:.3f} s {safe}".strip()
        fin = "" if r.fin_resent == 0 else \
            f"{r.fin_resent} ({'re-ACKed' if r.fin_reacked_frame >= 0 else 'not ACKed'})"
        table.add_row(str(r.conn_id), f"{r.endpoint} {r.host}:{r.port}",
                      f"{(r.enter_ns - t0_ns) / 1e9:.3f}", str(r.until), f"{r.observed_s:.3f}",
                      f"{r.expected_s:g}", fin, reuse)
    if max_rows is not None and len(tw) > max_rows:
        table.caption = f"{len(tw) - max_rows:,} more not shown (--all)"
    return table


def _clean(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return [_clean(x) for x in v.tolist()]
    if isinstance(v, list):
        return [_clean(x) for x in v]
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, np.generic):
        return _clean(v.item())
    return v


def timing_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN/NA → null, arrays → lists)."""
    return [{str(k): _clean(v) for k, v in row.items()} for row in df.to_dict("records")]
