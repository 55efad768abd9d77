"""synack: TCP connection life cycles in packet captures.

>>> import analyzer
>>> result = analyzer.analyze("sample_pcaps/01_clean_lifecycle.pcap")  # doctest: +SKIP
>>> result.connections[["client", "server", "summary"]]                 # doctest: +SKIP
"""

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
