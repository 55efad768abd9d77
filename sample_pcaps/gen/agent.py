#!/usr/bin/env python3
"""Socket agent: runs inside one network namespace (``ip netns exec NS python3 agent.py``).

It reads JSON commands, one per line, on stdin and answers each with one JSON line on
stdout: ``{"id": N, "ok": true, "result": {...}}``. Every command runs in its own thread,
so a blocking call (a connect() that retries its SYN, a recv() waiting for data) can be
in flight while the orchestrator does something else. Socket errors (ECONNREFUSED,
ETIMEDOUT, ...) are results, not agent failures: they come back as ``"errno": "NAME"``.

Every socket call is timed with CLOCK_REALTIME (``time.time_ns()``), the clock tcpdump
stamps packets with, just before (``t_ns``) and just after (``t_end_ns``) the syscall.

Standard library only: this file is executed directly inside a namespace (not imported);
it imports its two siblings agent_core.py and agent_bulk.py from its own directory.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from agent_bulk import op_busy_clients, op_busy_server, op_flood
from agent_core import (
    OUT_LOCK,
    SOCKS,
    bind,
    endpoint,
    errname,
    new_socket,
    payload,
    register,
)

# --------------------------------------------------------------------------- commands


def op_listen(cmd: dict[str, Any]) -> dict[str, Any]:
    sock = new_socket({**cmd, "reuseaddr": True})
    bind(sock, {"bind": [cmd["addr"], cmd["port"]]})
    sock.listen(cmd.get("backlog", 128))
    return {"sock": register(sock), "local": endpoint(sock.getsockname())}


def op_accept(cmd: dict[str, Any]) -> dict[str, Any]:
    lsock = SOCKS[cmd["sock"]].sock
    lsock.settimeout(cmd.get("timeout", 30.0))
    t0 = time.time_ns()
    conn, peer = lsock.accept()
    t1 = time.time_ns()
    conn.settimeout(None)
    sid = register(conn)
    return {"sock": sid, "peer": endpoint(peer), "local": endpoint(conn.getsockname()),
            "t_ns": t0, "t_end_ns": t1}


def op_connect(cmd: dict[str, Any]) -> dict[str, Any]:
    sock = new_socket(cmd)
    if cmd.get("timeout_s") is not None:
        sock.settimeout(cmd["timeout_s"])
    out: dict[str, Any] = {"errno": None}
    t0 = time.time_ns()
    try:
        bind(sock, cmd)
        sock.connect((cmd["dst"], cmd["port"]))
    except OSError as exc:
        out["errno"] = errname(exc)
    t1 = time.time_ns()
    sock.settimeout(None)
    out.update({"t_ns": t0, "t_end_ns": t1})
    try:
        out["local"] = endpoint(sock.getsockname())
    except OSError:
        out["local"] = None
    if out["errno"] is None:
        out["sock"] = register(sock)
    else:
        sock.close()
    return out


def op_send(cmd: dict[str, Any]) -> dict[str, Any]:
    tr = SOCKS[cmd["sock"]]
    data = payload(cmd["tag"], cmd["size"])
    t0 = time.time_ns()
    try:
        tr.sock.sendall(data)
    except OSError as exc:
        return {"t_ns": t0, "t_end_ns": time.time_ns(), "bytes": 0, "errno": errname(exc)}
    t1 = time.time_ns()
    tr.sent.update(data)
    tr.sent_len += len(data)
    return {"t_ns": t0, "t_end_ns": t1, "bytes": len(data), "errno": None}


def op_recv(cmd: dict[str, Any]) -> dict[str, Any]:
    """Read ``size`` bytes, or until EOF when size is absent (or an error / timeout)."""
    tr = SOCKS[cmd["sock"]]
    want = cmd.get("size")
    tr.sock.settimeout(cmd.get("timeout_s", 30.0))
    got, eof, err = 0, False, None
    t0 = time.time_ns()
    try:
        while want is None or got < want:
            chunk = tr.sock.recv(65536 if want is None else min(65536, want - got))
            if not chunk:
                eof = True
                break
            got += len(chunk)
            tr.recv.update(chunk)
            tr.recv_len += len(chunk)
    except OSError as exc:
        err = errname(exc)
    t1 = time.time_ns()
    tr.sock.settimeout(None)
    return {"t_ns": t0, "t_end_ns": t1, "bytes": got, "eof": eof, "errno": err}


def op_shutdown(cmd: dict[str, Any]) -> dict[str, Any]:
    how = {"SHUT_RD": socket.SHUT_RD, "SHUT_WR": socket.SHUT_WR, "SHUT_RDWR": socket.SHUT_RDWR}
    t0 = time.time_ns()
    SOCKS[cmd["sock"]].sock.shutdown(how[cmd.get("how", "SHUT_WR")])
    return {"t_ns": t0, "t_end_ns": time.time_ns(), "how": cmd.get("how", "SHUT_WR")}


def op_close(cmd: dict[str, Any]) -> dict[str, Any]:
    """close(), optionally with SO_LINGER {on, 0} (abortive: RST) or at a given time."""
    tr = SOCKS[cmd["sock"]]
    if cmd.get("linger0"):
        tr.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    at = cmd.get("at_ns")
    if at is not None:
        while time.time_ns() < at - 2_000_000:
            time.sleep(0.0005)
        while time.time_ns() < at:
            pass
    result = {"digest": tr.digest(), "linger0": bool(cmd.get("linger0"))}
    t0 = time.time_ns()
    tr.sock.close()
    return {**result, "t_ns": t0, "t_end_ns": time.time_ns()}


def op_digest(cmd: dict[str, Any]) -> dict[str, Any]:
    return dict(SOCKS[cmd["sock"]].digest())


def op_sysctl_set(cmd: dict[str, Any]) -> dict[str, Any]:
    for key, value in cmd["items"].items():
        try:
            with open("/proc/sys/" + key.replace(".", "/"), "w") as fh:
                fh.write(str(value))
        except OSError as exc:
            raise OSError(exc.errno, f"{key}={value}: {exc.strerror}") from exc
    return {}


def op_sysctl_get(cmd: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in cmd["keys"]:
        try:
            with open("/proc/sys/" + key.replace(".", "/")) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        values[key] = int(text) if text.lstrip("-").isdigit() else text
    return {"values": values}


def op_netstat(cmd: dict[str, Any]) -> dict[str, Any]:
    """The namespace's TcpExt/Tcp counters (/proc/net/netstat and /proc/net/snmp)."""
    counters: dict[str, int] = {}
    for path in ("/proc/net/netstat", "/proc/net/snmp"):
        with open(path) as fh:
            lines = fh.read().splitlines()
        for head, vals in zip(lines[0::2], lines[1::2], strict=False):
            prefix, names = head.split(":", 1)
            if prefix not in ("TcpExt", "Tcp"):
                continue
            for name, val in zip(names.split(), vals.split(":", 1)[1].split(), strict=False):
                counters[f"{prefix}.{name}"] = int(val)
    return {"counters": counters}



OPS = {
    "listen": op_listen,
    "accept": op_accept,
    "connect": op_connect,
    "send": op_send,
    "recv": op_recv,
    "shutdown": op_shutdown,
    "close": op_close,
    "digest": op_digest,
    "sysctl_set": op_sysctl_set,
    "sysctl_get": op_sysctl_get,
    "netstat": op_netstat,
    "flood": op_flood,
    "busy_clients": op_busy_clients,
    "busy_server": op_busy_server,
}


def reply(msg: dict[str, Any]) -> None:
    line = json.dumps(msg)
    with OUT_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def handle(cmd: dict[str, Any]) -> None:
    try:
        result = OPS[cmd["op"]](cmd)
        reply({"id": cmd["id"], "ok": True, "result": result})
    except Exception as exc:  # reported to the orchestrator, which raises
        reply({"id": cmd["id"], "ok": False, "error": f"{type(exc).__name__}: {exc}"})


def main() -> None:
    reply({"id": 0, "ok": True, "result": {"pid": os.getpid(), "ready": True}})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            break
        threading.Thread(target=handle, args=(cmd,), daemon=True).start()
    os._exit(0)


if __name__ == "__main__":
    main()
