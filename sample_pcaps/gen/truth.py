"""Assemble and write a truth file (schema in sample_pcaps/truth.schema.json)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any

from .lab import CLIENT_V4, CLIENT_V6, SERVER_V4, SERVER_V6, SILENT_V4, Lab
from .observe import conn_segments, observe
from .session import Session
from .wire import LINKTYPE_NAMES, FileInfo, Segment, wire_summary

SCHEMA_VERSION = 1

# The expected keys every connection carries (null when they do not apply).
EXPECTED_DEFAULTS: dict[str, Any] = {
    "handshake_completed": True, "refused": False, "reset_by": None,
    "active_closer": None, "close_style": None, "half_closed": False, "half_open": False,
    "time_wait_side": None, "client_final_state": None, "server_final_state": None,
    "syn_retry_count": 0, "syn_retry_gaps_s": None, "synack_retry_count": 0,
    "synack_retry_gaps_s": None, "data_rto_chain": None, "reused_4tuple": False,
    "connect_errno": None,
}


class Readbacks:
    """What the kernel said at the end of a run (read before the namespaces go)."""

    def __init__(self, lab: Lab) -> None:
        lab.final_counters()
        self.sysctls = lab.sysctls()
        self.offloads = lab.offloads()
        self.counters = {side: {k: v for k, v in c.items() if v} for side, c in
                         lab.counters().items()}
        self.macs = {side: lab.mac(side) for side in lab.ns}
        self.rules = [r.to_json() for r in lab.rules]


def hosts(lab: Lab, rb: Readbacks) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for side in ("client", "server"):
        v4, v6 = (CLIENT_V4, CLIENT_V6) if side == "client" else (SERVER_V4, SERVER_V6)
        out[side] = {"namespace": lab.ns[side], "interface": lab.iface[side],
                     "mac": rb.macs[side], "ipv4": v4, "ipv6": v6 if lab.cfg.ipv6 else None,
                     "extra_addresses": [SILENT_V4] if side == "server"
                     and lab.cfg.silent_address else []}
    return out


def capture_block(path: Path, info: FileInfo, sess: Session, lab: Lab, rb: Readbacks,
                  stats: dict[str, Any], converted_from: str | None) -> dict[str, Any]:
    cap = sess.capture
    assert cap is not None
    return {
        "file": path.name, "format": info.fmt, "link_type": info.linktype,
        "link_type_name": LINKTYPE_NAMES.get(info.linktype, str(info.linktype)),
        "timestamp_resolution": info.resolution, "snaplen": info.snaplen,
        "size_bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "namespace": cap.ns, "interface": cap.iface,
        "capture_point": "client namespace; frames dropped by an INPUT rule are still "
                         "captured (tcpdump sees them before netfilter)",
        "tool": "tcpdump", "command": cap.cmd, "tcpdump_stats": stats,
        "converted_from": converted_from,
        "started_ns": cap.t_start_ns, "stopped_ns": cap.t_stop_ns,
        "offloads_off": lab.cfg.offloads_off, "offloads": rb.offloads,
    }


def build(meta: dict[str, Any], sess: Session, rb: Readbacks, path: Path,
          stats: dict[str, Any], extra: dict[str, Any],
          converted_from: str | None = None) -> tuple[dict[str, Any], list[Segment]]:
    info, wire, segs = wire_summary(path)
    lab = sess.lab
    conns = []
    for i, conn in enumerate(sess.conns):
        record = conn.to_json(i)
        record["expected"] = {**EXPECTED_DEFAULTS, **conn.expected}
        record["wire"] = observe(conn, conn_segments(conn, sess.conns, segs))
        conns.append(record)
    truth = {
        "schema_version": SCHEMA_VERSION,
        "scenario": meta,
        "generator": {"script": "sample_pcaps/make_samples.py", "python": platform.python_version(),
                      "attempt": extra.pop("attempt", 1)},
        "kernel": {"release": os.uname().release, "machine": os.uname().machine},
        "sysctls": rb.sysctls,
        "capture": capture_block(path, info, sess, lab, rb, stats, converted_from),
        "hosts": hosts(lab, rb),
        "filters": rb.rules,
        "connections": conns,
        "flood": extra.pop("flood", None),
        "kernel_counters": rb.counters,
        "wire": wire,
        "notes": extra.pop("notes", []),
    }
    truth.update(extra)
    return truth, segs


def write(truth: dict[str, Any], path: Path) -> None:
    """One JSON document; each wire control frame and ss row kept on one line."""
    text = json.dumps(truth, indent=1)
    path.write_text(_compact_leaves(text) + "\n")


def _compact_leaves(text: str) -> str:
    """Re-join objects that contain no nested containers onto one line."""
    out: list[str] = []
    buf: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        opens = stripped.endswith(("{", "["))
        if buf and opens:
            out.extend(buf)
            buf = []
        if stripped.endswith("{"):
            buf = [line]
        elif buf:
            buf.append(line)
            if stripped.startswith("}"):
                out.append(buf[0] + " ".join(b.strip() for b in buf[1:]))
                buf = []
        else:
            out.append(line)
    out.extend(buf)
    return "\n".join(out)
