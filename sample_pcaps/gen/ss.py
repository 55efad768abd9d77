"""``ss -tanoi`` inside a namespace, parsed: the kernel's own view of each socket."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from .system import in_ns

# ss state strings -> RFC 9293 state names.
RFC_STATE = {
    "ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECEIVED",
    "FIN-WAIT-1": "FIN_WAIT_1", "FIN-WAIT-2": "FIN_WAIT_2", "TIME-WAIT": "TIME_WAIT",
    "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK", "CLOSING": "CLOSING",
    "LISTEN": "LISTEN", "UNCONN": "CLOSED", "CLOSE": "CLOSED",
}


@dataclass
class SsSocket:
    state: str
    local: str
    remote: str
    timer: str | None
    info: dict[str, Any]


def _info_fields(text: str) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for key in ("rto", "backoff", "retrans", "unacked", "lost"):
        match = re.search(rf"(?:^|\s){key}:(\S+)", text)
        if match:
            info[key] = match.group(1)
    return info


def parse_ss(text: str) -> list[SsSocket]:
    socks: list[SsSocket] = []
    for line in text.splitlines()[1:]:
        if not line.strip():
            continue
        if line[0].isspace():
            if socks:
                socks[-1].info.update(_info_fields(line))
            continue
        fields = line.split()
        timer = re.search(r"timer:\(([^)]*)\)", line)
        socks.append(SsSocket(fields[0], fields[3], fields[4],
                              timer.group(1) if timer else None, {}))
    return socks


def ss_dump(ns: str) -> tuple[int, int, list[SsSocket]]:
    t0 = time.time_ns()
    out = in_ns(ns, ["ss", "-tanoi"])
    return t0, time.time_ns(), parse_ss(out)


def endpoint(ip: str, port: int) -> str:
    """An endpoint as ss prints it: ``ip:port``, ``[ipv6]:port``."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def timer_ms(timer: str | None) -> int | None:
    """Milliseconds left on an ss timer: "488ms", "1.496ms" (ss's spelling of 1.496 s),
    "59sec", "1min20sec"."""
    if not timer or timer.count(",") < 2:
        return None
    text = timer.split(",")[1]
    match = re.fullmatch(r"(?:(\d+)min)?(?:(\d+)(?:\.(\d+))?(sec|ms))?", text)
    if not match or not text:
        return None
    mins, whole, frac, unit = match.groups()
    total = int(mins or 0) * 60_000
    if unit == "sec" or (unit == "ms" and frac is not None):
        total += int(whole) * 1000 + int((frac or "0").ljust(3, "0")[:3])
    elif unit == "ms":
        total += int(whole)
    return total


def entry(label: str, side: str, t0: int, t1: int, local: str, remote: str,
          sock: SsSocket | None) -> dict[str, Any]:
    """One snapshot row; a socket that ss did not list is recorded as absent (CLOSED)."""
    row: dict[str, Any] = {"label": label, "t_ns": t0, "t_end_ns": t1, "side": side,
                           "local": local, "remote": remote, "present": sock is not None,
                           "state": sock.state if sock else "CLOSED",
                           "rfc_state": RFC_STATE.get(sock.state, sock.state) if sock
                           else "CLOSED",
                           "timer": sock.timer if sock else None,
                           "timer_ms": timer_ms(sock.timer) if sock else None}
    if sock is not None:
        for key in ("rto", "backoff", "retrans"):
            if key in sock.info:
                row[key] = sock.info[key]
    return row
