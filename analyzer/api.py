"""The Python API: ``analyzer.analyze(path)``.

This module imports no pandas: the capture is read first, and the analysis modules
(:mod:`analyzer.pipeline`) are imported while helper processes read the rest of it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from analyzer.result import AnalysisResult

__all__ = ["analyze", "analyze_columns"]

Progress = Callable[[int, int | None], None]
PIPELINE = "analyzer.pipeline"


def analyze(path: str, *, time_wait_s: float = 60.0, verify_checksums: bool = True,
            progress: Progress | None = None, profile: str = "auto",
            engine: str = "native", jobs: int | None = None) -> AnalysisResult:
    """Read a capture (path, or "-" for stdin) and analyse every TCP connection in it.

    ``time_wait_s`` is 2·MSL of the profile assumed for TIME_WAIT expiry (Linux: 60 s);
    ``profile`` the timing profile (auto|linux|rfc|macos|windows, see analyzer.timing);
    ``engine`` what reads the packets: native, tshark (Wireshark's dissectors: tunnels,
    exotic link types) or auto (native, tshark where native cannot decode; see
    analyzer.engines); ``jobs`` how many processes may read a large pcap file in parts
    (None: one per CPU, at most 4; 1: this process only; same result either way).
    Raises :class:`analyzer.errors.InputError` when the file is not a usable capture
    (:class:`~analyzer.errors.TsharkUnavailableError`: tshark is needed).
    """
    from analyzer.engines.auto import decode

    decoded = decode(path, engine, verify_checksums=verify_checksums, progress=progress,
                     jobs=jobs, meanwhile=lambda: importlib.import_module(PIPELINE))
    return analyze_columns(decoded.columns, decoded.addresses, source=path,
                           time_wait_s=time_wait_s, anomalies=decoded.anomalies,
                           stats=decoded.stats, profile=profile)


def analyze_columns(cols: dict[str, np.ndarray], addresses: list[str], *, source: str = "",
                    time_wait_s: float = 60.0, anomalies: pd.DataFrame | None = None,
                    stats: Any = None, profile: str = "auto") -> AnalysisResult:
    """Run flows → states → summary on an already decoded packet table (see
    :func:`analyzer.pipeline.analyze_columns`)."""
    from analyzer.pipeline import analyze_columns as run

    return run(cols, addresses, source=source, time_wait_s=time_wait_s, anomalies=anomalies,
               stats=stats, profile=profile)
