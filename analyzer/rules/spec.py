"""The keys of the rules language: name, value check, and one line of documentation.

Rule keys may stand at the top level (judging every connection) and in each ``[[scope]]``
(judging the connections its selector keys pick); ``[[ignore]]`` entries take selector keys
too. docs/ci.md and the starter file of ``synack check --init`` describe the same keys.
"""

from __future__ import annotations

import re
from typing import Any

from analyzer.checks.model import SEVERITIES
from analyzer.rules.lines import KeyPath
from analyzer.rules.model import CONNECTION_RULES
from analyzer.rules.values import (
    Check,
    Problems,
    boolean,
    check_ids,
    conn_ids,
    dotted,
    hosts,
    name_list,
    nonneg_int,
    number,
    ports,
    rate,
    string,
    strings,
    unknown_key,
)

__all__ = ["IGNORE_KEYS", "RULE_KEYS", "SCOPE_KEYS", "SELECTOR_KEYS", "TOP_KEYS", "key_docs"]

_PERCENTILE = re.compile(r"^p([1-9]\d?(?:\.\d+)?)$")


def finding_limits(v: Any, path: KeyPath, probs: Problems) -> tuple[tuple[str, int], ...] | None:
    """``[findings.ID]`` tables, each with ``max = N``."""
    if not isinstance(v, dict):
        probs.add(path, f"{dotted(path)} must be a table of finding ids, e.g. "
                        "[findings.retransmission] with max = 10")
        return None
    out: list[tuple[str, int]] = []
    ok = True
    for fid, limit in v.items():
        here = (*path, fid)
        ok &= check_ids(fid, here, probs) is not None
        if not isinstance(limit, dict):
            probs.add(here, f"{dotted(here)} must be a table with max = N, e.g. "
                            f"{dotted(here)} = {{ max = 0 }}")
            ok = False
            continue
        for key in limit:
            if key != "max":
                unknown_key((*here, key), probs, ["max"], f"[{dotted(here)}]")
                ok = False
        if "max" not in limit:
            probs.add(here, f"{dotted(here)} needs max = N")
            ok = False
            continue
        n = nonneg_int(limit["max"], (*here, "max"), probs)
        if n is None:
            ok = False
        else:
            out.append((fid, n))
    return tuple(out) if ok else None


def rtt_budgets(v: Any, path: KeyPath, probs: Problems) -> tuple[tuple[str, float], ...] | None:
    """``{ p50 = 1, p95 = 5, max = 20 }``: milliseconds per percentile (p1-p99) or max."""
    if not isinstance(v, dict):
        probs.add(path, f"{dotted(path)} must be a table such as {{ p50 = 1, p95 = 5, "
                        "max = 20 }} (milliseconds)")
        return None
    out: list[tuple[str, float]] = []
    ok = True
    for key, budget in v.items():
        here = (*path, key)
        if key != "max" and not _PERCENTILE.match(key):
            probs.add(here, f"{dotted(path)}: '{key}' is not a percentile: use p50, p90, p95, "
                            "p99 (any p1-p99) or max")
            ok = False
            continue
        ms = number(budget, here, probs)
        ok &= ms is not None
        if ms is not None:
            out.append((key, ms))
    return tuple(out) if ok else None


def side(v: Any, path: KeyPath, probs: Problems) -> str | None:
    got = name_list(("client", "server"), "side")(v, path, probs)
    if got is not None and len(got) != 1:
        probs.add(path, f'{dotted(path)} must be "client" or "server"')
        return None
    return got[0] if got else None


severities = name_list(SEVERITIES, "severity")

#: rule keys: name → (value check, what it asks)
RULE_KEYS: dict[str, tuple[Check, str]] = {
    "forbid_severities": (severities, 'findings of these severities break the rule '
                          '(default at the top level: ["error"]; [] turns it off)'),
    "allow_severities": (severities, "the other way round: only these severities are "
                         "allowed (instead of forbid_severities)"),
    "allow_findings": (check_ids, "finding ids never judged by forbid_severities"),
    "forbid_findings": (check_ids, "finding ids that must not occur at all, whatever "
                        "their severity"),
    "findings": (finding_limits, "[findings.ID] max = N: at most N findings of that id"),
    "require_clean_close": (boolean, "every connection ends with a FIN each way and no RST"),
    "min_connections": (nonneg_int, "at least N connections (catches an empty capture)"),
    "max_half_open": (nonneg_int, "at most N HALF-OPEN connections (SYN or SYN-ACK never "
                      "answered)"),
    "max_syn_retries": (nonneg_int, "no connection retransmits its SYN more than N times"),
    "max_synack_retries": (nonneg_int, "no connection retransmits its SYN-ACK more than N "
                           "times"),
    "max_retransmission_rate": (rate, "retransmitted segments / all segments at most this "
                                "fraction (0.01 = 1 %)"),
    "handshake_rtt_ms": (rtt_budgets, "handshake RTT budgets in ms: { p50 = 1, p95 = 5, "
                         "max = 20 } (any of p1-p99 and max)"),
    "time_wait_side": (side, '"client" or "server": the only side allowed to enter '
                       "TIME_WAIT (i.e. to close first)"),
}

#: selector keys: which connections a [[scope]] or [[ignore]] is about
SELECTOR_KEYS: dict[str, tuple[Check, str]] = {
    "server_port": (ports, 'a port, "lo-hi" range or an array of them'),
    "client_port": (ports, 'a port, "lo-hi" range or an array of them'),
    "host": (hosts, "an IP address or CIDR block (either end), or an array"),
    "server": (hosts, "the server's IP address or CIDR block, or an array"),
    "client": (hosts, "the client's IP address or CIDR block, or an array"),
    "capture": (strings, "a glob on the capture's path or file name, or an array"),
    "conn": (conn_ids, "connection ids (as `synack analyze` shows them), or an array"),
}

TOP_KEYS: dict[str, tuple[Check, str]] = {
    "version": (nonneg_int, "the rules language version: 1"),
    "scope": (strings, "[[scope]] tables: name, selector keys and rule keys"),
    "ignore": (strings, "[[ignore]] tables: finding or rule, selector keys, reason"),
    **RULE_KEYS,
}
SCOPE_KEYS = {"name": (string, "a name for the scope, shown in the outputs"),
              **SELECTOR_KEYS, **RULE_KEYS}
IGNORE_KEYS = {"finding": (check_ids, "finding id(s) to ignore"),
               "rule": (name_list(CONNECTION_RULES, "connection rule"),
                        "connection rule(s) that do not judge the selected connections"),
               "reason": (string, "why this is accepted (required)"),
               **SELECTOR_KEYS}


def key_docs() -> list[tuple[str, str, str]]:
    """(section, key, doc) rows for the documentation."""
    rows = [("rule", k, doc) for k, (_, doc) in RULE_KEYS.items()]
    rows += [("selector", k, doc) for k, (_, doc) in SELECTOR_KEYS.items()]
    return rows
