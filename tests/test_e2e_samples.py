"""End to end on the real-kernel sample captures: our endpoint states vs the kernel's own.

Every truth file holds `ss` snapshots of both sockets taken by the generator at quiet
moments. At each snapshot time, synack's state of that endpoint (from its timeline) must
equal the kernel's. One honest exception: a kernel that closes a socket by a *timer*
after the connection's last packet (connect() giving up, tcp_retries2, FIN_WAIT_2 or
TIME_WAIT timeout) leaves nothing on the wire; there synack must still show the state
the endpoint was last seen in, and the test says which snapshots took that path.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import analyzer
from analyzer.result import AnalysisResult

SAMPLES = Path(__file__).resolve().parent.parent / "sample_pcaps"
TRUTHS = sorted(SAMPLES.glob("*.truth.json"))
WAITING = {"SYN_SENT", "SYN_RECEIVED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSING", "TIME_WAIT",
           "LAST_ACK", "CLOSE_WAIT", "ESTABLISHED"}


@cache
def load(truth_path: Path) -> tuple[dict, AnalysisResult]:
    truth = json.loads(truth_path.read_text())
    return truth, analyzer.analyze(str(SAMPLES / truth["capture"]["file"]))


def _ep(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def our_connection(result: AnalysisResult, conn: dict, t_ns: int) -> int | None:
    """Our connection with the truth connection's 4-tuple that was open at t_ns."""
    c = result.connections
    cl, sv = (conn["client"]["ip"], conn["client"]["port"]), \
        (conn["server"]["ip"], conn["server"]["port"])
    same = c[(c["client"].astype(str) == cl[0]) & (c["client_port"] == cl[1])
             & (c["server"].astype(str) == sv[0]) & (c["server_port"] == sv[1])]
    started = same[same["start_ns"] <= t_ns]
    if len(started):
        return int(started["conn_id"].iloc[-1])
    return int(same["conn_id"].iloc[0]) if len(same) else None


def state_at(result: AnalysisResult, conn_id: int, endpoint: str, t_ns: int) -> str:
    tr = result.transitions
    mine = tr[(tr["conn_id"] == conn_id) & (tr["endpoint"] == endpoint) & (tr["ts_ns"] <= t_ns)]
    if len(mine):
        return str(mine["to_state"].iloc[-1])
    return str(result.timelines.initial[conn_id][0 if endpoint == "client" else 1])


def snapshot_cases():
    for tp in TRUTHS:
        truth = json.loads(tp.read_text())
        for conn in truth["connections"]:
            for snap in conn.get("ss", []):
                yield pytest.param(tp, conn["id"], snap,
                                   id=f"{tp.stem}-c{conn['id']}-{snap['label']}-{snap['side']}")


def test_there_are_sample_captures():
    assert len(TRUTHS) >= 15


@pytest.mark.parametrize("truth_path,conn_index,snap", list(snapshot_cases()))
def test_state_matches_kernel_snapshot(truth_path, conn_index, snap):
    truth, result = load(truth_path)
    conn = next(c for c in truth["connections"] if c["id"] == conn_index)
    t = int(snap["t_ns"])
    cid = our_connection(result, conn, t)
    kernel = snap["rfc_state"] if snap.get("present") else "CLOSED"
    if cid is None:  # nothing of this connection on the wire (e.g. flood socket never sent)
        assert kernel in ("CLOSED", "SYN_SENT"), snap
        return
    ours = state_at(result, cid, snap["side"], t)
    if ours == kernel:
        return
    row = result.connections.loc[cid]
    sent = int(row["pkts_c2s"] if snap["side"] == "client" else row["pkts_s2c"])
    if ours == "UNKNOWN" and sent == 0:
        return  # an endpoint that never sent a packet: the wire holds no evidence of its state
    # Only a timer can close a socket silently; then we must show its last wire state, and
    # either nothing follows on the wire, or synack's next transition of that endpoint says
    # that it had closed earlier by a timer (e.g. a bare RST from a port with no socket).
    last_pkt = int(result.connections.loc[cid, "end_ns"])
    tr = result.transitions
    later = tr[(tr["conn_id"] == cid) & (tr["endpoint"] == snap["side"]) & (tr["ts_ns"] > t)]
    explained = len(later) and "closed earlier by a timer" in str(later["cause"].iloc[0])
    assert kernel == "CLOSED" and ours in WAITING and (t > last_pkt or explained), \
        f"kernel says {kernel}, synack says {ours} at {snap['label']} ({snap['side']})"


@pytest.mark.parametrize("truth_path", TRUTHS, ids=[t.stem for t in TRUTHS])
def test_every_truth_connection_is_found(truth_path):
    truth, result = load(truth_path)
    for conn in truth["connections"]:
        if conn.get("wire", {}).get("frames", 1) == 0:
            continue
        t0 = min((int(e["t_ns"]) for e in conn.get("events", []) if "t_ns" in e),
                 default=np.iinfo(np.int64).max)
        assert our_connection(result, conn, t0 + 10**12) is not None, conn["label"]
