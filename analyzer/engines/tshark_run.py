"""Finding and running tshark: its path, its version, and a `-T fields` run read as Arrow.

tshark is found through pyshark's helper (``pyshark.tshark.tshark.get_process_path``: the
pyshark config file, then ``PATH``) when pyshark is installed, else on ``PATH``. Output is
tab-separated fields (``-T fields -E occurrence=a -E aggregator=,``), parsed in large record
batches by pyarrow's streaming CSV reader while tshark is still running; every column is a
string column (several occurrences of a field in one frame are joined by commas).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import IO, Any

from analyzer.errors import InputError, TsharkUnavailableError

__all__ = [
    "AGGREGATOR",
    "INSTALL_HINT",
    "TsharkRun",
    "field_run",
    "tshark_command",
    "tshark_path",
    "tshark_version",
]

INSTALL_HINT = "install it with: apt-get install tshark (Debian/Ubuntu), dnf install " \
               "wireshark-cli (Fedora), brew install wireshark (macOS)"
AGGREGATOR = ","
BLOCK_BYTES = 8 << 20
NOISE = ("Running as user", "This could be dangerous")


def tshark_path() -> str:
    """Path of the tshark executable; :class:`TsharkUnavailableError` if there is none."""
    found: str | None = None
    try:
        from pyshark.tshark.tshark import TSharkNotFoundException, get_process_path

        try:
            found = get_process_path()
        except TSharkNotFoundException:
            found = None
    except ImportError:
        found = shutil.which("tshark")
    if not found or not os.access(found, os.X_OK):
        raise TsharkUnavailableError(f"tshark (Wireshark's command-line analyzer) is not "
                                     f"installed; {INSTALL_HINT}")
    return found


@cache
def tshark_version(path: str) -> str:
    """``"4.0.17"``: the version tshark reports (first line of ``tshark --version``)."""
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    words = out.stdout.split()
    return words[words.index("(Wireshark)") + 1] if "(Wireshark)" in words else words[1] \
        if len(words) > 1 else "unknown"


def tshark_command(path: str, capture: str, fields: Sequence[str], prefs: Sequence[str],
                   extra: Sequence[str] = ()) -> list[str]:
    """A `-T fields` command line: one line per frame, every field as tshark prints it."""
    cmd = [path, "-n", "-r", capture, *extra, "-T", "fields", "-E", "header=n",
           "-E", "separator=/t", "-E", "quote=n", "-E", "occurrence=a",
           "-E", f"aggregator={AGGREGATOR}"]
    for p in prefs:
        cmd += ["-o", p]
    for f in fields:
        cmd += ["-e", f]
    return cmd


@dataclass
class TsharkRun:
    """A finished run: its exit status and the meaningful lines of its stderr."""

    returncode: int = 0
    errors: list[str] = field(default_factory=list)


def _drain(stream: IO[bytes], into: list[str]) -> None:
    for raw in stream:
        line = raw.decode("utf-8", "replace").strip()
        if line and not any(n in line for n in NOISE):
            into.append(line)


def field_run(cmd: list[str], names: Sequence[str], run: TsharkRun,
              feed: Callable[[IO[bytes]], None] | None = None) -> Iterator[Any]:
    """Run ``cmd`` and yield its output as ``pyarrow.RecordBatch`` objects (string columns
    named ``names``); ``run`` holds the exit status and stderr once the iterator is done.
    ``feed``, if given, writes the capture to tshark's stdin (``-r -``) from a thread."""
    pacsv = _pyarrow_csv()
    import pyarrow as pa

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.PIPE if feed else subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stderr is not None
    errs = threading.Thread(target=_drain, args=(proc.stderr, run.errors), daemon=True)
    errs.start()
    if feed is not None:
        threading.Thread(target=_feed, args=(feed, proc.stdin), daemon=True).start()
    try:
        reader = pacsv.open_csv(
            proc.stdout,
            read_options=pacsv.ReadOptions(column_names=list(names), block_size=BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False,
                                             newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=True))
        yield from reader
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" not in str(exc):
            raise InputError(f"{cmd[cmd.index('-r') + 1]}: unexpected tshark output: {exc}") \
                from None
    finally:
        proc.stdout.close()
        run.returncode = proc.wait()
        errs.join()


def _feed(feed: Callable[[IO[bytes]], None], stdin: IO[bytes] | None) -> None:
    assert stdin is not None
    with contextlib.suppress(OSError):   # BrokenPipeError: tshark stopped reading
        feed(stdin)
    with contextlib.suppress(OSError):
        stdin.close()


def _pyarrow_csv() -> Any:
    try:
        import pyarrow.csv as pacsv
    except ImportError:
        raise TsharkUnavailableError("the tshark engine needs pyarrow to read tshark's output; "
                                     "install it with: pip install 'synack[tshark]'") from None
    return pacsv
