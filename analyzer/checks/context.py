"""What every check needs, computed once per result: masks, groups, and finding helpers.

The checks look at the packet table through :class:`Ctx`: per-row masks (pure SYN, SYN-ACK,
FIN, RST, ACK), per-row groups (``conn*2 + direction`` of the sender and of the receiver)
and a few vectorized group operations written here so that the checks do not depend on
the internals of other stages. Helpers at the end turn row indices into :class:`Finding`
objects and numbers into "raw (rel N)" text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analyzer.checks.model import Finding, Severity
from analyzer.flows.groups import (
    NONE,
    Grouping,
    first_where,
    group_cummax_excl,
    last_value_ffill,
    last_where,
    next_where,
)
from analyzer.schema import ACK, FIN, RST, SYN

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = [
    "MOD", "NONE", "Ctx", "Sort", "context", "cummax_excl", "ffill", "first_in", "last_in",
    "make", "next_in", "num", "numz", "opt", "sort_by", "who",
]

MOD = 1 << 32


first_in = first_where  # index of the first row with mask per key, -1 where none
last_in = last_where    # index of the last row with mask per key, -1 where none


Sort = Grouping  # rows grouped by key, capture order kept (see analyzer.flows.groups)


def sort_by(keys: np.ndarray) -> Grouping:
    """The grouping of rows by key (one stable sort)."""
    return Grouping.of(keys)


def cummax_excl(keys: np.ndarray, values: np.ndarray, sort: Grouping | None = None,
                ) -> np.ndarray:
    """Per row: max of ``values`` over *earlier* rows with the same key (NONE if none)."""
    return group_cummax_excl(sort or Grouping.of(keys), values)


def ffill(keys: np.ndarray, mask: np.ndarray, values: np.ndarray,
          sort: Grouping | None = None) -> np.ndarray:
    """Per row: ``values`` of the latest row at or before it with the same key and ``mask``."""
    return last_value_ffill(sort or Grouping.of(keys), mask, values)


def next_in(keys: np.ndarray, mask: np.ndarray, sort: Grouping | None = None) -> np.ndarray:
    """Per row: index of the next row (strictly after it) with the same key and ``mask``."""
    return next_where(sort or Grouping.of(keys), mask)


@dataclass(eq=False)
class Ctx:
    """Per-capture facts shared by the checks (all NumPy, one entry per row or group)."""

    result: AnalysisResult
    cols: dict[str, np.ndarray] = field(init=False)
    memo: dict[str, object] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.cols = self.result.columns

    # --- basic per-row facts -------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.cols["frame"])

    @property
    def n_conn(self) -> int:
        return int(self.result.flows.n_conn)

    @cached_property
    def flags(self) -> np.ndarray:
        return self.cols["flags"].astype(np.int64)

    @cached_property
    def conn(self) -> np.ndarray:
        return self.result.flows.conn

    @cached_property
    def srv(self) -> np.ndarray:
        """True for server → client rows."""
        return self.result.flows.from_server.astype(bool)

    @cached_property
    def group(self) -> np.ndarray:
        """Sender group per row: conn*2 + (1 if from the server)."""
        return self.result.flows.group

    @cached_property
    def peer(self) -> np.ndarray:
        """Receiver group per row."""
        return self.result.flows.group ^ 1

    @property
    def by_conn(self) -> Grouping:
        return self.result.flows.by_conn

    @property
    def by_group(self) -> Grouping:
        return self.result.flows.by_group

    @cached_property
    def _conn_first(self) -> np.ndarray:
        """Per position of ``by_conn.order``: the position of its connection's first row."""
        starts = self.by_conn.starts
        return np.maximum.accumulate(np.where(starts, np.arange(len(starts)), 0))

    def next_from_peer(self) -> np.ndarray:
        """Per row: index of the receiver's next segment in the connection (-1 if none)."""
        got = self.memo.get("next_from_peer")
        if isinstance(got, np.ndarray):
            return got
        out = np.full(self.n, -1, dtype=np.int64)
        if self.n:
            # The first row of the next run of same-sender rows, if in the same connection.
            order, starts = self.by_conn.order, self.by_conn.starts
            srv = self.srv[order]
            run = starts.copy()
            run[1:] |= srv[1:] != srv[:-1]
            run_at = np.flatnonzero(run)
            nxt = np.append(run_at[1:], self.n)[np.cumsum(run) - 1]
            ok = nxt < self.n
            ok[ok] = ~starts[nxt[ok]]
            out[order] = np.where(ok, order[np.minimum(nxt, self.n - 1)], -1)
        self.memo["next_from_peer"] = out
        return out

    @cached_property
    def pure_syn(self) -> np.ndarray:
        return (self.flags & (SYN | ACK | RST)) == SYN

    @cached_property
    def synack(self) -> np.ndarray:
        return (self.flags & (SYN | ACK | RST)) == (SYN | ACK)

    @cached_property
    def rst(self) -> np.ndarray:
        return (self.flags & RST) != 0

    @cached_property
    def fin(self) -> np.ndarray:
        return ((self.flags & FIN) != 0) & ~self.rst & ((self.flags & SYN) == 0)

    @cached_property
    def has_ack(self) -> np.ndarray:
        return (self.flags & ACK) != 0

    @cached_property
    def plen(self) -> np.ndarray:
        return self.cols["payload_len"].astype(np.int64)

    @cached_property
    def rel_seq(self) -> np.ndarray:
        return self.result.flows.rel_seq

    @cached_property
    def rel_ack(self) -> np.ndarray:
        return self.result.flows.rel_ack

    @cached_property
    def seg_end(self) -> np.ndarray:
        return self.result.flows.seg_end

    @cached_property
    def dup(self) -> np.ndarray:
        """Rows that repeat an earlier captured copy of the same segment (not sent again)."""
        from analyzer.checks.artefacts import duplicate_mask

        return duplicate_mask(self.cols, self.result.flows)

    @cached_property
    def capture_end_ns(self) -> int:
        ts = self.cols["ts_ns"]
        return int(ts.max()) if len(ts) else 0

    @cached_property
    def sent_before(self) -> np.ndarray:
        """Per row: the highest seq end its sender had sent before it (NONE if nothing)."""
        return cummax_excl(self.group, self.seg_end, self.by_group)

    # --- connection-level helpers --------------------------------------------------------
    def raw(self, grp: int, rel: int) -> int:
        """Raw 32-bit sequence number of relative number ``rel`` in group ``grp``."""
        return int((int(self.result.flows.base[grp]) + int(rel)) % MOD)

    def isn(self, grp: int) -> int | None:
        v = int(self.result.flows.isn[grp])
        return None if v == NONE else v % MOD

    def frames(self, rows: np.ndarray | list[int]) -> tuple[int, ...]:
        """Sorted distinct frame numbers of ``rows``."""
        fr = self.cols["frame"][np.asarray(rows, dtype=np.int64)]
        return tuple(sorted(set(fr.tolist())))

    def frame(self, row: int) -> int:
        return int(self.cols["frame"][row])

    def conn_rows(self, conn: int) -> np.ndarray:
        """Row indices of one connection (capture order)."""
        lo, hi = self._conn_bounds[conn]
        return self.by_conn.order[lo:hi]

    @cached_property
    def _conn_bounds(self) -> np.ndarray:
        starts = np.flatnonzero(self.by_conn.starts)
        ends = np.append(starts[1:], self.n)
        bounds = np.zeros((self.n_conn, 2), dtype=np.int64)
        ids = self.conn[self.by_conn.order[starts]]
        bounds[ids, 0], bounds[ids, 1] = starts, ends
        return bounds

    @cached_property
    def endpoint_labels(self) -> tuple[list[str], list[str]]:
        """Per connection: "10.0.0.1:40000" of the client and of the server (IPv6: "addr.port")."""
        c = self.result.core_connections
        seps = [":" if int(v) == 4 else "." for v in c["ip_version"].tolist()]
        labels = {side: [f"{a}{sep}{p}" for a, sep, p in zip(
            c[side].tolist(), seps, c[f"{side}_port"].tolist(), strict=True)]
            for side in ("client", "server")}
        return labels["client"], labels["server"]

    def final_state(self, conn: int, endpoint: int) -> str:
        return str(self.result.timelines.final[conn, endpoint])

    @cached_property
    def _tr_sorted(self) -> tuple[pd.DataFrame, np.ndarray]:
        tr = self.result.transitions
        order = np.argsort(tr["conn_id"].to_numpy(), kind="stable")
        tr = tr.iloc[order].reset_index(drop=True)
        bounds = np.searchsorted(tr["conn_id"].to_numpy(), np.arange(self.n_conn + 1))
        return tr, bounds

    def tr_match(self, column: str, pred: Callable[[str], bool]) -> np.ndarray:
        """Mask over ``result.transitions``: rows whose ``column`` text satisfies ``pred``
        (decided once per category, not once per row)."""
        col = self.result.transitions[column]
        if isinstance(col.dtype, pd.CategoricalDtype):
            hit = [i for i, c in enumerate(col.cat.categories.tolist()) if pred(str(c))]
            return np.isin(col.cat.codes.to_numpy(), hit)
        return np.array([pred(str(v)) for v in col.tolist()], dtype=bool)

    def tr_is(self, column: str, value: str) -> np.ndarray:
        """Mask over ``result.transitions``: rows whose ``column`` is ``value``."""
        return self.tr_match(column, lambda c: c == value)

    @cached_property
    def tr_key(self) -> np.ndarray:
        """Per transition: conn*2 + endpoint (1 for the server)."""
        tr = self.result.transitions
        return tr["conn_id"].to_numpy().astype(np.int64) * 2 + self.tr_is("endpoint", "server")

    def conn_transitions(self, conn: int) -> pd.DataFrame:
        """Transitions of one connection, in order."""
        tr, bounds = self._tr_sorted
        return tr.iloc[int(bounds[conn]):int(bounds[conn + 1])]

    def state_before(self, conn: int, endpoint: int, row: int) -> str:
        """State of ``endpoint`` (0 client, 1 server) just before row ``row`` took effect."""
        tr = self.conn_transitions(conn)
        state = str(self.result.timelines.initial[conn, endpoint])
        f, t = self.frame(row), int(self.cols["ts_ns"][row])
        name = "client" if endpoint == 0 else "server"
        for r in tr.to_dict("records"):
            if str(r["endpoint"]) != name:
                continue
            at = int(r["at_frame"])
            if (at >= 0 and at < f) or (at < 0 and int(r["ts_ns"]) < t):
                state = str(r["to_state"])
        return state

    def entered(self, conn: int, endpoint: int, state: str) -> pd.DataFrame:
        """Transitions of ``endpoint`` into ``state``."""
        tr = self.conn_transitions(conn)
        name = "client" if endpoint == 0 else "server"
        return tr[(tr["endpoint"].astype(str).to_numpy() == name)
                  & (tr["to_state"].astype(str).to_numpy() == state)]


def context(result: AnalysisResult) -> Ctx:
    """The shared :class:`Ctx` of ``result`` (built once, kept on the result and reused by
    every check and by the timing stage; it goes away with the result)."""
    ctx = getattr(result, "_checks_ctx", None)
    if isinstance(ctx, Ctx) and ctx.result is result:
        return ctx
    ctx = Ctx(result)
    with contextlib.suppress(AttributeError):  # a result type that takes no attributes
        result._checks_ctx = ctx  # type: ignore[attr-defined]
    return ctx


# --- text helpers ---------------------------------------------------------------------------

def opt(v: int | np.integer) -> int | None:
    """A relative number as int, or None where it is NONE (unknown)."""
    return None if int(v) == NONE else int(v)


def num(raw: int, rel: int | None = None, note: str = "") -> str:
    """``2791437015 (ISN+1, rel 1)``: a raw number with its meaning and relative value."""
    inner = [p for p in (note, "" if rel is None else f"rel {rel}") if p]
    return f"{raw} ({', '.join(inner)})" if inner else str(raw)


def numz(raw: int, rel: int | None = None, note: str = "") -> str:
    """Chinese form of :func:`num`: ``2791437015（ISN+1，相对 1）``."""
    inner = [p for p in (note, "" if rel is None else f"相对 {rel}") if p]
    return f"{raw}（{'，'.join(inner)}）" if inner else str(raw)


def who(ctx: Ctx, conn: int, from_server: bool, zh: bool = False) -> str:
    """``client 10.0.0.1:40000`` / ``客户端 10.0.0.1:40000`` (the sender of a row)."""
    client, server = ctx.endpoint_labels
    if from_server:
        return f"服务器 {server[conn]}" if zh else f"server {server[conn]}"
    return f"客户端 {client[conn]}" if zh else f"client {client[conn]}"


def make(ctx: Ctx, check: str, conn: int, rows: list[int] | np.ndarray, *, expected: str,
         observed: str, message: str, message_zh: str, expected_rel: str = "",
         observed_rel: str = "", severity: Severity | None = None,
         main: int | None = None) -> Finding:
    """A finding from row indices (``main`` is the row the finding is about; default first)."""
    rows = [int(r) for r in rows]
    main_row = rows[0] if main is None else int(main)
    return Finding(check=check, conn_id=int(conn), frame=ctx.frame(main_row),
                   frames=ctx.frames(rows + [main_row]), expected=expected, observed=observed,
                   message=message, message_zh=message_zh, expected_rel=expected_rel,
                   observed_rel=observed_rel, severity=severity)
