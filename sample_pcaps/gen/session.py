"""One scenario run: the lab, its capture, and the connections the script makes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .capture import Capture
from .lab import CLIENT_V4, CLIENT_V6, SERVER_V4, SERVER_V6, Lab
from .ss import endpoint, entry, ss_dump

EMPTY_DIGEST = {"len": 0, "sha256": hashlib.sha256(b"").hexdigest()}


@dataclass
class Conn:
    """What the script did on one connection and what the kernel said about it."""

    label: str
    family: str
    client_ip: str
    server_ip: str
    server_port: int
    client_port: int | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    ss: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    socks: dict[str, int] = field(default_factory=dict)  # side -> agent socket id

    def local(self, side: str) -> str:
        ip, port = ((self.client_ip, self.client_port) if side == "client"
                    else (self.server_ip, self.server_port))
        return endpoint(ip, port or 0)

    def remote(self, side: str) -> str:
        return self.local("server" if side == "client" else "client")

    def set_digest(self, side: str, digest: dict[str, Any]) -> None:
        self.data[f"{side}_sent"] = digest["sent"]
        self.data[f"{side}_received"] = digest["received"]

    def to_json(self, index: int) -> dict[str, Any]:
        data = {key: self.data.get(key, EMPTY_DIGEST) for key in
                ("client_sent", "client_received", "server_sent", "server_received")}
        return {"id": index, "label": self.label, "family": self.family,
                "client": {"ip": self.client_ip, "port": self.client_port},
                "server": {"ip": self.server_ip, "port": self.server_port},
                "events": sorted(self.events, key=lambda e: e["t_ns"]), "data": data, "ss": self.ss,
                "expected": self.expected}


class Session:
    """Socket operations on both sides, each recorded as an event of its connection."""

    def __init__(self, lab: Lab, family: str = "ipv4") -> None:
        self.lab = lab
        self.family = family
        self.conns: list[Conn] = []
        self.capture: Capture | None = None
        self.listeners: dict[int, int] = {}

    @property
    def client_ip(self) -> str:
        return CLIENT_V6 if self.family == "ipv6" else CLIENT_V4

    @property
    def server_ip(self) -> str:
        return SERVER_V6 if self.family == "ipv6" else SERVER_V4

    def start_capture(self, dest: Path, nano: bool = False, any_iface: bool = False) -> None:
        iface = "any" if any_iface else self.lab.iface["client"]
        self.capture = Capture(self.lab.ns["client"], iface, dest, nano=nano,
                               link_type="LINUX_SLL2" if any_iface else None)
        self.capture.start()

    # ------------------------------------------------------------- sockets
    def listen(self, port: int, backlog: int = 128, addr: str | None = None) -> int:
        res = self.lab.agents["server"].call("listen", family=self.family,
                                             addr=addr or self.server_ip, port=port,
                                             backlog=backlog)
        self.listeners[port] = res["sock"]
        return int(res["sock"])

    def connect(self, label: str, port: int, server_ip: str | None = None,
                bind_port: int | None = None, timeout: float | None = 30.0,
                reuseaddr: bool = False) -> Conn:
        conn = Conn(label, self.family, self.client_ip, server_ip or self.server_ip, port)
        self.conns.append(conn)
        res = self.lab.agents["client"].call(
            "connect", timeout=(timeout or 0) + 60, family=self.family, dst=conn.server_ip,
            port=port, timeout_s=timeout, reuseaddr=reuseaddr,
            bind=[self.client_ip, bind_port] if bind_port is not None else None)
        self._connected(conn, res)
        return conn

    def _connected(self, conn: Conn, res: dict[str, Any]) -> None:
        if res.get("local"):
            conn.client_port = res["local"][1]
        self.event(conn, "client", "connect", res, errno=res["errno"])
        if "sock" in res:
            conn.socks["client"] = res["sock"]

    def accept(self, conn: Conn, port: int | None = None) -> None:
        lsock = self.listeners[port or conn.server_port]
        res = self.lab.agents["server"].call("accept", sock=lsock)
        self.event(conn, "server", "accept", res)
        conn.socks["server"] = res["sock"]

    def send(self, conn: Conn, side: str, size: int) -> dict[str, Any]:
        tag = f"{conn.label}-{side}-{len(conn.events):03d}"
        res = self.lab.agents[side].call("send", sock=conn.socks[side], tag=tag, size=size)
        self.event(conn, side, "send", res, bytes=res["bytes"], errno=res["errno"])
        return res

    def recv(self, conn: Conn, side: str, size: int | None = None,
             timeout: float = 30.0) -> dict[str, Any]:
        res = self.lab.agents[side].call("recv", timeout=timeout + 30, sock=conn.socks[side],
                                         size=size, timeout_s=timeout)
        self.event(conn, side, "recv", res, bytes=res["bytes"], eof=res["eof"],
                   errno=res["errno"])
        return res

    def shutdown(self, conn: Conn, side: str, how: str = "SHUT_WR") -> None:
        res = self.lab.agents[side].call("shutdown", sock=conn.socks[side], how=how)
        self.event(conn, side, "shutdown", res, how=how)

    def close(self, conn: Conn, side: str, linger0: bool = False) -> None:
        res = self.lab.agents[side].call("close", sock=conn.socks.pop(side), linger0=linger0)
        conn.set_digest(side, res["digest"])
        self.event(conn, side, "close", res, linger0=linger0)

    def event(self, conn: Conn, side: str, op: str, res: dict[str, Any], **extra: Any) -> None:
        ev = {"side": side, "op": op, "t_ns": res["t_ns"], "t_end_ns": res["t_end_ns"]}
        ev.update({k: v for k, v in extra.items() if v is not None})
        conn.events.append(ev)

    # ---------------------------------------------------------------- kernel view
    def snapshot(self, label: str, conns: list[Conn] | None = None) -> None:
        """``ss -tanoi`` on both sides; one row per side for each connection."""
        for side, ns in self.lab.ns.items():
            t0, t1, socks = ss_dump(ns)
            index = {(s.local, s.remote): s for s in socks}
            live = [c for c in self.conns if not c.expected.get("_superseded")]
            for conn in conns if conns is not None else live:
                if conn.client_port is None:
                    continue
                local, remote = conn.local(side), conn.remote(side)
                conn.ss.append(entry(label, side, t0, t1, local, remote,
                                     index.get((local, remote))))

    def final_digests(self) -> None:
        """Digests of the sockets the scenario left open (half-open, reset, ...)."""
        for conn in self.conns:
            for side, sid in list(conn.socks.items()):
                conn.set_digest(side, self.lab.agents[side].call("digest", sock=sid))

    def final_state(self, conn: Conn, side: str) -> str:
        """The RFC state of the last ss snapshot of this side (the kernel's final word)."""
        rows = [r for r in conn.ss if r["side"] == side]
        return str(rows[-1]["rfc_state"]) if rows else "CLOSED"
