"""synack: TCP connection life cycles in packet captures.

>>> import analyzer
>>> result = analyzer.analyze("sample_pcaps/01_clean_lifecycle.pcap")  # doctest: +SKIP
>>> result.connections[["client", "server", "summary"]]                 # doctest: +SKIP
"""

from typing import TYPE_CHECKING, Any

from analyzer.api import analyze, analyze_columns
from analyzer.errors import (
    CaptureFormatError,
    InputError,
    SynackError,
    TsharkUnavailableError,
    UnreadableFileError,
    UnsupportedLinkTypeError,
    UsageError,
)
from analyzer.result import AnalysisResult
from analyzer.tcpstate.states import State

if TYPE_CHECKING:
    from analyzer.rules.expect import expect

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


def __getattr__(name: str) -> Any:
    """``expect`` (the rules engine) is imported on first use: a fast start for the CLI."""
    if name == "expect":
        from analyzer.rules.expect import expect

        return expect
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
