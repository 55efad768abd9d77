"""Reading a rules file: TOML → validated :class:`~analyzer.rules.model.Rules`.

Every problem is reported with the line of the key it is about (tomllib itself only gives
lines for syntax errors), all problems of a file at once, as one
:class:`~analyzer.errors.RulesError`.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from analyzer.checks.model import SEVERITIES
from analyzer.errors import RulesError
from analyzer.rules.lines import KeyPath, key_lines
from analyzer.rules.model import Ignore, Rules, RuleSet, Selector
from analyzer.rules.spec import IGNORE_KEYS, RULE_KEYS, SCOPE_KEYS, SELECTOR_KEYS, TOP_KEYS
from analyzer.rules.values import Check, Problems, dotted, toml_type, unknown_key

__all__ = ["DEFAULT_RULES", "LANGUAGE_VERSION", "load_rules", "parse_rules", "parse_toml",
           "rule_set_from_mapping", "selector_from_mapping"]

LANGUAGE_VERSION = 1

#: without a rules file: fail on error-severity findings only
DEFAULT_RULES = Rules(source="", rule_sets=(RuleSet(forbid_severities=("error",)),))

_TOML_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_rules(source: str | os.PathLike[str]) -> Rules:
    """Rules from a file path, or from TOML text (a ``str`` holding a newline or an ``=``)."""
    if isinstance(source, str) and ("\n" in source or "=" in source):
        return parse_rules(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RulesError(str(path), [(0, f"cannot read rules file: {reason}")]) from None
    return parse_rules(text, str(path))


def parse_toml(text: str, source: str) -> tuple[dict[str, Any], Problems]:
    """TOML text → (document, a Problems that knows each key's line); syntax → RulesError."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE.search(str(exc))
        msg = _TOML_LINE.sub("", str(exc)).strip()
        line = int(m.group(1)) if m else 0
        col = f", column {m.group(2)}" if m else ""
        raise RulesError(source, [(line, f"not valid TOML{col}: {msg}")]) from None
    return doc, Problems(key_lines(text), text)


def parse_rules(text: str, source: str = "<rules>") -> Rules:
    """Validate a rules document; all problems at once in one RulesError."""
    doc, probs = parse_toml(text, source)
    _known(doc, (), probs, TOP_KEYS, "the top level")
    version = doc.get("version", LANGUAGE_VERSION)
    if version != LANGUAGE_VERSION:
        probs.add(("version",), f"version = {version!r}: this synack reads rules version "
                                f"{LANGUAGE_VERSION}")
    top = _rule_set(doc, (), probs, name="", selector=Selector(), top=True)
    sets = [top] + [s for i, t in enumerate(_tables(doc, "scope", probs))
                    if (s := _scope(t, ("scope", i), probs)) is not None]
    ignores = [g for i, t in enumerate(_tables(doc, "ignore", probs))
               if (g := _ignore(t, ("ignore", i), probs)) is not None]
    if probs.items:
        raise RulesError(source, sorted(probs.items, key=lambda p: p[0]))
    return Rules(source=source, rule_sets=tuple(sets), ignores=tuple(ignores),
                 version=LANGUAGE_VERSION)


def _tables(doc: dict[str, Any], key: str, probs: Problems) -> list[dict[str, Any]]:
    v = doc.get(key, [])
    if not isinstance(v, list) or not all(isinstance(t, dict) for t in v):
        probs.add((key,), f"{key} must be written as [[{key}]] tables, not {toml_type(v)}")
        return []
    return v


def _known(t: dict[str, Any], path: KeyPath, probs: Problems,
           keys: dict[str, tuple[Check, str]], where: str) -> None:
    for key in t:
        if key not in keys:
            unknown_key((*path, key), probs, keys, where)


def _checked(t: dict[str, Any], path: KeyPath, probs: Problems,
             keys: dict[str, tuple[Check, str]]) -> dict[str, Any]:
    """Each present key of ``keys`` → its converted value (invalid ones are left out)."""
    out: dict[str, Any] = {}
    for key, (check, _) in keys.items():
        if key in t:
            value = check(t[key], (*path, key), probs)
            if value is not None:
                out[key] = value
    return out


def _selector(t: dict[str, Any], path: KeyPath, probs: Problems) -> Selector:
    v = _checked(t, path, probs, SELECTOR_KEYS)
    return Selector(server_ports=v.get("server_port", ()), client_ports=v.get("client_port", ()),
                    hosts=v.get("host", ()), servers=v.get("server", ()),
                    clients=v.get("client", ()), captures=v.get("capture", ()),
                    conns=v.get("conn", ()))


def _rule_set(t: dict[str, Any], path: KeyPath, probs: Problems, name: str,
              selector: Selector, top: bool) -> RuleSet:
    v = _checked(t, path, probs, RULE_KEYS)
    forbid: tuple[str, ...] | None = v.get("forbid_severities")
    if "allow_severities" in v:
        if "forbid_severities" in t:
            probs.add((*path, "allow_severities"), "set forbid_severities or allow_severities, "
                                                   "not both")
        forbid = tuple(s for s in SEVERITIES if s not in v["allow_severities"])
    if forbid is None and top:
        forbid = ("error",)
    lines = {k: probs.line((*path, k)) for k in RULE_KEYS if k in t}
    return RuleSet(
        name=name, selector=selector, line=probs.line(path) if path else 0,
        forbid_severities=forbid, allow_findings=v.get("allow_findings", ()),
        forbid_findings=v.get("forbid_findings", ()), finding_limits=v.get("findings", ()),
        require_clean_close=v.get("require_clean_close"),
        min_connections=v.get("min_connections"), max_half_open=v.get("max_half_open"),
        max_syn_retries=v.get("max_syn_retries"),
        max_synack_retries=v.get("max_synack_retries"),
        max_retransmission_rate=v.get("max_retransmission_rate"),
        handshake_rtt_ms=v.get("handshake_rtt_ms", ()), time_wait_side=v.get("time_wait_side"),
        lines=lines)


def _scope(t: dict[str, Any], path: KeyPath, probs: Problems) -> RuleSet | None:
    where = f"[[scope]] #{int(path[-1]) + 1}"
    _known(t, path, probs, SCOPE_KEYS, where)
    name = _checked(t, path, probs, {"name": SCOPE_KEYS["name"]}).get("name", "")
    selector = _selector(t, path, probs)
    if not any(k in t for k in SELECTOR_KEYS):
        probs.add(path, f"{where} selects every connection: give it server_port, host, "
                        "server, client, client_port, capture or conn (or move its rules to "
                        "the top level)")
    if not any(k in t for k in RULE_KEYS):
        probs.add(path, f"{where} has no rule keys")
    return _rule_set(t, path, probs, name=name or selector.describe(), selector=selector,
                     top=False)


def _ignore(t: dict[str, Any], path: KeyPath, probs: Problems) -> Ignore | None:
    where = f"[[ignore]] #{int(path[-1]) + 1}"
    _known(t, path, probs, IGNORE_KEYS, where)
    v = _checked(t, path, probs, {k: IGNORE_KEYS[k] for k in ("finding", "rule", "reason")})
    if ("finding" in t) == ("rule" in t):
        probs.add(path, f"{where} needs either finding = \"ID\" or rule = \"NAME\" "
                        "(one of them)")
    reason = v.get("reason", "").strip()
    if not reason and "reason" not in t:
        probs.add(path, f"{where} needs a reason = \"...\": why this is accepted")
    elif not reason:
        probs.add((*path, "reason"), f"{dotted((*path, 'reason'))} must not be empty")
    return Ignore(reason=reason, findings=v.get("finding", ()), rules=v.get("rule", ()),
                  selector=_selector(t, path, probs), line=probs.line(path))


def selector_from_mapping(keys: dict[str, Any], source: str = "<selector>") -> Selector:
    """A Selector from Python values (same keys and checks as in a rules file)."""
    probs = Problems({})
    _known(keys, (), probs, SELECTOR_KEYS, "a selector")
    sel = _selector(keys, (), probs)
    if probs.items:
        raise RulesError(source, probs.items)
    return sel


def rule_set_from_mapping(keys: dict[str, Any], selector: Selector | None = None,
                          name: str = "", source: str = "<rules>") -> RuleSet:
    """A RuleSet from Python values (same keys and checks as in a rules file)."""
    probs = Problems({})
    _known(keys, (), probs, RULE_KEYS, "the rules")
    rs = _rule_set(keys, (), probs, name=name, selector=selector or Selector(), top=False)
    if probs.items:
        raise RulesError(source, probs.items)
    return rs
