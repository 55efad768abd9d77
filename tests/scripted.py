"""Build packet-table columns from a short script of segments, for unit tests.

Each step is ``(direction, flags, seq, ack, length[, t_seconds][, columns])`` where
direction is "c" (client → server) or "s", flags a string of S A F R P, and seq/ack raw
numbers. The optional ``columns`` dict sets any other packet-table column of that row
(e.g. ``{"opt_wscale": 7, "opt_tfo": 1, "csum_ok": 0, "ip_id": 5}``).
"""

from __future__ import annotations

import numpy as np

from analyzer.schema import ACK, FIN, PACKET_COLUMNS, PSH, RST, SYN

FLAG_BITS = {"S": SYN, "A": ACK, "F": FIN, "R": RST, "P": PSH}
ADDRESSES = ["10.0.0.1", "10.0.0.2"]


def columns(script: list[tuple], cport: int = 40000, sport: int = 80,
            window: int = 64000) -> dict[str, np.ndarray]:
    n = len(script)
    cols = {name: np.zeros(n, dtype=dt) for name, dt in PACKET_COLUMNS.items()}
    for i, step in enumerate(script):
        direction, fl, seq, ack, length = step[:5]
        extra = [x for x in step[5:] if not isinstance(x, dict)]
        t = extra[0] if extra else i * 0.01
        c2s = direction == "c"
        cols["frame"][i] = i + 1
        cols["ts_ns"][i] = 1_700_000_000 * 10**9 + round(t * 1e9)
        cols["ip_version"][i] = 4
        cols["src"][i], cols["dst"][i] = (0, 1) if c2s else (1, 0)
        cols["sport"][i], cols["dport"][i] = (cport, sport) if c2s else (sport, cport)
        cols["seq"][i] = seq % (1 << 32)
        cols["ack"][i] = ack % (1 << 32)
        cols["flags"][i] = sum(FLAG_BITS[ch] for ch in fl)
        cols["window"][i] = window
        cols["hdr_len"][i] = 20
        cols["payload_len"][i] = length
        cols["cap_payload_len"][i] = length
        cols["ip_id"][i] = i
        cols["ttl"][i] = 64
    for name in ("vlan", "opt_mss", "opt_wscale", "opt_ts_val", "opt_ts_ecr",
                 "opt_sack_left", "opt_sack_right", "opt_tfo", "csum_ok"):
        cols[name][:] = -1
    for i, step in enumerate(script):
        for over in (x for x in step[5:] if isinstance(x, dict)):
            for name, value in over.items():
                cols[name][i] = value
    return cols


def merge(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Several scripts' columns as one capture: rows ordered by time, frames renumbered."""
    cols = {name: np.concatenate([p[name] for p in parts]) for name in PACKET_COLUMNS}
    order = np.argsort(cols["ts_ns"], kind="stable")
    cols = {name: arr[order] for name, arr in cols.items()}
    cols["frame"] = np.arange(1, len(order) + 1, dtype=np.int64)
    return cols
