"""Zeek's endpoint machine, ported: one connection's state-relevant packets in, per packet
both endpoints' states, the originator, and the update_history() letter out.

``simulate`` runs one event signature (see ``analyzer.flows.zeek``, which builds the
signatures and maps the results back to packets). The Zeek file and function behind each
rule is named where it is used.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "B_ACK", "B_DIR", "B_FIN", "B_LEN", "B_RST", "B_SAME", "B_SYN", "CLOSED", "ESTABLISHED",
    "INACTIVE", "PARTIAL", "RESET", "SYN_ACK_SENT", "SYN_SENT", "simulate",
]

# TCP_Endpoint.h: enum EndpointState.
INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)
# Event code bits (one byte per state-relevant packet).
B_DIR, B_SYN, B_ACK, B_FIN, B_RST, B_LEN, B_SAME = 1, 2, 4, 8, 16, 32, 64
ORIG_SEEN, RESP_SEEN = 1, 2


class _Machine:
    """One Zeek connection's endpoint machine, run over its state-relevant packets.

    Physical endpoint 0 sent the connection's first packet; ``orig`` is the one Zeek
    currently calls the originator.
    """

    def __init__(self, port_flip: bool) -> None:
        self.orig = 1 if port_flip else 0       # IPBasedAnalyzer::NewConn -> FlipRoles
        self.st = [INACTIVE, INACTIVE]
        self.pv = [INACTIVE, INACTIVE]
        self.seen: set[tuple[int, str]] = set()
        self.last: list[dict[str, object]] = [{}, {}]   # hist_last_SYN/FIN/RST
        self.partial = False
        self.fps = 0                                    # first_packet_seen
        self.retro = -1
        self.rows: list[tuple[int, ...]] = []

    def _set(self, e: int, s: int) -> None:             # TCP_Endpoint::SetState
        if s != self.st[e]:
            self.pv[e], self.st[e] = self.st[e], s

    def _flip(self) -> None:                            # TCPSessionAdapter::FlipRoles
        self.orig = 1 - self.orig
        self.fps = (RESP_SEEN if self.fps & ORIG_SEEN else 0) | \
                   (ORIG_SEEN if self.fps & RESP_SEEN else 0)
        self.partial = False

    def _check(self, role: int, mask: str, code: str) -> str | None:
        """Connection::CheckHistory: the letter the first time per role, else None."""
        if (role, mask) in self.seen:
            return None
        self.seen.add((role, mask))
        return code

    def _reinit(self, e: int, syn: bool, same: bool) -> bool:
        """TCPSessionAdapter.cc init_endpoint(): does this packet reset the seq bookkeeping?"""
        s = self.st[e]
        if s == INACTIVE:
            return True
        if not syn:
            return False
        if s in (SYN_SENT, SYN_ACK_SENT):
            return not same                             # SYN_seq_jump
        if s in (ESTABLISHED, PARTIAL):
            return True
        return s == RESET and self.pv[e] == INACTIVE

    def _history(self, e: int, role: int, code: int, reinit: bool) -> str | None:
        """TCPSessionAdapter.cc update_history()."""
        syn, ack, fin, rst = (bool(code & b) for b in (B_SYN, B_ACK, B_FIN, B_RST))
        bits = syn + fin + rst
        if bits > 1:
            return self._check(role, "I", "I") if fin and rst else self._check(role, "Q", "Q")
        if bits == 1:
            kind = "S" if syn else ("F" if fin else "R")
            letter = ("H" if ack else "S") if syn else kind
            if syn and reinit:
                rel: object = 0                          # rel_seq of a (re)initialising SYN
            elif code & B_SAME:
                rel = self.last[e].get(kind, 0)          # same number as the previous one
            else:
                rel = object()                           # some other relative number
            out = self._check(role, kind, letter)
            if out is None and rel != self.last[e].get(kind, 0):
                out = letter                             # Connection::AddHistory
            self.last[e][kind] = rel
            return out
        if code & B_LEN:
            return self._check(role, "D", "D")
        return self._check(role, "A", "A") if ack else None

    def _inactive(self, e: int, is_orig: bool, code: int) -> bool:
        """TCPSessionAdapter::UpdateInactiveState(); returns True on a SYN/SYN-ACK reversal."""
        p, flipped = 1 - e, False
        if code & B_SYN:
            if is_orig:
                self._set(e, SYN_ACK_SENT if code & B_ACK else SYN_SENT)
            else:
                if not code & B_ACK and self.st[p] == SYN_ACK_SENT:
                    self._flip()
                    flipped = True
                    self._set(p, ESTABLISHED)
                    self.fps |= ORIG_SEEN
                if self.st[p] == SYN_SENT:
                    self._set(p, ESTABLISHED)
                self._set(e, ESTABLISHED)
        if code & B_FIN:
            self._set(e, CLOSED)
        if code & B_RST:
            self._set(e, RESET)
        if self.st[e] == INACTIVE:
            if not is_orig and not code & B_LEN and self.st[self.orig] == SYN_SENT:
                pass                                     # "eccentric TCP" ack of a SYN
            elif code & B_ACK and self.st[p] == ESTABLISHED:
                self._set(e, ESTABLISHED)
                self.partial = False
                self.fps |= ORIG_SEEN if is_orig else RESP_SEEN
            else:
                self._set(e, PARTIAL)
        return flipped

    def _machine(self, e: int, is_orig: bool, code: int) -> bool:
        """TCPSessionAdapter::UpdateStateMachine() and the Update*State() it dispatches to."""
        p, s = 1 - e, self.st[e]
        fin, rst = bool(code & B_FIN), bool(code & B_RST)
        if s == INACTIVE:
            return self._inactive(e, is_orig, code)
        if s in (SYN_SENT, SYN_ACK_SENT):
            if fin:
                self._set(e, CLOSED)
            if rst:
                self._set(e, RESET)
        elif s in (ESTABLISHED, PARTIAL):
            if code & B_SYN and s == PARTIAL and self.st[p] == INACTIVE and not code & B_ACK:
                self._set(e, SYN_SENT)                   # SYN_after_partial
            if fin and not rst:
                self._set(e, CLOSED)
                if self.st[p] == RESET and self.pv[p] == CLOSED:
                    self._set(p, CLOSED)                 # FIN then RST was a normal close
            if rst:
                self._set(e, RESET)
        elif s == CLOSED and rst and self.st[p] != CLOSED:
            self._set(e, RESET)
        return False

    def step(self, i: int, code: int) -> None:
        """TCPSessionAdapter::Process() for one state-relevant packet."""
        e = code & B_DIR
        ctrl = code & (B_SYN | B_FIN | B_RST)
        if (self.retro < 0 and not ctrl and code & (B_ACK | B_LEN)
                and self.st[self.orig] == SYN_ACK_SENT and self.st[1 - self.orig] == INACTIVE):
            self._flip()                                 # zeek/zeek#2191: SYN-ACK first
            self.retro = i
        is_orig = e == self.orig
        orig_pre = self.orig
        if is_orig and not self.fps & ORIG_SEEN:         # SetPartialStatus()
            self.partial = not code & B_SYN or bool(code & B_ACK)
        elif not is_orig and not self.fps & RESP_SEEN and not self.partial:
            self.partial = not code & B_SYN
        reinit = self._reinit(e, bool(code & B_SYN), bool(code & B_SAME))
        letter = self._history(e, 0 if is_orig else 1, code, reinit)
        flipped = self._machine(e, is_orig, code)
        self.fps |= ORIG_SEEN if is_orig else RESP_SEEN  # CheckPIA_FirstPacket()
        self.rows.append((*self.st, *self.pv, orig_pre, self.orig, reinit,
                          ord(letter) if letter else 0, flipped))


def simulate(sig: bytes) -> tuple[np.ndarray, int, bool]:
    """Run one event signature; per event: st0 st1 pv0 pv1 orig_pre orig_post reinit letter flip."""
    m = _Machine(bool(sig[0]))
    for i, code in enumerate(sig[1:]):
        m.step(i, code)
    out = np.array(m.rows, dtype=np.int64).reshape(-1, 9)
    return out, m.retro, m.partial
