"""Scenarios 6-10: handshake retries, data RTO backoff, refusal, abort, half-open."""

from __future__ import annotations

import itertools
import time
from typing import Any

from .lab import CLIENT_V4, SERVER_V4, SILENT_V4, LabConfig
from .observe import data_retransmissions, nominal_synack_gaps, syn_schedule
from .runner import Scenario
from .sc_close import PORT, close_in_turn, opened
from .session import Conn, Session
from .wire import Segment

SYN_ACK = ["-p", "tcp", "--tcp-flags", "SYN,ACK", "SYN,ACK"]


def snapshots_until(sess: Session, pending_done: Any, label: str, first_s: float,
                    every_s: float, limit_s: float) -> None:
    """ss snapshots at fixed offsets (between retransmissions) until a call returns."""
    t0 = time.monotonic()
    k = 0
    while time.monotonic() - t0 < limit_s and not pending_done():
        target = t0 + first_s + k * every_s
        while time.monotonic() < target and not pending_done():
            time.sleep(0.01)
        if pending_done():
            break
        sess.snapshot(f"{label}_{k}")
        k += 1


def body_syn_retries(sess: Session) -> dict[str, Any]:
    """SYN-ACKs dropped at the client's INPUT: the client retries its SYN until it gives up."""
    cfg = sess.lab.cfg.client_sysctls
    retries, linear = int(cfg["net.ipv4.tcp_syn_retries"]), int(
        cfg["net.ipv4.tcp_syn_linear_timeouts"])
    sess.listen(PORT)
    sess.lab.drop("client", ["-s", SERVER_V4, *SYN_ACK])
    pend = sess.lab.agents["client"].start("connect", family="ipv4", dst=SERVER_V4, port=PORT,
                                           timeout_s=None, reuseaddr=False)
    conn = Conn("main", "ipv4", CLIENT_V4, SERVER_V4, PORT)
    sess.conns.append(conn)
    time.sleep(0.3)
    conn.client_port = _syn_sent_port(sess)
    done = _done_flag(sess, pend)
    snapshots_until(sess, done, "syn_retry", 0.2, 1.0, 60)
    sess._connected(conn, pend.wait(120))
    time.sleep(0.3)
    sess.snapshot("connect_failed")
    expect_syn_retries(conn, retries, linear)
    return {}


def expect_syn_retries(conn: Conn, retries: int, linear: int) -> None:
    gaps, give_up = syn_schedule(retries, linear)
    conn.expected.update({"handshake_completed": False, "syn_retry_count": len(gaps),
                          "syn_retry_gaps_s": gaps, "connect_errno": conn.events[0].get("errno"),
                          "syn_give_up_after_s": give_up, "tcp_syn_retries": retries,
                          "tcp_syn_linear_timeouts": linear})


def _syn_sent_port(sess: Session) -> int:
    from .ss import ss_dump
    _, _, socks = ss_dump(sess.lab.ns["client"])
    for s in socks:
        if s.state == "SYN-SENT":
            return int(s.local.rsplit(":", 1)[1])
    raise RuntimeError("no SYN-SENT socket found")


def _done_flag(sess: Session, pend: Any) -> Any:
    agent = sess.lab.agents["client"]

    def done() -> bool:
        with agent._cond:
            return pend.cid in agent._answers
    return done


def check_syn_retries(truth: dict[str, Any], segs: list[Segment]) -> list[str]:
    conn = truth["connections"][0]
    exp, obs = conn["expected"], conn["wire"]
    problems = []
    if exp["connect_errno"] != "ETIMEDOUT":
        problems.append(f"connect ended with {exp['connect_errno']}")
    if obs["client_syn"] != exp["syn_retry_count"] + 1:
        problems.append(f"{obs['client_syn']} SYNs on the wire")
    for nominal, seen in zip(exp["syn_retry_gaps_s"], obs["syn_gaps_s"], strict=False):
        if not nominal <= seen < nominal + 0.5:  # timers fire late, never early
            problems.append(f"SYN gap {seen} s, nominal {nominal} s")
    return problems


def syn_scenario(linear: int, retries: int) -> Scenario:
    gaps, give_up = syn_schedule(retries, linear)
    return Scenario(
        f"06_syn_retries_linear{linear}", f"SYN retries, tcp_syn_linear_timeouts={linear}",
        f"The client's INPUT drops every SYN-ACK, so its kernel retransmits the SYN "
        f"(tcp_syn_retries={retries}, tcp_syn_linear_timeouts={linear}: nominal gaps "
        f"{gaps} s, give-up after {give_up:g} s) until connect() fails with ETIMEDOUT. The "
        f"server's SYN-ACKs (and its own SYN-ACK retransmissions) are on the wire: the "
        f"capture point is before the drop.",
        body_syn_retries, check=check_syn_retries,
        config=LabConfig(client_sysctls={"net.ipv4.tcp_syn_retries": retries,
                                         "net.ipv4.tcp_syn_linear_timeouts": linear}))


def body_synack_retries(sess: Session) -> dict[str, Any]:
    """The client's handshake ACK (and every later pure ACK) dropped at the server's INPUT."""
    retries = int(sess.lab.cfg.server_sysctls["net.ipv4.tcp_synack_retries"])
    sess.listen(PORT)
    rule = sess.lab.drop("server", ["-s", CLIENT_V4, "-p", "tcp", "--tcp-flags",
                                    "SYN,ACK,FIN,RST", "ACK"])
    conn = sess.connect("main", PORT)
    done_at = time.monotonic() + sum(nominal_synack_gaps(retries)) + 2 ** retries + 1.5
    snapshots_until(sess, lambda: False, "synack_retry", 0.5, 2.0, done_at - time.monotonic())
    sess.snapshot("server_gave_up")
    sess.lab.undrop(rule)
    sess.send(conn, "client", 100)
    sess.recv(conn, "client", timeout=5)
    time.sleep(0.2)
    sess.snapshot("after_reset")
    sess.close(conn, "client")
    conn.expected.update({"handshake_completed": False, "synack_retry_count": retries,
                          "synack_retry_gaps_s": nominal_synack_gaps(retries),
                          "half_open": True, "reset_by": "server", "close_style": "abort",
                          "client_believed_established": True})
    return {"notes": ["The client's connect() returned at once (ESTABLISHED); the server "
                      "never saw the third ACK, retransmitted its SYN-ACK and dropped the "
                      "request. When the rule is removed, the client's data reaches a "
                      "server without that connection and is answered with RST."]}


def body_data_rto(sess: Session) -> dict[str, Any]:
    """Server->client traffic dropped at the client's INPUT for ~10 s, then restored."""
    conn = opened(sess)
    rule = sess.lab.drop("client", ["-s", SERVER_V4])
    pend = sess.lab.agents["client"].start("recv", sock=conn.socks["client"], size=3000,
                                           timeout_s=40)
    sess.send(conn, "server", 3000)
    snapshots_until(sess, lambda: False, "rto_backoff", 0.1, 1.0, 10.0)
    sess.lab.undrop(rule)
    res = pend.wait(60)
    sess.event(conn, "client", "recv", res, bytes=res["bytes"], eof=res["eof"],
               errno=res["errno"])
    sess.snapshot("recovered")
    close_in_turn(sess, conn, "client", 0.3)
    rtos = [r.get("rto") for r in conn.ss if r["side"] == "server"
            and r["label"].startswith("rto_backoff")]
    conn.expected.update({"active_closer": "client", "close_style": "four_way",
                          "time_wait_side": "client",
                          "data_rto_chain": {"sender": "server", "nominal_first_rto_s": 0.2,
                                             "nominal": "RTO doubles after each timeout "
                                                        "(Linux tcp_rto_min 200 ms)",
                                             "ss_rto_ms_during_outage": rtos}})
    return {}


def finalize_data_rto(truth: dict[str, Any], segs: list[Segment]) -> None:
    conn = truth["connections"][0]
    side = conn["expected"]["data_rto_chain"]["sender"]
    ends = (conn[side]["ip"], conn[side]["port"])
    sender = [s for s in segs if (s.src, s.sport) == ends]
    retx = data_retransmissions(sender)
    seqs = [r["seq"] for r in retx]
    head = max(set(seqs), key=seqs.count) if seqs else None  # the RTO chain's segment
    first = next((s.ts_ns for s in sender if s.seq == head and s.payload_len), None)
    times = [first] + [r["ts_ns"] for r in retx if r["seq"] == head] if first else []
    chain = conn["expected"]["data_rto_chain"]
    chain["observed_retransmissions"] = retx
    chain["observed_chain_seq"] = head
    chain["observed_chain_times_ns"] = times
    chain["observed_gaps_s"] = [round((b - a) / 1e9, 6) for a, b in
                                itertools.pairwise(times)]


def check_data_rto(truth: dict[str, Any], segs: list[Segment]) -> list[str]:
    chain = truth["connections"][0]["expected"]["data_rto_chain"]
    n = len(chain["observed_gaps_s"])
    return [] if n >= 5 else [f"only {n} retransmissions of the chain's segment"]


def body_refused(sess: Session) -> dict[str, Any]:
    sess.listen(PORT)
    conn = sess.connect("main", PORT + 1)
    time.sleep(0.2)
    sess.snapshot("refused")
    conn.expected.update({"handshake_completed": False, "refused": True, "reset_by": "server",
                          "connect_errno": conn.events[0].get("errno")})
    return {}


def body_linger_abort(sess: Session) -> dict[str, Any]:
    conn = opened(sess)
    pend = sess.lab.agents["server"].start("recv", sock=conn.socks["server"], timeout_s=10)
    sess.close(conn, "client", linger0=True)
    res = pend.wait()
    sess.event(conn, "server", "recv", res, bytes=res["bytes"], eof=res["eof"],
               errno=res["errno"])
    time.sleep(0.2)
    sess.snapshot("after_rst")
    sess.close(conn, "server")
    conn.expected.update({"reset_by": "client", "close_style": "abort",
                          "active_closer": "client", "server_recv_errno": res["errno"]})
    return {}


def check_errno(want: str) -> Any:
    def check(truth: dict[str, Any], segs: list[Segment]) -> list[str]:
        got = [e.get("errno") for c in truth["connections"] for e in c["events"]]
        return [] if want in got else [f"no {want} in {got}"]
    return check


def body_peer_vanished(sess: Session) -> dict[str, Any]:
    """Both INPUTs drop the peer: the server vanishes, the client retransmits into silence."""
    conn = opened(sess)
    sess.lab.drop("client", ["-s", SERVER_V4])
    sess.lab.drop("server", ["-s", CLIENT_V4])
    pend = sess.lab.agents["client"].start("recv", sock=conn.socks["client"], timeout_s=60)
    for _ in range(3):
        sess.send(conn, "client", 500)
        time.sleep(1.0)
    snapshots_until(sess, _done_flag(sess, pend), "retransmitting", 0.5, 2.0, 60)
    res = pend.wait(90)
    sess.event(conn, "client", "recv", res, bytes=res["bytes"], eof=res["eof"],
               errno=res["errno"])
    time.sleep(0.3)
    sess.snapshot("client_gave_up")
    rtos = [r.get("rto") for r in conn.ss if r["side"] == "client"
            and r["label"].startswith("retransmitting")]
    conn.expected["data_rto_chain"] = {
        "sender": "client", "nominal_first_rto_s": 0.2,
        "nominal": "RTO doubles after each timeout until tcp_retries2 is exhausted",
        "ss_rto_ms_during_outage": rtos}
    conn.expected.update({"half_open": True, "client_recv_errno": res["errno"],
                          "vanished_side": "server", "retransmitting_side": "client",
                          "retries2": sess.lab.cfg.client_sysctls["net.ipv4.tcp_retries2"]})
    return {"notes": ["The server side is still ESTABLISHED at the end (half-open); the "
                      "client gave up silently (no RST on the wire) when tcp_retries2 "
                      "was exhausted."]}


def body_syn_unanswered(sess: Session) -> dict[str, Any]:
    conn = Conn("main", "ipv4", CLIENT_V4, SILENT_V4, PORT)
    sess.conns.append(conn)
    pend = sess.lab.agents["client"].start("connect", family="ipv4", dst=SILENT_V4, port=PORT,
                                           timeout_s=None)
    time.sleep(0.3)
    conn.client_port = _syn_sent_port(sess)
    snapshots_until(sess, _done_flag(sess, pend), "syn_sent", 0.2, 1.0, 60)
    sess._connected(conn, pend.wait(120))
    sess.snapshot("connect_failed")
    cfg = sess.lab.cfg.client_sysctls
    expect_syn_retries(conn, int(cfg["net.ipv4.tcp_syn_retries"]),
                       int(cfg["net.ipv4.tcp_syn_linear_timeouts"]))
    return {}


SCENARIOS = [
    syn_scenario(0, 4),
    syn_scenario(4, 4),
    Scenario("07_synack_retries", "SYN-ACK retries (client's handshake ACK dropped)",
             "The server's INPUT drops the client's pure ACKs: the client is ESTABLISHED, the "
             "server stays in SYN_RECEIVED and retransmits its SYN-ACK (tcp_synack_retries=3) "
             "until it gives up; then the rule goes and the client's data gets an RST.",
             body_synack_retries, check=check_errno("ECONNRESET"),
             config=LabConfig(server_sysctls={"net.ipv4.tcp_synack_retries": 3})),
    Scenario("08_data_rto_backoff", "data retransmission with RTO backoff, then recovery",
             "After a normal exchange the client's INPUT drops everything from the server for "
             "~10 s while the server sends 3000 bytes: the server retransmits with "
             "exponential RTO backoff; the rule is removed, the next retransmission gets "
             "through and the connection recovers and closes cleanly.", body_data_rto,
             finalize=finalize_data_rto, check=check_data_rto),
    Scenario("09_refused", "connection refused", "connect() to a port with no listener: "
             "the SYN is answered by RST+ACK and connect() fails with ECONNREFUSED.",
             body_refused, check=check_errno("ECONNREFUSED")),
    Scenario("09_linger_abort", "abortive close with SO_LINGER 0",
             "After a normal exchange the client sets SO_LINGER {1, 0} and closes: an RST "
             "instead of a FIN; the server's recv() fails with ECONNRESET.",
             body_linger_abort, check=check_errno("ECONNRESET")),
    Scenario("10_peer_vanished", "half-open: the peer vanishes",
             "After a normal exchange both INPUTs drop the other side (the server is gone "
             "without a FIN); the client sends 3 x 500 bytes and retransmits until "
             "tcp_retries2=5 gives up (ETIMEDOUT). The server is left ESTABLISHED.",
             body_peer_vanished, check=check_errno("ETIMEDOUT"), finalize=finalize_data_rto,
             config=LabConfig(client_sysctls={"net.ipv4.tcp_retries2": 5})),
    Scenario("10_syn_unanswered", "SYN to an address that never answers",
             "connect() to 10.213.0.3, an extra address of the server namespace whose "
             "packets are all dropped at INPUT: SYN retries (tcp_syn_retries=3, linear "
             "timeouts 4: nominal gaps 1,1,1,1,1,2,4 s, give-up after 19 s) with no answer, "
             "then ETIMEDOUT.", body_syn_unanswered, check=check_syn_retries,
             config=LabConfig(silent_address=True,
                              client_sysctls={"net.ipv4.tcp_syn_retries": 3,
                                              "net.ipv4.tcp_syn_linear_timeouts": 4})),
]
