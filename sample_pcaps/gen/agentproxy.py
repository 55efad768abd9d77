"""Orchestrator side of the socket agent (agent.py) running inside a namespace."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from .system import GenError, spawn, stop_process

AGENT = Path(__file__).with_name("agent.py")


class Pending:
    """A command sent to an agent whose answer has not been read yet."""

    def __init__(self, agent: Agent, cid: int, op: str) -> None:
        self.agent, self.cid, self.op = agent, cid, op

    def wait(self, timeout: float = 120.0) -> dict[str, Any]:
        return self.agent.result(self.cid, self.op, timeout)


class Agent:
    """One agent process, started with ``ip netns exec NS python3 agent.py``."""

    def __init__(self, ns: str, side: str) -> None:
        self.ns, self.side = ns, side
        self.proc = spawn(["ip", "netns", "exec", ns, sys.executable, "-u", str(AGENT)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._answers: dict[int, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._next = 1
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.result(0, "start", 20.0)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            msg = json.loads(line)
            with self._cond:
                self._answers[msg["id"]] = msg
                self._cond.notify_all()
        with self._cond:
            self._answers[-1] = {"ok": False, "error": "agent exited"}
            self._cond.notify_all()

    def start(self, op: str, **args: Any) -> Pending:
        with self._cond:
            cid = self._next
            self._next += 1
        line = json.dumps({"id": cid, "op": op, **args}) + "\n"
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode())
        self.proc.stdin.flush()
        return Pending(self, cid, op)

    def call(self, op: str, timeout: float = 120.0, **args: Any) -> dict[str, Any]:
        return self.start(op, **args).wait(timeout)

    def result(self, cid: int, op: str, timeout: float) -> dict[str, Any]:
        with self._cond:
            ok = self._cond.wait_for(
                lambda: cid in self._answers or -1 in self._answers, timeout)
            msg = self._answers.pop(cid, None) or self._answers.get(-1)
        if not ok or msg is None:
            raise GenError(f"{self.side} agent: no answer to {op} within {timeout} s")
        if not msg["ok"]:
            raise GenError(f"{self.side} agent: {op} failed: {msg['error']}")
        result: dict[str, Any] = msg["result"]
        return result

    def close(self) -> None:
        try:
            if self.proc.poll() is None and self.proc.stdin is not None:
                self.proc.stdin.write(b'{"op": "quit"}\n')
                self.proc.stdin.flush()
            self.proc.wait(timeout=2.0)
        except (OSError, subprocess.TimeoutExpired):
            pass
        stop_process(self.proc, grace=2.0)
