"""The ladder layout model: pure data, no drawing (see the package docstring).

Coordinates: ``x`` is 0 for the client's lifeline and 1 for the server's; ``y`` runs down
in *rows* (one row is the height of one line of label text) from 0 at the lifeline heads to
:attr:`Ladder.height`. Every drawable item carries its texts as :class:`Field` objects, so
that a backend never formats a number itself and a caller can blank or rewrite any kind of
text (:meth:`Ladder.blanked`, :meth:`Ladder.map_fields`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any, Literal

__all__ = [
    "BLANK", "FIELD_KINDS", "Arrow", "Band", "Bracket", "Field", "Gap", "Ladder", "Lifeline",
    "Note", "Role", "StateMark", "Style",
]

Role = Literal["client", "server"]
Style = Literal["normal", "error", "warning", "info", "retransmission", "reset"]

FIELD_KINDS: dict[str, str] = {
    "flags": "flag names of a segment (SYN, ACK, FIN, …)",
    "seq": "sequence number (relative, or raw with --raw)",
    "ack": "acknowledgement number",
    "len": "payload length",
    "win": "advertised window (shown when it changes)",
    "opts": "handshake options (MSS, window scale, SACK permitted)",
    "step": "handshake / teardown step number (1/3 … 3/3, 1/4 … 4/4)",
    "check": "the ack arithmetic's verdict (ack = ISN+1 ✓)",
    "state": "an endpoint state (SYN_SENT, ESTABLISHED, …)",
    "time": "time since the connection's first segment",
    "retx": "retransmission mark (RTO 0.43 s ×2.0)",
    "note": "a finding's short note",
    "band": "collapsed data phase",
    "gap": "idle-gap break",
    "bracket": "TIME_WAIT 2·MSL bracket",
    "title": "lifeline titles and the diagram title",
    "legend": "the legend's lines",
    "ending": "how the connection ended (half-open, reset, still open)",
}
"""Every kind of text in a ladder, with what it holds."""

BLANK = "____"


@dataclass(frozen=True, slots=True)
class Field:
    """One piece of text: its kind, its true value (the answer) and what is drawn.

    ``text`` is usually ``label + value`` ("seq=1"); a blanked field keeps ``value`` and
    ``label`` and draws ``label + BLANK`` ("seq=____").
    """

    kind: str
    value: str
    label: str = ""
    blank: bool = False

    @property
    def text(self) -> str:
        return f"{self.label}{BLANK if self.blank else self.value}"


@dataclass(frozen=True, slots=True)
class Lifeline:
    role: Role
    x: float
    title: Field            # "client 10.0.0.1:40000"
    initial: Field          # state before the first segment (CLOSED, LISTEN, UNKNOWN)
    final: Field            # state after the last one


@dataclass(frozen=True, slots=True)
class StateMark:
    """An endpoint's state written on its lifeline where it changed."""

    role: Role
    y: float
    state: Field
    observed: bool          # False: inferred (drawn dashed/italic, "(inferred)" in text)
    frame: int              # frame that caused it, -1 for a timer (2·MSL expiry)
    cause: str


@dataclass(frozen=True, slots=True)
class Note:
    """Text attached to an arrow (or to the whole diagram when ``frame`` is -1)."""

    field: Field
    style: Style = "info"
    frame: int = -1


@dataclass(frozen=True, slots=True)
class Arrow:
    """One segment: from its sender's lifeline at ``y_send`` to the peer's at ``y_arrive``."""

    frame: int
    src: Role
    y_send: float
    y_arrive: float
    t_s: float              # capture time since the connection's first segment
    y_capture: float        # where the arrow passes the capture point
    label: tuple[Field, ...]  # flags, seq, ack, len, win, opts — in this order when present
    step: Field | None      # "1/3", "2/4+3/4" (kind "step") or None
    check: Field | None     # "ack = ISN+1 ✓" (kind "check") or None
    retx: Field | None      # "RTO 0.43 s ×2.0" (kind "retx") or None
    notes: tuple[Note, ...] = ()
    style: Style = "normal"
    time: Field | None = None

    @property
    def dst(self) -> Role:
        return "server" if self.src == "client" else "client"


@dataclass(frozen=True, slots=True)
class Band:
    """A collapsed run of data segments between ``y_top`` and ``y_bottom``."""

    y_top: float
    y_bottom: float
    first_frame: int
    last_frame: int
    segments: int
    payload_bytes: int
    retransmissions: int
    text: Field             # "… 1,204 data segments, 1.4 MB, 3 retransmissions …"


@dataclass(frozen=True, slots=True)
class Gap:
    """A break in the time axis: ``seconds`` of idle time drawn as a fixed-height cut."""

    y_top: float
    y_bottom: float
    seconds: float
    text: Field             # "idle 6.66 s"


@dataclass(frozen=True, slots=True)
class Bracket:
    """TIME_WAIT on one lifeline: from entry (``y_top``) to its end or the diagram's end."""

    role: Role
    y_top: float
    y_bottom: float
    open_end: bool          # True: TIME_WAIT goes on past the end of the capture
    text: Field             # "TIME_WAIT 2·MSL = 60 s; …"


@dataclass(frozen=True, slots=True)
class Ladder:
    """The whole diagram of one connection. Items are sorted by ``y``."""

    conn_id: int
    title: Field
    lang: str
    client: Lifeline
    server: Lifeline
    arrows: tuple[Arrow, ...]
    states: tuple[StateMark, ...]
    bands: tuple[Band, ...]
    gaps: tuple[Gap, ...]
    brackets: tuple[Bracket, ...]
    notes: tuple[Note, ...]      # diagram-level: ending, findings without a drawn arrow
    legend: tuple[Field, ...]
    height: float
    segments: int                # segments of the connection (drawn or collapsed)
    full: bool = False
    capture_x: float | None = None  # where the capture point sits (0 client … 1 server)
    rows_per_s: float = 0.0      # the time scale between breaks
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def lifeline(self, role: Role) -> Lifeline:
        return self.client if role == "client" else self.server

    def iter_fields(self) -> Iterator[Field]:
        """Every Field of the diagram (titles, labels, states, notes, …)."""
        yield from _walk(self)

    def map_fields(self, fn: Callable[[Field], Field]) -> Ladder:
        """A copy with every Field replaced by ``fn(field)`` (e.g. translated or blanked)."""
        out = _map(self, fn)
        assert isinstance(out, Ladder)
        return out

    def blanked(self, kinds: set[str] | frozenset[str],
                keep: Callable[[Field], bool] | None = None) -> Ladder:
        """A copy with the fields of ``kinds`` blanked ("seq=____"), values kept as answers.

        ``keep(field)`` may spare some of them (e.g. the client's ISN given on the sheet).
        """
        unknown = set(kinds) - set(FIELD_KINDS)
        if unknown:
            raise ValueError(f"unknown field kinds {sorted(unknown)}: choose from "
                             f"{', '.join(FIELD_KINDS)}")

        def blank(f: Field) -> Field:
            if f.kind in kinds and not (keep is not None and keep(f)):
                return replace(f, blank=True)
            return f

        return self.map_fields(blank)


def _walk(obj: object) -> Iterator[Field]:
    if isinstance(obj, Field):
        yield obj
    elif isinstance(obj, tuple):
        for item in obj:
            yield from _walk(item)
    elif is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            yield from _walk(getattr(obj, f.name))


def _map(obj: Any, fn: Callable[[Field], Field]) -> Any:
    if isinstance(obj, Field):
        return fn(obj)
    if isinstance(obj, tuple):
        return tuple(_map(item, fn) for item in obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: _map(getattr(obj, f.name), fn) for f in fields(obj)
                   if f.name != "extra"}
        return replace(obj, **changes)
    return obj
