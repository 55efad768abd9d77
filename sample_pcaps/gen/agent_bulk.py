"""Bulk modes of the socket agent: a SYN flood and many concurrent short connections."""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
import time
from typing import Any

from agent_core import SOCKS, Tracked, endpoint, errname, family_of, payload


def op_flood(cmd: dict[str, Any]) -> dict[str, Any]:
    """Non-blocking connect() from ``count`` fixed source ports; close before the SYN retry."""
    fam = family_of(cmd.get("family", "ipv4"))
    socks: list[socket.socket] = []
    sent: list[dict[str, Any]] = []
    for i in range(cmd["count"]):
        sock = socket.socket(fam, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind((cmd["src"], cmd["base_port"] + i))
        t0 = time.time_ns()
        rc = sock.connect_ex((cmd["dst"], cmd["port"]))
        sent.append({"port": cmd["base_port"] + i, "t_ns": t0,
                     "errno": errno.errorcode.get(rc, str(rc)) if rc else None})
        socks.append(sock)
        if cmd.get("gap_s"):
            time.sleep(cmd["gap_s"])
    time.sleep(cmd.get("hold_s", 0.3))
    t_close = time.time_ns()
    for sock in socks:
        sock.close()
    return {"syns": sent, "closed_t_ns": t_close}


def busy_one_client(cmd: dict[str, Any], idx: int, out: list[dict[str, Any]]) -> None:
    rec: dict[str, Any] = {"index": idx, "events": [], "errno": None, "local": None}
    time.sleep(cmd["start_spread_s"] * ((idx * 7919) % 1000) / 1000.0)
    sock = socket.socket(family_of(cmd.get("family", "ipv4")), socket.SOCK_STREAM)
    sock.settimeout(cmd["timeout_s"])
    tr = Tracked(sock)
    try:
        ev = {"side": "client", "op": "connect", "t_ns": time.time_ns()}
        sock.connect((cmd["dst"], cmd["port"]))
        ev["t_end_ns"] = time.time_ns()
        rec["events"].append(ev)
        rec["local"] = endpoint(sock.getsockname())
        size = 40 + (idx * 53) % 260
        data = payload(f"c{idx:03d}", size)
        ev = {"side": "client", "op": "send", "t_ns": time.time_ns(), "bytes": size}
        sock.sendall(data)
        ev["t_end_ns"] = time.time_ns()
        rec["events"].append(ev)
        tr.sent.update(data)
        tr.sent_len += size
        ev = {"side": "client", "op": "shutdown", "how": "SHUT_WR", "t_ns": time.time_ns()}
        sock.shutdown(socket.SHUT_WR)
        ev["t_end_ns"] = time.time_ns()
        rec["events"].append(ev)
        ev = {"side": "client", "op": "recv", "t_ns": time.time_ns()}
        while chunk := sock.recv(65536):
            tr.recv.update(chunk)
            tr.recv_len += len(chunk)
        ev.update({"t_end_ns": time.time_ns(), "bytes": tr.recv_len, "eof": True})
        rec["events"].append(ev)
    except OSError as exc:
        rec["errno"] = errname(exc)
        if rec["local"] is None:
            with contextlib.suppress(OSError):
                rec["local"] = endpoint(sock.getsockname())
    ev = {"side": "client", "op": "close", "t_ns": time.time_ns()}
    sock.close()
    ev["t_end_ns"] = time.time_ns()
    rec["events"].append(ev)
    rec["digest"] = tr.digest()
    out.append(rec)


def op_busy_clients(cmd: dict[str, Any]) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    threads = [threading.Thread(target=busy_one_client, args=(cmd, i, out))
               for i in range(cmd["count"])]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return {"clients": sorted(out, key=lambda r: r["index"])}


def busy_one_server(conn: socket.socket, peer: Any, t_acc: list[int],
                    out: list[dict[str, Any]]) -> None:
    rec: dict[str, Any] = {"peer": endpoint(peer), "local": endpoint(conn.getsockname()),
                           "events": [{"side": "server", "op": "accept", "t_ns": t_acc[0],
                                       "t_end_ns": t_acc[1]}], "errno": None}
    tr = Tracked(conn)
    conn.settimeout(30.0)
    try:
        ev = {"side": "server", "op": "recv", "t_ns": time.time_ns()}
        while chunk := conn.recv(65536):
            tr.recv.update(chunk)
            tr.recv_len += len(chunk)
        ev.update({"t_end_ns": time.time_ns(), "bytes": tr.recv_len, "eof": True})
        rec["events"].append(ev)
        size = 100 + (peer[1] * 37) % 1100
        data = payload(f"s{peer[1]}", size)
        ev = {"side": "server", "op": "send", "t_ns": time.time_ns(), "bytes": size}
        conn.sendall(data)
        ev["t_end_ns"] = time.time_ns()
        rec["events"].append(ev)
        tr.sent.update(data)
        tr.sent_len += size
    except OSError as exc:
        rec["errno"] = errname(exc)
    ev = {"side": "server", "op": "close", "t_ns": time.time_ns()}
    conn.close()
    ev["t_end_ns"] = time.time_ns()
    rec["events"].append(ev)
    rec["digest"] = tr.digest()
    out.append(rec)


def op_busy_server(cmd: dict[str, Any]) -> dict[str, Any]:
    lsock = SOCKS[cmd["sock"]].sock
    lsock.settimeout(cmd["timeout_s"])
    out: list[dict[str, Any]] = []
    threads: list[threading.Thread] = []
    try:
        for _ in range(cmd["count"]):
            t0 = time.time_ns()
            conn, peer = lsock.accept()
            th = threading.Thread(target=busy_one_server,
                                  args=(conn, peer, [t0, time.time_ns()], out))
            th.start()
            threads.append(th)
    except OSError:
        pass
    for th in threads:
        th.join()
    return {"servers": out}


