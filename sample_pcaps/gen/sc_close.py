"""Scenarios 1-5, 13, 14, 16: clean life cycles and the ways a connection closes."""

from __future__ import annotations

import time
from typing import Any

from .lab import LabConfig
from .runner import Scenario
from .session import Conn, Session
from .wire import Segment

PORT = 8080
REQ, RESP = 300, 1200


def opened(sess: Session, resp: int = RESP) -> Conn:
    """Listen, connect, accept, one request and one response."""
    sess.listen(PORT)
    conn = sess.connect("main", PORT)
    sess.accept(conn)
    sess.snapshot("after_connect")
    sess.send(conn, "client", REQ)
    sess.recv(conn, "server", REQ)
    sess.send(conn, "server", resp)
    sess.recv(conn, "client", resp)
    time.sleep(0.1)
    return conn


def close_in_turn(sess: Session, conn: Conn, first: str, delay_s: float) -> None:
    """``first`` closes; the other reads EOF and closes ``delay_s`` later."""
    second = "server" if first == "client" else "client"
    eof = sess.lab.agents[second].start("recv", sock=conn.socks[second], timeout_s=10)
    sess.close(conn, first)
    res = eof.wait()
    sess.event(conn, second, "recv", res, bytes=res["bytes"], eof=res["eof"], errno=res["errno"])
    if delay_s:
        time.sleep(delay_s / 2)
        sess.snapshot(f"{first}_closed")
        time.sleep(delay_s / 2)
    sess.close(conn, second)
    time.sleep(0.2)
    sess.snapshot(f"{second}_closed")


def expect_close(conn: Conn, closer: str, style: str, half_closed: bool = False) -> None:
    conn.expected.update({"active_closer": closer, "close_style": style,
                          "time_wait_side": closer, "half_closed": half_closed})


def body_clean(sess: Session, resp: int = RESP) -> dict[str, Any]:
    conn = opened(sess, resp)
    close_in_turn(sess, conn, "client", 0.3)
    expect_close(conn, "client", "four_way")
    return {}


def body_server_close(sess: Session) -> dict[str, Any]:
    conn = opened(sess)
    close_in_turn(sess, conn, "server", 0.3)
    expect_close(conn, "server", "four_way")
    return {}


def body_three_segment(sess: Session) -> dict[str, Any]:
    conn = opened(sess)
    close_in_turn(sess, conn, "client", 0.0)
    expect_close(conn, "client", "three_way")
    return {}


def body_simultaneous(sess: Session) -> dict[str, Any]:
    conn = opened(sess)
    at = time.time_ns() + 200_000_000
    pend = {side: sess.lab.agents[side].start("close", sock=conn.socks.pop(side), at_ns=at)
            for side in ("client", "server")}
    for side, p in pend.items():
        res = p.wait()
        conn.set_digest(side, res["digest"])
        sess.event(conn, side, "close", res, linger0=False)
    time.sleep(0.3)
    sess.snapshot("both_closed")
    conn.expected.update({"active_closer": "both", "simultaneous_close_attempted_at_ns": at})
    return {"notes": ["Both sides were told to call close() at the same CLOCK_REALTIME "
                      "instant; close_style and time_wait_side record what the wire and "
                      "ss showed (crossed FINs or not)."]}


def finalize_simultaneous(truth: dict[str, Any], segs: list[Segment]) -> None:
    """Scenario 3: the outcome is whatever happened; take it from the wire and ss."""
    conn = truth["connections"][0]
    pattern = conn["wire"]["close_pattern"]
    conn["expected"]["close_style"] = pattern
    tw = [s for s in ("client", "server") if conn["expected"][f"{s}_final_state"] == "TIME_WAIT"]
    conn["expected"]["time_wait_side"] = "both" if len(tw) == 2 else (tw[0] if tw else None)


def check_crossed(truth: dict[str, Any], segs: list[Segment]) -> list[str]:
    """Scenario 3 is re-run (a few times) until the FINs really cross on the wire."""
    pattern = truth["connections"][0]["wire"]["close_pattern"]
    return [] if pattern == "simultaneous" else [f"the FINs did not cross ({pattern})"]


def body_half_close(sess: Session) -> dict[str, Any]:
    sess.listen(PORT)
    conn = sess.connect("main", PORT)
    sess.accept(conn)
    sess.snapshot("after_connect")
    sess.send(conn, "client", REQ)
    sess.shutdown(conn, "client", "SHUT_WR")
    sess.recv(conn, "server")  # the request, then EOF
    time.sleep(0.1)
    sess.snapshot("client_shut_wr")
    for _ in range(5):
        sess.send(conn, "server", 800)
        sess.recv(conn, "client", 800)
        time.sleep(0.2)
    sess.snapshot("server_still_sending")
    close_in_turn(sess, conn, "server", 0.0)
    conn.expected.update({"active_closer": "client", "close_style": "half_close",
                          "time_wait_side": "client", "half_closed": True})
    return {}


def check_close(truth: dict[str, Any], segs: list[Segment]) -> list[str]:
    problems = []
    for conn in truth["connections"]:
        want, got = conn["expected"]["close_style"], conn["wire"]["close_pattern"]
        if want != got:
            problems.append(f"{conn['label']}: close pattern {got}, wanted {want}")
        tw = conn["expected"]["time_wait_side"]
        if tw in ("client", "server") and conn["expected"][f"{tw}_final_state"] != "TIME_WAIT":
            problems.append(f"{conn['label']}: {tw} not in TIME_WAIT at the end")
    return problems


CLEAN_DESC = ("Handshake, a 300-byte request and a 1200-byte response, then the client "
              "closes first; the server reads EOF and closes 300 ms later, so its ACK of the "
              "client's FIN (delayed ACK) and its own FIN are separate segments.")

SCENARIOS = [
    Scenario("01_clean_close", "clean life cycle, four-way close", CLEAN_DESC, body_clean,
             check=check_close),
    Scenario("02_server_close", "server-initiated close",
             "Same exchange as 01, but the server closes first and ends in TIME_WAIT; the "
             "client reads EOF and closes 300 ms later.", body_server_close, check=check_close),
    Scenario("03_simultaneous_close", "simultaneous close",
             "Both sides call close() at the same instant (busy-wait to a shared "
             "CLOCK_REALTIME deadline), re-run up to 6 times until the FINs cross; what "
             "happened is recorded from the wire and ss.",
             body_simultaneous, finalize=finalize_simultaneous, check=check_crossed,
             attempts=6),
    Scenario("04_three_segment_close", "three-segment close (FIN+ACK piggybacked)",
             "The client closes; the server closes as soon as it reads EOF, before its "
             "delayed ACK fires, so its FIN carries the ACK of the client's FIN.",
             body_three_segment, check=check_close),
    Scenario("05_half_close", "half-close: shutdown(SHUT_WR), server keeps sending",
             "The client sends a request and calls shutdown(SHUT_WR); the server keeps "
             "sending 5 x 800 bytes over ~1 s, then closes; the client reads EOF and closes.",
             body_half_close, check=check_close),
    Scenario("13_ipv6_clean_close", "IPv6 clean life cycle", "Scenario 01 over IPv6 "
             "(fd00:213::1 -> fd00:213::2).", body_clean, config=LabConfig(ipv6=True),
             family="ipv6", check=check_close),
    Scenario("14_sll2_any_nano", "clean life cycle, -i any (SLL2), ns timestamps",
             "Scenario 01 captured with tcpdump -i any -y LINUX_SLL2 --time-stamp-precision "
             "nano in the client namespace; the _ng twin is the same file converted to "
             "pcapng by editcap.", body_clean, nano=True, any_iface=True, pcapng_copy=True,
             check=check_close),
    Scenario("16_offloads_on", "capture artefact: veth offloads left on",
             "Scenario 01 with a 200 KB response and TSO/GSO/GRO and checksum offload left "
             "on: the capture shows TCP segments larger than the MSS and unfinished "
             "(partial) checksums, as a real capture on such a host does.",
             lambda sess: body_clean(sess, 200_000), config=LabConfig(offloads_off=False),
             check=check_close),
]
