"""Scenarios 11, 12, 15: TIME_WAIT and 4-tuple reuse, SYN flood, a busy capture."""

from __future__ import annotations

import time
from typing import Any

from .lab import CLIENT_V4, SERVER_V4, LabConfig
from .runner import Scenario
from .sc_close import PORT, REQ, RESP, close_in_turn
from .session import Conn, Session
from .ss import ss_dump
from .wire import Segment

FLOOD_COUNT, FLOOD_BASE, FLOOD_BACKLOG = 300, 20000, 16
BUSY_COUNT = 300


def exchange(sess: Session, conn: Conn) -> None:
    sess.accept(conn)
    sess.send(conn, "client", REQ)
    sess.recv(conn, "server", REQ)
    sess.send(conn, "server", RESP)
    sess.recv(conn, "client", RESP)
    time.sleep(0.1)


def reuse_attempt(sess: Session, port: int, t_close: int) -> tuple[Conn, dict[str, Any]]:
    conn = sess.connect("reuse", PORT, bind_port=port, reuseaddr=True, timeout=5)
    ev = conn.events[0]
    record = {"t_ns": ev["t_ns"], "t_end_ns": ev["t_end_ns"], "bind_port": port,
              "errno": ev.get("errno"),
              "s_after_server_close": round((ev["t_ns"] - t_close) / 1e9, 3)}
    return conn, record


def body_time_wait(sess: Session) -> dict[str, Any]:
    sess.listen(PORT)
    first = sess.connect("first", PORT, reuseaddr=True)
    exchange(sess, first)
    port = first.client_port
    assert port is not None
    eof = sess.lab.agents["server"].start("recv", sock=first.socks["server"], timeout_s=10)
    sess.close(first, "client")
    res = eof.wait()
    sess.event(first, "server", "recv", res, bytes=res["bytes"], eof=res["eof"])
    time.sleep(0.15)
    sess.snapshot("client_fin_wait_2")
    # Exactly one 52-byte pure ACK (20 IP + 32 TCP with timestamps) from the client dropped.
    rule = sess.lab.drop("server", ["-s", CLIENT_V4, "-p", "tcp", "--sport", str(port),
                                    "--tcp-flags", "ALL", "ACK", "-m", "quota", "--quota", "52"])
    sess.close(first, "server")
    time.sleep(0.08)
    sess.snapshot("server_last_ack")
    time.sleep(0.8)
    sess.snapshot("after_fin_resent")
    sess.lab.undrop(rule)
    t_fin = next(e["t_ns"] for e in first.events if e["side"] == "server" and e["op"] == "close")
    attempts = []
    conn, rec = reuse_attempt(sess, port, t_fin)
    attempts.append(rec)
    if rec["errno"] is not None:
        sess.conns.remove(conn)
        time.sleep(1.5)
        conn, rec = reuse_attempt(sess, port, t_fin)
        attempts.append(rec)
    allowed = rec["errno"] is None
    first.expected["_superseded"] = allowed
    first.expected.update({
        "active_closer": "client", "close_style": "four_way", "time_wait_side": "client",
        "fin_resent_by": "server", "dropped_final_acks": rule.packets,
        "time_wait_ended_by": "4-tuple reuse" if allowed else None})
    if allowed:  # the kernel replaced the TIME_WAIT socket by the new connection
        first.expected["client_final_state"] = "CLOSED"
    if allowed:
        exchange(sess, conn)
        sess.snapshot("reused_open", [conn])
        close_in_turn(sess, conn, "client", 0.3)
        conn.expected.update({"reused_4tuple": True, "active_closer": "client",
                              "close_style": "four_way", "time_wait_side": "client"})
    else:
        sess.conns.remove(conn)
    return {"time_wait_reuse": {"client_port": port, "attempts": attempts, "allowed": allowed,
                                "method": "bind() to the TIME_WAIT socket's port with "
                                          "SO_REUSEADDR (both sockets), then connect()"}}


def check_time_wait(truth: dict[str, Any], segs: list[Segment]) -> list[str]:
    first = truth["connections"][0]
    problems = []
    if first["wire"]["server_fin"] < 2:
        problems.append("the server's FIN was not resent")
    if first["expected"]["dropped_final_acks"] != 1:
        problems.append(f"dropped {first['expected']['dropped_final_acks']} ACKs, not 1")
    if not any(r["state"] == "TIME-WAIT" for r in first["ss"] if r["side"] == "client"):
        problems.append("no TIME-WAIT snapshot")
    return problems


def syn_recv_count(sess: Session) -> int:
    _, _, socks = ss_dump(sess.lab.ns["server"])
    return sum(1 for s in socks if s.state == "SYN-RECV")


def body_flood(sess: Session) -> dict[str, Any]:
    sess.listen(PORT, backlog=FLOOD_BACKLOG)
    last = FLOOD_BASE + FLOOD_COUNT - 1
    sess.lab.drop("client", ["-s", SERVER_V4, "-p", "tcp", "--sport", str(PORT),
                             "--dport", f"{FLOOD_BASE}:{last}"])
    t0 = time.monotonic()
    res = sess.lab.agents["client"].call("flood", src=CLIENT_V4, dst=SERVER_V4, port=PORT,
                                         count=FLOOD_COUNT, base_port=FLOOD_BASE, hold_s=0.3)
    after_flood = syn_recv_count(sess)
    conn = sess.connect("legit", PORT)
    exchange(sess, conn)
    close_in_turn(sess, conn, "client", 0.3)
    conn.expected.update({"active_closer": "client", "close_style": "four_way",
                          "time_wait_side": "client"})
    synack_retries = int(sess.lab.cfg.server_sysctls["net.ipv4.tcp_synack_retries"])
    while time.monotonic() - t0 < 2 ** (synack_retries + 1) - 1 + 0.8:
        time.sleep(0.1)
    counters = sess.lab.agents["server"].call("netstat")["counters"]
    sent = counters.get("TcpExt.SyncookiesSent", 0)
    return {"flood": {
        "attacker": {"side": "client", "ip": CLIENT_V4},
        "method": "non-blocking connect() from fixed source ports; the attacker's INPUT drops "
                  "every answer to those ports; sockets closed (no packet) before the "
                  "first SYN retransmission",
        "target": {"ip": SERVER_V4, "port": PORT}, "listen_backlog": FLOOD_BACKLOG,
        "count": FLOOD_COUNT, "source_port_first": FLOOD_BASE, "source_port_last": last,
        "syns": res["syns"], "sockets_closed_t_ns": res["closed_t_ns"],
        "server_syn_recv_sockets": {"after_flood": after_flood, "at_end": syn_recv_count(sess)},
        "syncookies_appeared": sent > 0,
        "server_counters": {k.split(".", 1)[1]: counters.get(k, 0) for k in (
            "TcpExt.SyncookiesSent", "TcpExt.SyncookiesRecv", "TcpExt.SyncookiesFailed",
            "TcpExt.ListenOverflows", "TcpExt.ListenDrops", "TcpExt.TCPReqQFullDoCookies",
            "TcpExt.TCPReqQFullDrop", "Tcp.PassiveOpens")}}}


def check_flood(truth: dict[str, Any], segs: list[Segment]) -> list[str]:
    flood = truth["flood"]
    syns = [s for s in segs if s.flags & 0x12 == 0x02
            and flood["source_port_first"] <= s.sport <= flood["source_port_last"]]
    return [] if len(syns) == flood["count"] else [f"{len(syns)} flood SYNs on the wire"]


def body_busy(sess: Session) -> dict[str, Any]:
    lsock = sess.listen(PORT, backlog=1024)
    loss = ["-p", "tcp", "-m", "statistic", "--mode", "random", "--probability", "0.02"]
    sess.lab.drop("client", ["-s", SERVER_V4, *loss])
    sess.lab.drop("server", ["-s", CLIENT_V4, *loss])
    srv = sess.lab.agents["server"].start("busy_server", sock=lsock, count=BUSY_COUNT,
                                          timeout_s=6)
    cli = sess.lab.agents["client"].call("busy_clients", timeout=180, dst=SERVER_V4,
                                         port=PORT, count=BUSY_COUNT, start_spread_s=1.0,
                                         timeout_s=20)
    servers = {rec["peer"][1]: rec for rec in srv.wait(180)["servers"]}
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and _server_busy(sess):
        time.sleep(0.2)
    for rec in cli["clients"]:
        _busy_conn(sess, rec, servers.get(rec["local"][1]) if rec["local"] else None)
    failed = sum(1 for c in cli["clients"] if c["errno"])
    return {"notes": [f"{BUSY_COUNT} clients started within 1 s; {failed} ended with an "
                      "error. Each: connect, request, shutdown(SHUT_WR), read the response "
                      "to EOF, close; the server answers after EOF and closes. 2% random "
                      "loss at both INPUTs."]}


def _server_busy(sess: Session) -> bool:
    _, _, socks = ss_dump(sess.lab.ns["server"])
    return any(s.state not in ("LISTEN",) for s in socks)


def _busy_conn(sess: Session, crec: dict[str, Any], srec: dict[str, Any] | None) -> None:
    conn = Conn(f"c{crec['index']:03d}", "ipv4", CLIENT_V4, SERVER_V4, PORT,
                client_port=crec["local"][1] if crec["local"] else None)
    conn.events = crec["events"] + (srec["events"] if srec else [])
    conn.set_digest("client", crec["digest"])
    if srec:
        conn.set_digest("server", srec["digest"])
    conn.expected.update({"active_closer": "client", "close_style": "half_close",
                          "half_closed": True, "time_wait_side": "client",
                          "connect_errno": crec["errno"] if not srec else None,
                          "handshake_completed": srec is not None})
    sess.conns.append(conn)


SCENARIOS = [
    Scenario("11_time_wait", "TIME_WAIT, resent FIN, 4-tuple reuse",
             "The client closes first; the server's INPUT drops the client's ACK of the "
             "server's FIN once, so the server resends its FIN and the client, in TIME_WAIT, "
             "ACKs again. Then a new connection from the same client port to the same "
             "server port (SO_REUSEADDR + bind) while the old one is in TIME_WAIT.",
             body_time_wait, check=check_time_wait,
             config=LabConfig(client_sysctls={"net.ipv4.tcp_tw_reuse": 1})),
    Scenario("12_syn_flood", "SYN flood", f"{FLOOD_COUNT} kernel SYNs from source ports "
             f"{FLOOD_BASE}-{FLOOD_BASE + FLOOD_COUNT - 1} to one listening port "
             f"(backlog {FLOOD_BACKLOG}), never completed; then one legitimate connection. "
             "Whether SYN cookies were sent is read from the server's counters.",
             body_flood, check=check_flood,
             config=LabConfig(server_sysctls={"net.ipv4.tcp_synack_retries": 2,
                                              "net.ipv4.tcp_syncookies": 1})),
    Scenario("15_busy", "busy: hundreds of concurrent short connections with loss",
             f"{BUSY_COUNT} concurrent short connections (request, half-close, response, "
             "close) with 2% random loss in both directions (iptables statistic at INPUT).",
             body_busy),
]
