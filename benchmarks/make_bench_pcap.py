#!/usr/bin/env python3
"""Generate the benchmark capture: ~1,000,000 TCP packets in ~46,000 connections.

Classic pcap (microseconds, little-endian), Ethernet/IPv4, every segment with the TCP
timestamps option, correct IPv4 and TCP checksums. Each connection: SYN, SYN-ACK, ACK,
a request from the client, an even number of full-size response segments from the server
with an ACK from the client after every second one, then a FIN/ACK close started by either
side (or, for some, a RST). About 1% of the server's data segments are retransmitted.
Connections overlap in time and the packets are written in time order.

Everything is built with NumPy, in chunks, from a fixed seed: the same command always
writes the same bytes.

    python benchmarks/make_bench_pcap.py [OUTPUT] [--connections N] [--seed S]
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import time

import numpy as np

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "bench_1m.pcap")
MSS = 1448
DURATION_S = 120.0
T0_S = 1_700_000_000
CLIENT_MAC = bytes.fromhex("020000000001")
SERVER_MAC = bytes.fromhex("020000000002")
SYN_OPTS = bytes.fromhex("020405b4" "0402" "080a") + b"\0" * 8 + bytes.fromhex("01030307")
DATA_OPTS = bytes.fromhex("0101080a") + b"\0" * 8
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def _conn_params(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-connection parameters (one array element per connection)."""
    return {
        "t0": rng.uniform(0.0, DURATION_S, n),
        "rtt": rng.lognormal(np.log(0.02), 0.6, n),
        "k": 2 * rng.integers(1, 10, n),                       # server data segments (even)
        "last": rng.integers(1, MSS + 1, n),                   # size of the last one
        "q": rng.integers(60, 700, n),                         # request size
        "close": rng.choice(3, n, p=[0.6, 0.33, 0.07]),        # 0 client FIN, 1 server FIN, 2 RST
        "cip": (10 << 24) | rng.integers(1 << 8, 1 << 16, n),  # 10.0.x.y clients
        "sip": (192 << 24) | (168 << 16) | rng.integers(1, 250, n),
        "cport": rng.integers(20000, 60000, n),
        "sport": rng.choice(np.array([80, 443, 8080, 5432]), n),
        "isn_c": rng.integers(0, 1 << 32, n, dtype=np.int64),
        "isn_s": rng.integers(0, 1 << 32, n, dtype=np.int64),
        "clk_c": rng.integers(0, 1 << 31, n, dtype=np.int64),
        "clk_s": rng.integers(0, 1 << 31, n, dtype=np.int64),
    }


def _packets(p: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One element per packet: conn, from_client, flags, seq, ack, length, time."""
    k = p["k"]
    close_n = np.where(p["close"] == 2, 1, 3)
    n_pk = 4 + k + k // 2 + close_n
    conn = np.repeat(np.arange(k.size), n_pk)
    idx = np.arange(conn.size) - np.repeat(np.cumsum(n_pk) - n_pk, n_pk)
    kc, q, last, close = k[conn], p["q"][conn], p["last"][conn], p["close"][conn]
    srv_bytes = (kc - 1) * MSS + last
    d = idx - 4
    g, r = d // 3, d % 3
    in_data = (d >= 0) & (d < kc + kc // 2)
    seg = 2 * g + np.minimum(r, 1)
    c = idx - (4 + kc + kc // 2)                              # index within the close phase

    from_client = np.zeros(conn.size, bool)
    flags = np.full(conn.size, ACK, np.int64)
    rel_seq = np.zeros(conn.size, np.int64)                   # relative to the sender's ISN
    rel_ack = np.zeros(conn.size, np.int64)                   # relative to the peer's ISN
    length = np.zeros(conn.size, np.int64)

    def put(mask: np.ndarray, cli: bool | np.ndarray, fl: int | np.ndarray,
            s: np.ndarray | int, a: np.ndarray | int, ln: np.ndarray | int = 0) -> None:
        from_client[mask] = np.broadcast_to(cli, conn.shape)[mask]
        flags[mask] = np.broadcast_to(fl, conn.shape)[mask]
        rel_seq[mask] = np.broadcast_to(s, conn.shape)[mask]
        rel_ack[mask] = np.broadcast_to(a, conn.shape)[mask]
        length[mask] = np.broadcast_to(ln, conn.shape)[mask]

    put(idx == 0, True, SYN, 0, 0)
    put(idx == 1, False, SYN | ACK, 0, 1)
    put(idx == 2, True, ACK, 1, 1)
    put(idx == 3, True, PSH | ACK, 1, 1, q)
    data = in_data & (r < 2)
    seg_len = np.where(seg == kc - 1, last, MSS)
    put(data, False, np.where(seg == kc - 1, PSH | ACK, ACK), 1 + seg * MSS, 1 + q, seg_len)
    put(in_data & (r == 2), True, ACK, 1 + q, 1 + np.minimum((seg + 1) * MSS, srv_bytes))
    cfin, sfin, rst = close == 0, close == 1, close == 2
    cs, ss = 1 + q, 1 + srv_bytes                            # next seq of client / server
    put(cfin & (c == 0), True, FIN | ACK, cs, ss)
    put(cfin & (c == 1), False, FIN | ACK, ss, cs + 1)
    put(cfin & (c == 2), True, ACK, cs + 1, ss + 1)
    put(sfin & (c == 0), False, FIN | ACK, ss, cs)
    put(sfin & (c == 1), True, FIN | ACK, cs, ss + 1)
    put(sfin & (c == 2), False, ACK, ss + 1, cs + 1)
    put(rst & (c == 0), False, RST | ACK, ss, cs)

    step = p["rtt"][conn] / 3
    t = p["t0"][conn] + idx * step + np.where(idx >= 1, p["rtt"][conn] / 2, 0)
    out = {"conn": conn, "from_client": from_client, "flags": flags, "rel_seq": rel_seq,
           "rel_ack": rel_ack, "length": length, "t": t, "syn": idx == 0, "synack": idx == 1}
    retrans = np.flatnonzero(data & (rng.random(conn.size) < 0.01))
    for key, col in out.items():
        extra = col[retrans]
        if key == "t":
            extra = extra + 3 * p["rtt"][conn[retrans]]
        out[key] = np.concatenate([col, extra])
    order = np.argsort(out["t"], kind="stable")
    return {key: col[order] for key, col in out.items()}


def _fold(total: np.ndarray) -> np.ndarray:
    """Ones'-complement fold of non-negative sums to 16 bits."""
    total = total.astype(np.int64)
    while (total >> 16).any():
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _be(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) big-endian bytes of integer values."""
    v = values.astype(np.uint64)
    shifts = np.arange(8 * (width - 1), -1, -8, dtype=np.uint64)
    return ((v[:, None] >> shifts) & np.uint64(0xFF)).astype(np.uint8)


def _words_sum(b: np.ndarray) -> np.ndarray:
    """Sum of the big-endian 16-bit words of each row of an (n, even width) byte matrix."""
    w = b.astype(np.int64)
    return (w[:, 0::2] * 256 + w[:, 1::2]).sum(axis=1)


class _Builder:
    """Turns the packet list into pcap bytes, a chunk at a time."""

    def __init__(self, p: dict[str, np.ndarray], pk: dict[str, np.ndarray],
                 rng: np.random.Generator) -> None:
        self.p, self.pk = p, pk
        self.payload = rng.integers(0, 256, MSS, dtype=np.uint8)
        pw = np.zeros(MSS + 1, np.int64)
        pad = np.concatenate([self.payload, [0]]).astype(np.int64)
        words = pad[0:-1:2] * 256 + pad[1::2]
        pw[2::2] = np.cumsum(words)[: MSS // 2]
        pw[1::2] = pw[0:-1:2] + pad[0:-1:2] * 256                # odd prefix: pad the last byte
        self.prefix_sum = pw
        conn, fc = pk["conn"], pk["from_client"]
        self.ip_id = np.zeros(conn.size, np.int64)
        key = conn * 2 + fc
        order = np.argsort(key, kind="stable")
        counts = np.bincount(key, minlength=2 * p["t0"].size)
        first = np.cumsum(counts) - counts
        self.ip_id[order] = np.arange(conn.size) - np.repeat(first, counts)

    def chunk(self, sl: slice) -> bytes:
        p, pk = self.p, self.pk
        conn, fc = pk["conn"][sl], pk["from_client"][sl]
        n = conn.size
        syn = pk["syn"][sl] | pk["synack"][sl]
        opts = np.where(syn[:, None], np.frombuffer(SYN_OPTS, np.uint8),
                        np.frombuffer(DATA_OPTS + b"\0" * 8, np.uint8))
        hdr = np.where(syn, 40, 32)
        length = pk["length"][sl]
        t = pk["t"][sl]
        ms = (t * 1000).astype(np.int64)
        my_clk = np.where(fc, p["clk_c"][conn], p["clk_s"][conn])
        peer_clk = np.where(fc, p["clk_s"][conn], p["clk_c"][conn])
        rtt_ms = (p["rtt"][conn] * 500).astype(np.int64)
        tsval = (my_clk + ms) & 0xFFFFFFFF
        tsecr = np.where(pk["syn"][sl], 0, (peer_clk + ms - rtt_ms) & 0xFFFFFFFF)
        ts_at = np.where(syn, 8, 4)
        rows = np.arange(n)
        for i in range(4):
            opts[rows, ts_at + i] = (tsval >> (24 - 8 * i)) & 0xFF
            opts[rows, ts_at + 4 + i] = (tsecr >> (24 - 8 * i)) & 0xFF
        src = np.where(fc, p["cip"][conn], p["sip"][conn])
        dst = np.where(fc, p["sip"][conn], p["cip"][conn])
        sport = np.where(fc, p["cport"][conn], p["sport"][conn])
        dport = np.where(fc, p["sport"][conn], p["cport"][conn])
        my_isn = np.where(fc, p["isn_c"][conn], p["isn_s"][conn])
        peer_isn = np.where(fc, p["isn_s"][conn], p["isn_c"][conn])
        seq = (my_isn + pk["rel_seq"][sl]) & 0xFFFFFFFF
        flags = pk["flags"][sl]
        ack = np.where(flags & ACK > 0, (peer_isn + pk["rel_ack"][sl]) & 0xFFFFFFFF, 0)
        tcp_len = hdr + length

        tcp = np.zeros((n, 40), np.uint8)
        tcp[:, 0:2], tcp[:, 2:4] = _be(sport, 2), _be(dport, 2)
        tcp[:, 4:8], tcp[:, 8:12] = _be(seq, 4), _be(ack, 4)
        tcp[:, 12] = (hdr // 4) << 4
        tcp[:, 13] = flags
        tcp[:, 14:16] = _be(np.where(syn, 64240, 502), 2)
        tcp[:, 20:40] = opts
        tcp_hdr_only = np.where((np.arange(40) < hdr[:, None]), tcp, 0)
        pseudo = _words_sum(_be(src, 4)) + _words_sum(_be(dst, 4)) + 6 + tcp_len
        total = _words_sum(tcp_hdr_only) + pseudo + self.prefix_sum[length]
        tcp[:, 16:18] = _be(0xFFFF - _fold(total), 2)

        ip = np.zeros((n, 20), np.uint8)
        ip[:, 0], ip[:, 8], ip[:, 9] = 0x45, 64, 6
        ip[:, 2:4] = _be(20 + tcp_len, 2)
        ip[:, 4:6] = _be(self.ip_id[sl] & 0xFFFF, 2)
        ip[:, 6] = 0x40
        ip[:, 12:16], ip[:, 16:20] = _be(src, 4), _be(dst, 4)
        ip[:, 10:12] = _be(0xFFFF - _fold(_words_sum(ip)), 2)

        frame_len = 14 + 20 + tcp_len
        rec = np.zeros((n, 16), np.uint8)
        us_total = np.round(t * 1e6).astype(np.int64)
        le = np.dtype("<u4")
        rec[:, 0:4] = (T0_S + us_total // 1_000_000).astype(le).view(np.uint8).reshape(n, 4)
        rec[:, 4:8] = (us_total % 1_000_000).astype(le).view(np.uint8).reshape(n, 4)
        rec[:, 8:12] = frame_len.astype(le).view(np.uint8).reshape(n, 4)
        rec[:, 12:16] = rec[:, 8:12]
        eth = np.where(fc[:, None], np.frombuffer(SERVER_MAC + CLIENT_MAC + b"\x08\x00", np.uint8),
                       np.frombuffer(CLIENT_MAC + SERVER_MAC + b"\x08\x00", np.uint8))
        return self._assemble(rec, eth, ip, tcp, hdr, length)

    def _assemble(self, rec: np.ndarray, eth: np.ndarray, ip: np.ndarray, tcp: np.ndarray,
                  hdr: np.ndarray, length: np.ndarray) -> bytes:
        fixed = np.concatenate([rec, eth, ip, tcp], axis=1)   # 16 + 14 + 20 + 40 = 90 bytes
        keep = 50 + hdr                                       # bytes of `fixed` used
        size = keep + length
        start = np.cumsum(size) - size
        out = np.empty(int(size.sum()), np.uint8)
        cols = np.arange(90)
        mask = cols < keep[:, None]
        out[(start[:, None] + cols)[mask]] = fixed[mask]
        pstart = start + keep
        pos = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
        out[np.repeat(pstart, length) + pos] = self.payload[pos]
        return out.tobytes()


def generate(path: str, connections: int, seed: int) -> tuple[int, int]:
    """Write the capture; returns (packets, bytes)."""
    rng = np.random.default_rng(seed)
    params = _conn_params(connections, rng)
    packets = _packets(params, rng)
    builder = _Builder(params, packets, rng)
    total = packets["conn"].size
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for lo in range(0, total, 50_000):
            f.write(builder.chunk(slice(lo, min(lo + 50_000, total))))
        size = f.tell()
    return total, size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output", nargs="?", default=DEFAULT_OUT)
    ap.add_argument("--connections", type=int, default=46_000)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    n, size = generate(args.output, args.connections, args.seed)
    print(f"{args.output}: {n} packets, {args.connections} connections, {size / 1e6:.1f} MB, "
          f"{time.perf_counter() - t:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
