"""Where each key of a TOML text is: tomllib parses values but keeps no line numbers.

:func:`key_lines` scans the text once and maps every key path to the line that defines it,
in the same shape as the parsed document: ``("scope", 1, "server_port")`` is the
``server_port`` key of the second ``[[scope]]`` table. Table headers map to their header
line. Keys inside inline tables and values inside arrays are not mapped: :func:`line_of`
falls back to the longest mapped prefix (the line of the key that holds them).
"""

from __future__ import annotations

import re

__all__ = ["KeyPath", "key_lines", "line_of"]

KeyPath = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_BASIC = re.compile(r'"((?:[^"\\]|\\.)*)"')
_LITERAL = re.compile(r"'([^']*)'")
_DOT = re.compile(r"\s*\.\s*")


def key_lines(text: str) -> dict[KeyPath, int]:
    """Map each key path of ``text`` to its 1-based line (see the module docstring)."""
    lines: dict[KeyPath, int] = {}
    arrays: dict[KeyPath, int] = {}
    table: KeyPath = ()
    scan = _Scanner()
    for n, raw in enumerate(text.splitlines(), start=1):
        if scan.inside():
            scan.feed(raw)
            continue
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            is_array = stripped.startswith("[[")
            parts, _ = _parse_key(stripped[2 if is_array else 1:])
            if parts:
                table = _resolve(parts, arrays, is_array)
                _record(lines, table, n)
            continue
        parts, rest = _parse_key(stripped)
        if parts and rest.lstrip().startswith("="):
            _record(lines, table + tuple(parts), n)
            scan.feed(rest.lstrip()[1:])
    return lines


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int:
    """Line of ``path``, else of its longest mapped prefix; 0 when nothing matches."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 0


def _record(lines: dict[KeyPath, int], path: KeyPath, n: int) -> None:
    for end in range(1, len(path) + 1):
        lines.setdefault(path[:end], n)
    lines[path] = n


def _resolve(parts: list[str], arrays: dict[KeyPath, int], is_array: bool) -> KeyPath:
    """Header parts → key path, with the current index of every array of tables on the way."""
    path: list[str | int] = []
    for i, part in enumerate(parts):
        path.append(part)
        here = tuple(path)
        if is_array and i == len(parts) - 1:
            arrays[here] = arrays.get(here, 0) + 1
            path.append(arrays[here] - 1)
        elif here in arrays:
            path.append(arrays[here] - 1)
    return tuple(path)


def _parse_key(s: str) -> tuple[list[str], str]:
    """A (dotted, possibly quoted) key at the start of ``s`` → its parts and the rest."""
    parts: list[str] = []
    rest = s.lstrip()
    while True:
        for pattern in (_BASIC, _LITERAL, _BARE):
            m = pattern.match(rest)
            if m:
                parts.append(m.group(1) if m.groups() else m.group(0))
                rest = rest[m.end():]
                break
        else:
            return parts, rest
        dot = _DOT.match(rest)
        if not dot:
            return parts, rest
        rest = rest[dot.end():]


class _Scanner:
    """Tracks what a value leaves open across lines: brackets and multi-line strings."""

    def __init__(self) -> None:
        self.depth = 0
        self.multiline: str = ""  # the open delimiter, '"""' or "'''"

    def inside(self) -> bool:
        return self.depth > 0 or bool(self.multiline)

    def feed(self, s: str) -> None:
        i = 0
        while i < len(s):
            if self.multiline:
                end = s.find(self.multiline, i)
                if end < 0:
                    return
                i, self.multiline = end + 3, ""
                continue
            ch = s[i]
            if s.startswith(('"""', "'''"), i):
                self.multiline = s[i:i + 3]
                i += 3
            elif ch in "\"'":
                m = (_BASIC if ch == '"' else _LITERAL).match(s, i)
                i = m.end() if m else len(s)
            elif ch == "#":
                return
            else:
                self.depth += (ch in "[{") - (ch in "]}")
                i += 1
