"""Running commands, and cleaning up everything this generator started.

Every process started here is remembered by its Popen object and ended by its own PID;
every namespace created is remembered by name and deleted. ``cleanup()`` is idempotent
and runs from ``finally`` blocks, from ``atexit`` and from the SIGINT/SIGTERM/SIGHUP
handlers installed by ``install_handlers()``. Nothing is ever killed by name.
"""

from __future__ import annotations

import atexit
import signal
import subprocess
import sys
import time
from types import FrameType

PREFIX = "synack_"

_PROCS: list[subprocess.Popen[bytes]] = []
_NAMESPACES: list[str] = []


class GenError(RuntimeError):
    """A setup or capture step failed."""


def run(args: list[str], check: bool = True, timeout: float = 30.0) -> str:
    """Run a command to completion and return its stdout (text)."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise GenError(f"{' '.join(args)} -> {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def in_ns(ns: str, args: list[str], check: bool = True) -> str:
    return run(["ip", "netns", "exec", ns, *args], check=check)


def spawn(args: list[str], **kw: object) -> subprocess.Popen[bytes]:
    """Start a long-running process and remember it for cleanup."""
    proc: subprocess.Popen[bytes] = subprocess.Popen(args, **kw)  # type: ignore[call-overload]
    _PROCS.append(proc)
    return proc


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM,
                 grace: float = 3.0) -> None:
    """Signal one process by its PID, wait, then SIGKILL it if it is still there."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)
        except ProcessLookupError:
            pass
    if proc in _PROCS:
        _PROCS.remove(proc)


def add_namespace(name: str) -> None:
    if not name.startswith(PREFIX):
        raise GenError(f"refusing to manage namespace {name!r} without the {PREFIX} prefix")
    existing = run(["ip", "netns", "list"]).split()
    if name in existing:  # left over from an earlier, killed run of this script
        run(["ip", "netns", "del", name])
    run(["ip", "netns", "add", name])
    _NAMESPACES.append(name)


def delete_namespace(name: str) -> None:
    if name in _NAMESPACES:
        _NAMESPACES.remove(name)
    run(["ip", "netns", "del", name], check=False)


def cleanup() -> None:
    """End every process started here (by PID) and delete every namespace created here."""
    for proc in list(_PROCS):
        try:
            stop_process(proc, grace=1.0)
        except Exception as exc:  # keep cleaning up
            print(f"cleanup: pid {proc.pid}: {exc}", file=sys.stderr)
    for name in list(_NAMESPACES):
        delete_namespace(name)  # its veth end, addresses and iptables rules go with it


def _on_signal(signum: int, frame: FrameType | None) -> None:
    signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not interrupt cleanup
    raise KeyboardInterrupt(f"signal {signum}")


def install_handlers() -> None:
    atexit.register(cleanup)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)


def now_ns() -> int:
    return time.time_ns()
