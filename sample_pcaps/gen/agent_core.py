"""Shared state and helpers of the socket agent (agent.py); standard library only."""

from __future__ import annotations

import errno
import hashlib
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

OUT_LOCK = threading.Lock()


def payload(tag: str, size: int) -> bytes:
    """Deterministic, human-readable payload of ``size`` bytes."""
    out = bytearray()
    line = 0
    while len(out) < size:
        out += f"{tag} line {line:05d} synack sample payload\n".encode()
        line += 1
    return bytes(out[:size])


@dataclass
class Tracked:
    """A socket plus running digests of what went through it."""

    sock: socket.socket
    sent: Any = field(default_factory=hashlib.sha256)
    sent_len: int = 0
    recv: Any = field(default_factory=hashlib.sha256)
    recv_len: int = 0

    def digest(self) -> dict[str, Any]:
        return {
            "sent": {"len": self.sent_len, "sha256": self.sent.hexdigest()},
            "received": {"len": self.recv_len, "sha256": self.recv.hexdigest()},
        }


SOCKS: dict[int, Tracked] = {}
_NEXT = [1]
_SOCK_LOCK = threading.Lock()


def register(sock: socket.socket) -> int:
    with _SOCK_LOCK:
        sid = _NEXT[0]
        _NEXT[0] += 1
        SOCKS[sid] = Tracked(sock)
    return sid


def errname(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) and getattr(exc, "errno", None) is None:
        return "TIMEOUT"
    num = getattr(exc, "errno", None)
    return errno.errorcode.get(num, str(num)) if num is not None else type(exc).__name__


def family_of(name: str) -> socket.AddressFamily:
    return socket.AF_INET6 if name == "ipv6" else socket.AF_INET


def endpoint(addr: Any) -> list[Any]:
    return [addr[0], addr[1]]


def new_socket(cmd: dict[str, Any]) -> socket.socket:
    sock = socket.socket(family_of(cmd.get("family", "ipv4")), socket.SOCK_STREAM)
    if cmd.get("reuseaddr"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def bind(sock: socket.socket, cmd: dict[str, Any]) -> None:
    if cmd.get("bind") is not None:
        sock.bind((cmd["bind"][0], cmd["bind"][1]))


