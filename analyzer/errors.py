"""The one error hierarchy of synack.

Every error synack raises on purpose derives from :class:`SynackError`. The CLI turns
an :class:`InputError` (and its subclasses) into one line on stderr and exit code 2;
nothing in this module is ever shown to a user as a traceback.

Problems *inside* a capture (a malformed packet, a truncated record) are not errors:
they become rows of the anomalies table and the analysis goes on.
"""

from __future__ import annotations

__all__ = [
    "CaptureFormatError",
    "InputError",
    "RulesError",
    "SynackError",
    "TsharkUnavailableError",
    "UnreadableFileError",
    "UnsupportedLinkTypeError",
    "UsageError",
]


class SynackError(Exception):
    """Base class of every error synack raises deliberately."""


class InputError(SynackError):
    """The input cannot be analysed at all (exit code 2)."""


class UnreadableFileError(InputError):
    """The file does not exist, is a directory, or cannot be opened or read."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: cannot read file: {reason}")


class CaptureFormatError(InputError):
    """The bytes are not a pcap/pcapng capture where a file header was expected.

    Carries the file name, the byte offset and what was expected there, so that the
    one-line message says exactly where the file stops making sense.
    """

    def __init__(self, path: str, offset: int, expected: str, found: str = "") -> None:
        self.path = path
        self.offset = offset
        self.expected = expected
        self.found = found
        detail = f", found {found}" if found else ""
        super().__init__(f"{path}: byte {offset}: expected {expected}{detail}")


class UnsupportedLinkTypeError(InputError):
    """Every interface of the capture has a link type the native reader cannot decode."""

    def __init__(self, path: str, offset: int, linktype: int, name: str = "") -> None:
        self.path = path
        self.offset = offset
        self.linktype = linktype
        label = f"{linktype} ({name})" if name else str(linktype)
        super().__init__(
            f"{path}: byte {offset}: unsupported link type {label}; expected Ethernet, "
            "Linux cooked (SLL/SLL2), raw IP or BSD loopback (try --engine tshark)"
        )


class TsharkUnavailableError(InputError):
    """The tshark engine was requested but tshark is not installed."""


class RulesError(InputError):
    """A rules or thresholds file (TOML) is not valid: bad syntax, an unknown key, a wrong type.

    ``path`` is the file ("<text>" for rules given as a string) and ``problems`` a list of
    ``(line, message)`` pairs, line 0 when no line applies; the message names the first
    problem with its line and counts the others, so that the CLI's one line says where to look.
    """

    def __init__(self, path: str, problems: list[tuple[int, str]]) -> None:
        self.path = path
        self.problems = problems
        line, first = problems[0]
        where = f"{path}:{line}" if line else path
        more = f" (and {len(problems) - 1} more: " + "; ".join(
            f"line {n}: {m}" if n else m for n, m in problems[1:]) + ")" \
            if len(problems) > 1 else ""
        super().__init__(f"{where}: {first}{more}")


class UsageError(SynackError):
    """The command line or the API was used wrongly (bad connection id, bad option)."""
