"""Choosing the engine: ``decode(path, engine)`` for native, tshark or auto.

``auto`` reads with the native decoder and falls back to tshark when

* no interface has a link type the native decoder knows (``UnsupportedLinkTypeError``), or
* the native decoder set frames aside that may hide TCP (UDP, other IP protocols, other
  ethertypes, IP fragments) and tshark, asked about the first ``PROBE_FRAMES`` frames, finds
  TCP segments in clearly more of them (``MISSED_SHARE``): TCP inside GTP, GRE, VXLAN, 6in4,
  MPLS or fragments.

The reason is kept in ``stats.fallback`` (the CLI prints it as one line on stderr). When
tshark is missing, the native result stands; only a capture the native decoder cannot read
at all ends in :class:`~analyzer.errors.TsharkUnavailableError`. Standard input is read
once, natively (no fallback).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from analyzer.capture import STDIN
from analyzer.decode import Decoded, decode_capture
from analyzer.engines.layers import layout
from analyzer.engines.tshark_run import (
    INSTALL_HINT,
    TsharkRun,
    field_run,
    tshark_command,
    tshark_path,
)
from analyzer.errors import TsharkUnavailableError, UnsupportedLinkTypeError, UsageError
from analyzer.schema import FRAME_IP_FRAGMENT

__all__ = ["MISSED_SHARE", "PROBE_FRAMES", "decode", "tshark_sees_more"]

Progress = Callable[[int, int | None], None]
PROBE_FRAMES = 20_000
MISSED_SHARE = 0.1   # fall back when native misses more than this share of tshark's TCP frames
SUSPECT_KINDS = ("udp", "other_ip", "other")


def decode(path: str, engine: str = "auto", *, verify_checksums: bool = True,
           progress: Progress | None = None, jobs: int | None = None,
           meanwhile: Callable[[], object] | None = None) -> Decoded:
    """The packet table of ``path`` read by ``engine`` (auto | native | tshark);
    ``jobs`` and ``meanwhile``: see ``decode_capture`` (native reading only)."""
    if engine == "native":
        return decode_capture(path, verify_checksums=verify_checksums, progress=progress,
                              jobs=jobs, meanwhile=meanwhile)
    if engine == "tshark":
        from analyzer.engines.tshark import decode_with_tshark  # pandas: imported only here

        return decode_with_tshark(path, verify_checksums=verify_checksums, progress=progress)
    if engine != "auto":
        raise UsageError(f"unknown engine {engine!r}: expected auto, native or tshark")
    try:
        native = decode_capture(path, verify_checksums=verify_checksums, progress=progress,
                                jobs=jobs, meanwhile=meanwhile)
    except UnsupportedLinkTypeError as exc:
        if path == STDIN:
            raise
        reason = f"link type {exc.linktype}{_name(exc)} is not decoded natively"
        return _fallback(path, reason, verify_checksums, required=True)
    if path == STDIN or not _suspect(native):
        return native
    try:
        seen = tshark_sees_more(path, native)
    except TsharkUnavailableError:
        return native
    if seen is None:
        return native
    return _fallback(path, seen, verify_checksums, required=False)


def _name(exc: UnsupportedLinkTypeError) -> str:
    from analyzer.decode.link import LINK_NAMES

    name = LINK_NAMES.get(exc.linktype, "")
    return f" ({name})" if name else ""


def _fallback(path: str, reason: str, verify: bool, required: bool) -> Decoded:
    from analyzer.engines.tshark import TsharkStats, decode_with_tshark

    try:
        decoded = decode_with_tshark(path, verify_checksums=verify)
    except TsharkUnavailableError:
        if not required:
            raise
        raise TsharkUnavailableError(f"{path}: {reason}, and tshark, which reads it, is not "
                                     f"installed; {INSTALL_HINT}") from None
    if isinstance(decoded.stats, TsharkStats):
        decoded.stats.fallback = f"{reason}; read with tshark"
    return decoded


def _suspect(native: Decoded) -> bool:
    """Did the native decoder set aside frames that could hold TCP it cannot see?"""
    kinds = native.stats.non_tcp
    if any(kinds.get(k, 0) for k in SUSPECT_KINDS):
        return True
    return bool((native.anomalies["code"] == FRAME_IP_FRAGMENT).any())


def tshark_sees_more(path: str, native: Decoded, frames: int = PROBE_FRAMES) -> str | None:
    """Why tshark should read ``path`` instead, or None: tshark's TCP frames among the first
    ``frames`` frames against the native decoder's."""
    from analyzer.engines.tshark import DECODE_AS, ENGINE_PREFS

    cmd = tshark_command(tshark_path(), path, ["frame.number", "frame.protocols"],
                         ENGINE_PREFS, [*DECODE_AS, "-c", str(frames)])
    theirs = 0
    for batch in field_run(cmd, ["frame", "protocols"], TsharkRun()):
        theirs += sum(layout(p or "").kind == "tcp"
                      for p in batch.column("protocols").to_pylist())
    ours = int(np.count_nonzero(native.columns["frame"] <= frames))
    missed = theirs - ours
    if missed <= 0 or (ours and missed <= MISSED_SHARE * theirs):
        return None
    return (f"tshark finds TCP in {theirs:,} of the first {frames:,} frames, the native "
            f"decoder in {ours:,} (tunnels or IP fragments it does not open)")
