"""Value checks for rules and thresholds files: each returns the converted value, or
``None`` after reporting what is wrong (with the key's line) to a :class:`Problems`."""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from typing import Any

from analyzer.rules.lines import KeyPath, line_of
from analyzer.rules.model import IpNetwork, PortRange

__all__ = [
    "Problems", "boolean", "check_ids", "conn_ids", "dotted", "hosts", "integer", "name_list",
    "nonneg_int", "number", "ports", "rate", "string", "strings", "toml_type", "unknown_key",
]

Check = Callable[[Any, KeyPath, "Problems"], Any]


class Problems:
    """Collects ``(line, message)`` pairs while a document is checked."""

    def __init__(self, lines: dict[KeyPath, int], text: str = "") -> None:
        self.lines = lines
        self.text = text.splitlines()
        self.items: list[tuple[int, str]] = []

    def add(self, path: KeyPath, message: str, value: object = None) -> None:
        """Report at the key's line; with a string ``value``, at the line holding that string
        literal from the key's line on (an element of a multi-line array)."""
        line = line_of(self.lines, path)
        if isinstance(value, str) and line:
            for n in range(line, min(line + 200, len(self.text) + 1)):
                if f'"{value}"' in self.text[n - 1] or f"'{value}'" in self.text[n - 1]:
                    line = n
                    break
        self.items.append((line, message))

    def line(self, path: KeyPath) -> int:
        return line_of(self.lines, path)


def dotted(path: KeyPath) -> str:
    """``("scope", 1, "server_port")`` → ``scope[2].server_port`` (1-based, as people count)."""
    out = ""
    for p in path:
        out += f"[{p + 1}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def toml_type(v: object) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a float"
    if isinstance(v, str):
        return f'a string ("{v}")' if len(v) < 30 else "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, datetime | date | time):
        return "a date/time"
    return type(v).__name__


def _wrong(path: KeyPath, probs: Problems, v: object, want: str) -> None:
    probs.add(path, f"{dotted(path)} must be {want}, not {toml_type(v)}")


def unknown_key(path: KeyPath, probs: Problems, known: Iterable[str], where: str) -> None:
    """Report an unknown key, suggesting the closest known one."""
    key = str(path[-1])
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    probs.add(path, f"unknown key '{key}' in {where}{hint}")


def integer(v: Any, path: KeyPath, probs: Problems, want: str = "an integer") -> int | None:
    if isinstance(v, bool) or not isinstance(v, int):
        _wrong(path, probs, v, want)
        return None
    return v


def nonneg_int(v: Any, path: KeyPath, probs: Problems) -> int | None:
    n = integer(v, path, probs, "a non-negative integer")
    if n is not None and n < 0:
        probs.add(path, f"{dotted(path)} must be ≥ 0, not {n}")
        return None
    return n


def number(v: Any, path: KeyPath, probs: Problems) -> float | None:
    """A non-negative integer or float."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        _wrong(path, probs, v, "a number")
        return None
    if v < 0:
        probs.add(path, f"{dotted(path)} must be ≥ 0, not {v}")
        return None
    return float(v)


def rate(v: Any, path: KeyPath, probs: Problems) -> float | None:
    """A fraction between 0 and 1."""
    x = number(v, path, probs)
    if x is not None and x > 1:
        probs.add(path, f"{dotted(path)} is a fraction between 0 and 1 (0.01 = 1 %), not {v}")
        return None
    return x


def boolean(v: Any, path: KeyPath, probs: Problems) -> bool | None:
    if not isinstance(v, bool):
        _wrong(path, probs, v, "true or false")
        return None
    return v


def string(v: Any, path: KeyPath, probs: Problems) -> str | None:
    if not isinstance(v, str):
        _wrong(path, probs, v, "a string")
        return None
    return v


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def strings(v: Any, path: KeyPath, probs: Problems) -> tuple[str, ...] | None:
    """A string or an array of strings."""
    out = [string(x, path, probs) for x in _as_list(v)]
    return None if any(x is None for x in out) else tuple(x for x in out if x is not None)


def name_list(known: Iterable[str], what: str, see: str = "") -> Check:
    """A string or array of strings, each one of ``known`` (suggesting the closest)."""
    names = list(known)

    def check(v: Any, path: KeyPath, probs: Problems) -> tuple[str, ...] | None:
        got = strings(v, path, probs)
        if got is None:
            return None
        bad = [x for x in got if x not in names]
        for x in bad:
            close = difflib.get_close_matches(x, names, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else \
                (f"one of: {', '.join(names)}" if len(names) <= 12 else "")
            hint = "; ".join(h for h in (hint, see) if h)
            probs.add(path, f"{dotted(path)}: unknown {what} '{x}'"
                            + (f" ({hint})" if hint else ""), value=x)
        return None if bad else got

    return check


def check_ids(v: Any, path: KeyPath, probs: Problems) -> tuple[str, ...] | None:
    """Finding ids, checked against the catalogue (`synack checks`)."""
    from analyzer.checks import REGISTRY, _load_catalogue

    _load_catalogue()
    return name_list(sorted(REGISTRY), "finding id", "see `synack checks`")(v, path, probs)


_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


def ports(v: Any, path: KeyPath, probs: Problems) -> tuple[PortRange, ...] | None:
    """A port, a "lo-hi" range, or an array of them."""
    out: list[PortRange] = []
    for x in _as_list(v):
        m = _RANGE.match(x) if isinstance(x, str) else None
        lo, hi = (int(m.group(1)), int(m.group(2))) if m else (x, x)
        if isinstance(lo, bool) or not isinstance(lo, int) or not isinstance(hi, int):
            _wrong(path, probs, x, 'a port number, a range "lo-hi" or an array of them')
            return None
        if not 0 <= lo <= hi <= 65535:
            probs.add(path, f"{dotted(path)}: {x} is not a port or port range in 0-65535",
                      value=x)
            return None
        out.append((lo, hi))
    return tuple(out)


def hosts(v: Any, path: KeyPath, probs: Problems) -> tuple[IpNetwork, ...] | None:
    """An IP address, a CIDR block, or an array of them."""
    out: list[IpNetwork] = []
    for x in _as_list(v):
        if not isinstance(x, str):
            _wrong(path, probs, x, "an IP address or CIDR block (a string) or an array")
            return None
        try:
            out.append(ipaddress.ip_network(x.strip(), strict=False))
        except ValueError:
            probs.add(path, f'{dotted(path)}: "{x}" is not an IP address or CIDR block '
                            '(e.g. "10.0.0.5", "10.0.0.0/8", "fd00::/8")', value=x)
            return None
    return tuple(out)


def conn_ids(v: Any, path: KeyPath, probs: Problems) -> tuple[int, ...] | None:
    out = [nonneg_int(x, path, probs) for x in _as_list(v)]
    return None if any(x is None for x in out) else tuple(x for x in out if x is not None)
