"""RFC 9293 endpoint states (§3.3.2) plus UNKNOWN, and their spellings."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["LINUX_NAMES", "State", "parse_state"]


class State(StrEnum):
    """The eleven RFC 9293 states, and UNKNOWN for a capture that starts mid-connection."""

    UNKNOWN = "UNKNOWN"
    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN_SENT"
    SYN_RECEIVED = "SYN_RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN_WAIT_1"
    FIN_WAIT_2 = "FIN_WAIT_2"
    CLOSING = "CLOSING"
    TIME_WAIT = "TIME_WAIT"
    CLOSE_WAIT = "CLOSE_WAIT"
    LAST_ACK = "LAST_ACK"

    def __str__(self) -> str:
        return self.value


# How `ss`/`netstat`/the kernel spell the states (RFC 9293 spells them with hyphens).
LINUX_NAMES: dict[str, State] = {
    "ESTAB": State.ESTABLISHED,
    "SYN-SENT": State.SYN_SENT,
    "SYN-RECV": State.SYN_RECEIVED,
    "SYN_RECV": State.SYN_RECEIVED,
    "SYN-RCVD": State.SYN_RECEIVED,
    "SYN_RCVD": State.SYN_RECEIVED,
    "FIN-WAIT-1": State.FIN_WAIT_1,
    "FIN-WAIT-2": State.FIN_WAIT_2,
    "TIME-WAIT": State.TIME_WAIT,
    "CLOSE-WAIT": State.CLOSE_WAIT,
    "LAST-ACK": State.LAST_ACK,
    "UNCONN": State.CLOSED,
}


def parse_state(text: str) -> State:
    """Accept RFC, Linux (`ss`) and netstat spellings: SYN-RECEIVED, SYN_RECV, ESTAB, ..."""
    key = text.strip().upper()
    if key in LINUX_NAMES:
        return LINUX_NAMES[key]
    return State(key.replace("-", "_"))

