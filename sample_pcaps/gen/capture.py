"""tcpdump inside a namespace: start, wait until it listens, stop and read its counts."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .system import GenError, spawn, stop_process

SNAPLEN = 262144


class Capture:
    """``tcpdump --immediate-mode -U -w`` on one interface of one namespace.

    tcpdump writes into a private temporary directory (it runs with ``-Z root`` so it
    does not drop privileges) and the file is moved to its final place by ``stop()``.
    """

    def __init__(self, ns: str, iface: str, dest: Path, nano: bool = False,
                 link_type: str | None = None) -> None:
        self.ns, self.iface, self.dest = ns, iface, dest
        self.tmpdir = Path(tempfile.mkdtemp(prefix="synack_cap_"))
        self.tmpfile = self.tmpdir / dest.name
        self.cmd = ["tcpdump", "-i", iface, "-w", str(self.tmpfile), "--immediate-mode", "-U",
                    "-s", str(SNAPLEN), "-Z", "root"]
        if nano:
            self.cmd += ["--time-stamp-precision", "nano"]
        if link_type:
            self.cmd += ["-y", link_type]
        self.nano = nano
        self.stderr_lines: list[str] = []
        self._listening = threading.Event()
        self.proc: subprocess.Popen[bytes] | None = None
        self.t_start_ns = 0
        self.t_stop_ns = 0

    def start(self) -> None:
        self.proc = spawn(["ip", "netns", "exec", self.ns, *self.cmd],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        threading.Thread(target=self._read_stderr, daemon=True).start()
        if not self._listening.wait(10):
            raise GenError(f"tcpdump did not start: {self.stderr_lines}")
        time.sleep(0.2)  # the socket is bound once "listening on" is printed; be generous
        self.t_start_ns = time.time_ns()

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.stderr_lines.append(line)
            if "listening on" in line:
                self._listening.set()

    def stop(self, settle_s: float = 0.3) -> dict[str, Any]:
        """Let the last packets arrive, SIGINT tcpdump, move the file into place."""
        time.sleep(settle_s)
        self.t_stop_ns = time.time_ns()
        if self.proc is not None:
            stop_process(self.proc, sig=signal.SIGINT, grace=5.0)
            time.sleep(0.05)
        stats = self._stats()
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(self.tmpfile), self.dest)
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        return stats

    def abort(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, sig=signal.SIGINT, grace=2.0)
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def _stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = {}
        for line in self.stderr_lines:
            match = re.match(r"(\d+) packets? (captured|received by filter|dropped by kernel)",
                             line)
            if match:
                stats[match.group(2).replace(" ", "_")] = int(match.group(1))
        if stats.get("dropped_by_kernel", 0):
            raise GenError(f"tcpdump dropped packets: {stats}")
        return stats
