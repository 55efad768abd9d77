"""`synack follow`: a connection's byte streams, like Wireshark's Follow TCP Stream, or every
stream into a directory like tcpflow (``--all -o DIR``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TextIO

import click

from analyzer.errors import InputError, UsageError
from analyzer.reassembly import Reassembler, Stream, conversation
from analyzer.reassembly.export import write_all
from analyzer.reassembly.output import ARROW, FollowHeader, write_hex, write_json, write_text
from analyzer.reassembly.source import why_not_rereadable
from analyzer.result import AnalysisResult

__all__ = ["COMMANDS", "follow_cmd"]

_WRITERS = {"text": write_text, "hex": write_hex, "json": write_json}


def _load(capture: str, checksums: bool, engine: str) -> AnalysisResult:
    reason = why_not_rereadable(capture)
    if reason:
        raise InputError(f"{capture}: cannot follow streams: {reason}")
    from analyzer.cli import _load as load_with_progress

    return load_with_progress(capture, 60.0, checksums, engine=engine)


def _endpoint(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _warn(msg: str) -> None:
    click.echo(f"synack: warning: {msg}", err=True)


@contextmanager
def _text_out(output: Path | None) -> Iterator[TextIO]:
    if output is None:
        yield sys.stdout
        return
    try:
        f = open(output, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
    except OSError as e:
        raise InputError(f"{output}: cannot write: {e.strerror or e}") from None
    with f:
        yield f


@contextmanager
def _binary_out(output: Path | None) -> Iterator[IO[bytes]]:
    if output is None:
        yield sys.stdout.buffer
        return
    try:
        f = open(output, "wb")  # noqa: SIM115
    except OSError as e:
        raise InputError(f"{output}: cannot write: {e.strerror or e}") from None
    with f:
        yield f


def _report_raw(s: Stream, fill: bool) -> None:
    """Gaps and differing overlaps of a raw stream, on stderr (raw bytes cannot mark them)."""
    where = f"conn {s.conn_id} {ARROW[s.direction]}"
    if s.gaps:
        listed = ", ".join(f"{g.offset}+{g.length}" for g in s.gaps[:10])
        more = f" and {len(s.gaps) - 10} more" if len(s.gaps) > 10 else ""
        how = "written as zero bytes (--fill-gaps)" if fill else \
            "skipped (--fill-gaps writes zeros instead; --format text/json marks them)"
        _warn(f"{where}: {len(s.gaps)} gap(s), {s.gap_bytes:,} bytes not in the capture, "
              f"{how}: offset+length {listed}{more}")
    diff = [o for o in s.overlaps if o.different]
    if diff:
        listed = ", ".join(f"{o.offset}+{o.length} (frames {o.kept_frame}/{o.other_frame})"
                           for o in diff[:10])
        _warn(f"{where}: {len(diff)} overlap(s) with different data, kept frame of policy "
              f"{s.policy}: {listed}")


def _follow_one(result: AnalysisResult, capture: str, conn_id: int, direction: str, fmt: str,
                output: Path | None, policy: str, fill: bool) -> None:
    conn = result.connection(conn_id)
    ra = Reassembler(result, policy)
    if fmt == "raw":
        if direction == "both":
            raise UsageError("--format raw writes one direction's bytes exactly: choose "
                             "--direction client or server")
        s = ra.stream(conn_id, direction)
        _report_raw(s, fill)
        with _binary_out(output) as out:
            s.write(out, b"\0" if fill else None)
        return
    which = ("client", "server") if direction == "both" else (direction,)
    streams = [ra.stream(conn_id, d) for d in which]
    client = _endpoint(str(conn["client"]), int(conn["client_port"]))
    server = _endpoint(str(conn["server"]), int(conn["server_port"]))
    header = FollowHeader(capture, conn_id, client, server, policy, streams)
    with _text_out(output) as out:
        _WRITERS[fmt](out, header, conversation(streams))


@click.command("follow")
@click.argument("capture")
@click.option("--conn", "conn_id", type=int, help="Connection id (see `synack analyze`).")
@click.option("--all", "all_streams", is_flag=True,
              help="Write every stream into the directory given by -o (one file per "
                   "connection and direction, and index.csv).")
@click.option("--direction", type=click.Choice(["client", "server", "both"]), default=None,
              help="client: bytes the client sent; server: bytes the server sent; both "
                   "(text/hex/json default): interleaved in capture order.")
@click.option("--format", "fmt", type=click.Choice(["raw", "text", "hex", "json"]),
              default=None, help="text (default), hex dump, json (base64 chunks), or raw "
                                 "bytes of one direction.")
@click.option("--output", "-o", "output", type=click.Path(path_type=Path),
              help="Write to this file (with --all: this directory) instead of stdout.")
@click.option("--policy", type=click.Choice(["first", "last"]), default="first",
              show_default=True,
              help="Which copy wins where segments overlap: first (as Linux keeps) or last.")
@click.option("--fill-gaps", is_flag=True,
              help="raw and --all: write missing bytes as zeros (default: skip them); the "
                   "gaps are reported either way.")
@click.option("--no-checksums", is_flag=True, help="Do not verify TCP checksums.")
@click.option("--engine", type=click.Choice(["auto", "native", "tshark"]), default="auto",
              show_default=True,
              help="What reads the packets: native, tshark (tunnels, other link types), or "
                   "auto (tshark only where native cannot decode).")
def follow_cmd(capture: str, conn_id: int | None, all_streams: bool, direction: str | None,
               fmt: str | None, output: Path | None, policy: str, fill_gaps: bool,
               no_checksums: bool, engine: str) -> None:
    """Byte streams of one connection (--conn ID) or of every connection (--all -o DIR).

    Like Wireshark's Follow TCP Stream: both directions interleaved in capture order, with
    markers where the direction changes, where bytes are missing (gaps) and where two
    copies of the same bytes differ (overlaps). Raw mode writes one direction exactly.
    Needs a capture file (stdin cannot be read twice).
    """
    if all_streams == (conn_id is not None):
        raise UsageError("give either --conn ID or --all -o DIR")
    if all_streams:
        if output is None:
            raise UsageError("--all writes one file per stream: give the directory with -o DIR")
        if fmt not in (None, "raw") or direction not in (None, "both"):
            raise UsageError("--all writes raw files of both directions: drop --format and "
                             "--direction")
        result = _load(capture, not no_checksums, engine)
        index = write_all(result, output, policy, b"\0" if fill_gaps else None)
        with_gaps = int((index["gaps"] > 0).sum()) if len(index) else 0
        click.echo(f"{capture}: wrote {int((index['file'] != '').sum())} stream files, "
                   f"{int(index['bytes_written'].sum()):,} bytes, into {output} "
                   f"(index.csv; {with_gaps} stream(s) with gaps)")
        return
    assert conn_id is not None
    fmt = fmt or "text"
    result = _load(capture, not no_checksums, engine)
    _follow_one(result, capture, conn_id, direction or "both", fmt, output, policy, fill_gaps)
    if output is not None:
        click.echo(f"{capture}: connection {conn_id} written to {output}", err=True)


COMMANDS: list[click.Command] = [follow_cmd]
