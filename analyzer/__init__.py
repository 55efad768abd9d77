"""synack: TCP connection life cycles in packet captures.

>>> import analyzer
>>> result = analyzer.analyze("sample_pcaps/01_clean_lifecycle.pcap")  # doctest: +SKIP
>>> result.connections[["client", "server", "summary"]]                 # doctest: +SKIP

Names are imported on first use, so that importing a part of the package (the command
line, the decoder) does not import all of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from analyzer.errors import (
    CaptureFormatError,
    InputError,
    SynackError,
    TsharkUnavailableError,
    UnreadableFileError,
    UnsupportedLinkTypeError,
    UsageError,
)

if TYPE_CHECKING:
    from analyzer.api import analyze, analyze_columns
    from analyzer.result import AnalysisResult
    from analyzer.rules.expect import expect
    from analyzer.tcpstate.states import State

__all__ = [
    "AnalysisResult",
    "CaptureFormatError",
    "InputError",
    "State",
    "SynackError",
    "TsharkUnavailableError",
    "UnreadableFileError",
    "UnsupportedLinkTypeError",
    "UsageError",
    "analyze",
    "analyze_columns",
    "expect",
]

__version__ = "0.1.0"

_LAZY = {
    "analyze": "analyzer.api",
    "analyze_columns": "analyzer.api",
    "AnalysisResult": "analyzer.result",
    "expect": "analyzer.rules.expect",
    "State": "analyzer.tcpstate.states",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
