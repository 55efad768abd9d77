#!/usr/bin/env python3
"""Memory of `synack follow` on one very large connection: the stream must not be held.

Writes a capture with one connection whose server sends SIZE bytes (default 1 GiB) in
1448-byte segments, with about 1% of them retransmitted and 1% delivered out of order,
then runs `synack follow --format raw --direction server` (and, with --all, `follow --all`)
under /usr/bin/time, hashing the output as it streams by; reports wall time, peak RSS and
whether the bytes equal the generated stream (SHA-256). Compare the peak with
`synack analyze` of the same file: following adds the bounded read batches only.

    python benchmarks/bench_follow.py [--size-mb 1024] [--keep] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MSS = 1448
HDR = bytes.fromhex("020000000002" "020000000001" "0800")


def _stream_bytes(offset: int, n: int) -> bytes:
    """The generated stream: byte i is (i * 7 + i // 4096) mod 251."""
    i = np.arange(offset, offset + n, dtype=np.int64)
    return ((i * 7 + i // 4096) % 251).astype(np.uint8).tobytes()


def _packet(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int,
            payload: bytes) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq % (1 << 32), ack % (1 << 32), 5 << 4,
                      flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    return HDR + ip + tcp


def write_capture(path: Path, size: int, seed: int = 1) -> str:
    """One connection, the server sending ``size`` bytes; returns the stream's SHA-256."""
    rng = np.random.default_rng(seed)
    c, s = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    cisn, sisn = 100, (1 << 32) - 5000  # the server's numbers wrap around at once
    h = hashlib.sha256()
    t = 1_700_000_000 * 1_000_000

    def rec(f: object, frame: bytes) -> None:
        nonlocal t
        t += 10
        f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(frame), len(frame)))  # type: ignore[attr-defined]
        f.write(frame)  # type: ignore[attr-defined]

    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        rec(f, _packet(c, s, 40000, 80, cisn, 0, 0x02, b""))
        rec(f, _packet(s, c, 80, 40000, sisn, cisn + 1, 0x12, b""))
        rec(f, _packet(c, s, 40000, 80, cisn + 1, sisn + 1, 0x10, b""))
        held: list[bytes] = []
        for off in range(0, size, MSS):
            data = _stream_bytes(off, min(MSS, size - off))
            h.update(data)
            pkt = _packet(s, c, 80, 40000, sisn + 1 + off, cisn + 1, 0x18, data)
            roll = rng.random()
            if roll < 0.01:
                held.append(pkt)  # delivered after the next segment
                continue
            rec(f, pkt)
            for p in held:
                rec(f, p)
            held.clear()
            if roll > 0.99:
                rec(f, pkt)  # retransmitted copy
            if (off // MSS) % 2:
                rec(f, _packet(c, s, 40000, 80, cisn + 1, sisn + 1 + off + len(data), 0x10, b""))
        for p in held:
            rec(f, p)
        rec(f, _packet(s, c, 80, 40000, sisn + 1 + size, cisn + 1, 0x11, b""))
        rec(f, _packet(c, s, 40000, 80, cisn + 1, sisn + 2 + size, 0x11, b""))
    return h.hexdigest()


def _synack() -> list[str]:
    exe = shutil.which("synack")
    return [exe] if exe else [sys.executable, "-m", "analyzer.cli"]


def measure(cmd: list[str]) -> tuple[float, int, str]:
    """Run ``cmd`` under /usr/bin/time; (seconds, peak RSS in KiB, SHA-256 of stdout).

    Exits with the command's stderr when it fails."""
    with tempfile.NamedTemporaryFile("r") as tf, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", tf.name, *cmd],
                                stdout=subprocess.PIPE, stderr=err)
        h = hashlib.sha256()
        assert proc.stdout is not None
        while block := proc.stdout.read(1 << 20):
            h.update(block)
        proc.wait()
        wall = time.monotonic() - start
        if proc.returncode:
            err.seek(0)
            sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                     + err.read().decode(errors="replace")[-2000:])
        rss = int(Path(tf.name).read_text().split()[-1])
    return wall, rss, h.hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--keep", action="store_true", help="keep the generated capture")
    ap.add_argument("--gzip", action="store_true", help="also follow a gzip copy")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="synack-follow-"))
    try:
        _run(tmp, args.size_mb, args.gzip)
    finally:
        if not args.keep:
            shutil.rmtree(tmp)
    return 0


def _run(tmp: Path, size_mb: int, with_gzip: bool) -> None:
    cap = tmp / "one_big_connection.pcap"
    want = write_capture(cap, size_mb << 20)
    print(f"capture {cap}: {os.path.getsize(cap) / 2**20:,.0f} MiB, stream "
          f"{size_mb} MiB, sha256 {want[:16]}…")
    files = [cap]
    if with_gzip:
        gz = tmp / "one_big_connection.pcap.gz"
        with open(cap, "rb") as src, gzip.open(gz, "wb", compresslevel=1) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        files.append(gz)
    for path in files:
        wall, rss, _ = measure([*_synack(), "analyze", str(path)])
        print(f"{path.name}: synack analyze        {wall:6.1f} s  peak RSS {rss / 1024:7.0f} MiB")
        wall, rss, got = measure([*_synack(), "follow", str(path), "--conn", "0", "--format",
                                  "raw", "--direction", "server"])
        ok = "equal" if got == want else "DIFFERENT"
        print(f"{path.name}: synack follow --raw   {wall:6.1f} s  peak RSS {rss / 1024:7.0f} MiB"
              f"  bytes {ok}")

if __name__ == "__main__":
    raise SystemExit(main())
