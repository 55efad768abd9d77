"""The endpoint state machine (RFC 9293 §3.10 event processing, seen from a capture point).

A capture shows a segment somewhere between its sender and its receiver, so:

* what an endpoint *sends* is certain: its own SYN, FIN or RST moves it (observed);
* what it *receives* is only probable: the segment may be lost after the capture point,
  or still in flight when the endpoint sends its next segment. Receipt transitions are
  therefore *tentative* (inferred). The endpoint's next segment settles them: its ack
  field proves which SYN/FIN it had received, a retransmission of its own SYN-ACK or FIN
  proves that the peer's ACK never arrived, and any segment after an RST proves the RST
  was not accepted. Tentative transitions that are contradicted are rolled back; a SYN or
  FIN that was merely still in flight is applied again after the endpoint's own segment
  (this is how simultaneous close and crossing segments come out right).

The machine only looks at feature codes (see ``features``), never at raw numbers, so it is
a pure function of the code sequence: the driver runs it once per distinct sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzer.tcpstate.features import (
    F_ACK,
    F_ACKS_FIN,
    F_ACKS_SYN,
    F_FIN,
    F_FROM_SERVER,
    F_RST,
    F_RST_INWIN,
    F_RST_OUT,
    F_SYN,
)
from analyzer.tcpstate.states import State

__all__ = ["Step", "Template", "run"]

S = State


@dataclass(frozen=True, slots=True)
class Step:
    """A transition in row coordinates (rows of the selected sequence, not frames)."""

    endpoint: int  # 0 client, 1 server
    cause_row: int
    at_row: int  # row at whose time it took effect (differs for a delayed receipt)
    from_state: State
    to_state: State
    cause: str
    observed: bool
    evidence_row: int = -1


@dataclass(slots=True)
class Template:
    """The machine's output for one feature sequence."""

    steps: list[Step]
    initial: tuple[State, State]
    final: tuple[State, State]
    tw_anchor: tuple[int, int]  # row that (re)started TIME_WAIT per endpoint, -1 if none


@dataclass(slots=True)
class _Tentative:
    start: int  # index in the endpoint's step list where this receipt's steps begin
    row: int
    code: int
    kind: str  # "seq" | "ack" | "rst"
    before: State
    tw_before: int
    resent: bool = False  # the sender had already sent this SYN/FIN before (a retransmission)


@dataclass(slots=True)
class _Endpoint:
    index: int
    state: State
    steps: list[Step] = field(default_factory=list)
    tentative: list[_Tentative] = field(default_factory=list)
    sent_syn: bool = False
    sent_fin: bool = False
    passive: bool = False
    tw_anchor: int = -1
    order: list[int] = field(default_factory=list)  # global event number of each step
    clock: list[int] = field(default_factory=lambda: [0])

    def move(self, cause_row: int, at_row: int, to: State, cause: str, observed: bool) -> None:
        if to != self.state:
            self.steps.append(Step(self.index, cause_row, at_row, self.state, to, cause, observed))
            self.clock[0] += 1
            self.order.append(self.clock[0])
            self.state = to

    def rollback(self, t: _Tentative) -> None:
        del self.steps[t.start:]
        del self.order[t.start:]
        self.state, self.tw_anchor = t.before, t.tw_before


def _kind(code: int) -> str:
    if code & (F_SYN | F_FIN):
        return "seq"
    if code & F_RST:
        return "rst"
    return "ack"


def _consistent(t: _Tentative, own: int) -> bool:
    """Does the endpoint's own segment ``own`` agree with having received ``t``?"""
    if own & F_RST and not own & F_ACK and t.kind != "rst":
        # An RST without ACK answers a segment for which no connection exists (RFC 9293
        # §3.10.7.1); an endpoint aborting its own connection sets ACK (Linux always does).
        return False
    if t.kind == "seq":
        if t.code & F_SYN and not own & F_ACKS_SYN:
            return False
        return not (t.code & F_FIN and not own & F_ACKS_FIN)
    if t.kind == "rst":
        return bool(own & F_RST)
    # An ACK of our SYN-ACK/FIN did not arrive if we retransmit that SYN-ACK/FIN.
    if t.code & F_ACKS_SYN and own & F_SYN:
        return False
    return not (t.code & F_ACKS_FIN and own & F_FIN)


def _resolve(ep: _Endpoint, own_row: int, own: int) -> list[_Tentative]:
    """Confirm or roll back ``ep``'s tentative receipts; return receipts still in flight."""
    requeue: list[_Tentative] = []
    for k, t in enumerate(ep.tentative):
        if _consistent(t, own):
            for j in range(t.start, len(ep.steps)):
                st = ep.steps[j]
                if st.evidence_row < 0 and st.cause_row == t.row:
                    ep.steps[j] = Step(st.endpoint, st.cause_row, st.at_row, st.from_state,
                                       st.to_state, st.cause, st.observed, own_row)
            continue
        ep.rollback(t)
        requeue = [r for r in ep.tentative[k:] if r.kind == "seq"]
        break
    ep.tentative = []
    return requeue


def _send(ep: _Endpoint, row: int, code: int) -> None:
    st = ep.state
    if code & F_RST:
        cause = "sent RST" if code & F_ACK or st in (S.CLOSED, S.UNKNOWN, S.LISTEN) else \
            "sent RST without ACK: it had no connection any more (closed earlier by a timer)"
        ep.move(row, row, S.CLOSED, cause, True)
        return
    if code & F_SYN:
        ep.sent_syn = True
        if not code & F_ACK:
            if st in (S.CLOSED, S.UNKNOWN, S.LISTEN):
                ep.move(row, row, S.SYN_SENT, "sent SYN (active open)", True)
        elif st in (S.LISTEN, S.CLOSED, S.UNKNOWN):
            ep.passive = st == S.LISTEN
            ep.move(row, row, S.SYN_RECEIVED, "sent SYN-ACK (passive open)", True)
        elif st == S.SYN_SENT:
            ep.move(row, row, S.SYN_RECEIVED, "sent SYN-ACK (simultaneous open)", True)
        return
    if st == S.UNKNOWN:
        ep.move(row, row, S.ESTABLISHED, "capture started mid-connection", False)
    elif st in (S.SYN_SENT, S.SYN_RECEIVED) and code & F_ACK:
        ep.move(row, row, S.ESTABLISHED, "handshake segment not captured", False)
    if code & F_FIN:
        ep.sent_fin = True
        if ep.state in (S.ESTABLISHED, S.SYN_RECEIVED):
            ep.move(row, row, S.FIN_WAIT_1, "sent FIN (active close)", True)
        elif ep.state == S.CLOSE_WAIT:
            ep.move(row, row, S.LAST_ACK, "sent FIN (passive close)", True)


def _receive_ack(ep: _Endpoint, row: int, at: int, code: int) -> None:
    if code & F_ACKS_SYN and ep.sent_syn:
        if ep.state == S.SYN_SENT and code & F_SYN:
            ep.move(row, at, S.ESTABLISHED, "received SYN-ACK acknowledging its SYN", False)
        elif ep.state == S.SYN_RECEIVED:
            ep.move(row, at, S.ESTABLISHED, "received ACK of its SYN", False)
    if code & F_ACKS_FIN and ep.sent_fin:
        if ep.state == S.FIN_WAIT_1:
            ep.move(row, at, S.FIN_WAIT_2, "received ACK of its FIN", False)
        elif ep.state == S.CLOSING:
            ep.move(row, at, S.TIME_WAIT, "received ACK of its FIN", False)
            ep.tw_anchor = at
        elif ep.state == S.LAST_ACK:
            ep.move(row, at, S.CLOSED, "received ACK of its FIN", False)


def _receive_fin(ep: _Endpoint, row: int, at: int) -> None:
    st = ep.state
    if st in (S.ESTABLISHED, S.UNKNOWN, S.SYN_RECEIVED):
        ep.move(row, at, S.CLOSE_WAIT, "received FIN (passive close)", False)
    elif st == S.FIN_WAIT_1:
        ep.move(row, at, S.CLOSING, "received FIN before the ACK of its own (simultaneous close)",
                False)
    elif st == S.FIN_WAIT_2:
        ep.move(row, at, S.TIME_WAIT, "received FIN", False)
        ep.tw_anchor = at
    elif st == S.TIME_WAIT:
        ep.tw_anchor = at  # a resent FIN restarts the 2·MSL timer


def _receive_rst(ep: _Endpoint, row: int, at: int, code: int) -> None:
    st = ep.state
    if st in (S.CLOSED, S.LISTEN):
        return
    if st == S.SYN_SENT:
        if code & F_ACK and code & F_ACKS_SYN:
            ep.move(row, at, S.CLOSED, "received RST acknowledging its SYN (refused)", False)
        return
    if code & F_RST_OUT:
        return
    note = " (in window, not at RCV.NXT: RFC 5961 asks for a challenge ACK)" \
        if code & F_RST_INWIN else ""
    if st == S.SYN_RECEIVED and ep.passive:
        ep.move(row, at, S.LISTEN, "received RST" + note, False)
    elif st == S.TIME_WAIT:
        ep.move(row, at, S.CLOSED, "received RST in TIME_WAIT (RFC 1337 hazard)" + note, False)
    else:
        ep.move(row, at, S.CLOSED, "received RST" + note, False)


def _same_segment_kind(a: int, b: int) -> bool:
    return (a & (F_SYN | F_FIN | F_ACK)) == (b & (F_SYN | F_FIN | F_ACK))


def _receive(ep: _Endpoint, row: int, at: int, code: int, resent: bool = False) -> None:
    kind = _kind(code)
    if kind == "seq" and ep.tentative and ep.tentative[-1].kind == "seq" \
            and _same_segment_kind(ep.tentative[-1].code, code) and ep.tentative[-1].row != row:
        # The sender resent a SYN/FIN we had tentatively delivered and got no answer to:
        # the earlier copy was lost; this copy is the candidate now.
        ep.rollback(ep.tentative.pop())
        resent = True
    before, tw_before, start = ep.state, ep.tw_anchor, len(ep.steps)
    if code & F_ACK:
        _receive_ack(ep, row, at, code)
    if code & F_SYN and not code & F_ACK and ep.state == S.SYN_SENT:
        ep.move(row, at, S.SYN_RECEIVED, "received SYN (simultaneous open)", False)
    if code & F_FIN and not code & F_SYN:
        _receive_fin(ep, row, at)
    if code & F_RST:
        _receive_rst(ep, row, at, code)
    if kind == "seq" or len(ep.steps) > start or ep.tw_anchor != tw_before:
        ep.tentative.append(_Tentative(start, row, code, kind, before, tw_before, resent))


def _settle_at_end(ep: _Endpoint) -> None:
    """A SYN/FIN that its sender had to resend and that never got an answer was not delivered."""
    for k, t in enumerate(ep.tentative):
        if t.resent and t.kind == "seq":
            ep.rollback(t)
            del ep.tentative[k:]
            return


def _initial(codes: list[int], who: int) -> State:
    mine = [c for c in codes if (c & F_FROM_SERVER) == who]
    first_all = codes[0] if codes else 0
    if not mine:
        return S.UNKNOWN
    first = mine[0]
    if first & F_SYN:
        return S.LISTEN if first & F_ACK else S.CLOSED
    if first & F_RST and first_all & F_SYN and not first_all & F_ACK:
        return S.CLOSED  # answered a SYN with RST: nothing was listening
    return S.UNKNOWN


def run(codes: list[int]) -> Template:
    """Run both endpoints through one connection's feature sequence."""
    clock = [0]
    eps = (_Endpoint(0, _initial(codes, 0), clock=clock),
           _Endpoint(1, _initial(codes, F_FROM_SERVER), clock=clock))
    initial = (eps[0].state, eps[1].state)
    for row, code in enumerate(codes):
        sender = eps[1 if code & F_FROM_SERVER else 0]
        receiver = eps[0 if code & F_FROM_SERVER else 1]
        in_flight = _resolve(sender, row, code)
        _send(sender, row, code)
        for t in in_flight:
            _receive(sender, t.row, row, t.code, t.resent)
        _receive(receiver, row, row, code)
    for ep in eps:
        _settle_at_end(ep)
    numbered = sorted(zip(eps[0].order + eps[1].order, eps[0].steps + eps[1].steps,
                          strict=True), key=lambda p: (p[1].at_row, p[0]))
    steps = [st for _, st in numbered]
    return Template(steps, initial, (eps[0].state, eps[1].state),
                    (eps[0].tw_anchor, eps[1].tw_anchor))
