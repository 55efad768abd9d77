"""The rules model: what a rules file says (:class:`Rules`), what came of it (:class:`RuleOutcome`).

A :class:`Rules` is a list of :class:`RuleSet` (the top level of the file, then each
``[[scope]]``) and a list of :class:`Ignore` entries. A rule set holds rule keys (each
``None`` when not set) and a :class:`Selector` saying which connections it judges.
Evaluating one rule of one rule set on one capture gives one :class:`RuleOutcome` with
its :class:`Evidence`: the connections and packets that broke it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

__all__ = [
    "CONNECTION_RULES", "CaptureReport", "Evidence", "Ignore", "IgnoreUse", "IpNetwork",
    "PortRange", "RuleOutcome", "RuleSet", "Rules", "Selector",
]

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
PortRange = tuple[int, int]

#: rules judged on connections (an ``[[ignore]]`` with ``rule = ...`` exempts connections)
CONNECTION_RULES = ("require_clean_close", "min_connections", "max_half_open",
                    "max_syn_retries", "max_synack_retries", "max_retransmission_rate",
                    "handshake_rtt_ms", "time_wait_side")


@dataclass(frozen=True, slots=True)
class Selector:
    """Which connections a rule set or an ignore entry is about. Empty fields match all.

    Keys combine with AND; the values of one key with OR. ``hosts`` matches either end.
    """

    server_ports: tuple[PortRange, ...] = ()
    client_ports: tuple[PortRange, ...] = ()
    hosts: tuple[IpNetwork, ...] = ()
    servers: tuple[IpNetwork, ...] = ()
    clients: tuple[IpNetwork, ...] = ()
    captures: tuple[str, ...] = ()  # glob patterns on the capture's path or file name
    conns: tuple[int, ...] = ()

    def connection_free(self) -> bool:
        """True when only ``captures`` is set: capture-wide findings (no connection) match."""
        return self == Selector(captures=self.captures)

    def describe(self) -> str:
        """``server_port=80,443 host=10.0.0.0/8``; "" for all connections."""
        parts = []
        for name, values in (("server_port", self.server_ports),
                             ("client_port", self.client_ports)):
            if values:
                parts.append(f"{name}=" + ",".join(
                    str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in values))
        for name, nets in (("host", self.hosts), ("server", self.servers),
                           ("client", self.clients)):
            if nets:
                parts.append(f"{name}=" + ",".join(_net(n) for n in nets))
        if self.captures:
            parts.append("capture=" + ",".join(self.captures))
        if self.conns:
            parts.append("conn=" + ",".join(map(str, self.conns)))
        return " ".join(parts)


def _net(n: IpNetwork) -> str:
    return str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rule keys of one table (the top level or one ``[[scope]]``); ``None`` = not set."""

    name: str = ""
    selector: Selector = field(default_factory=Selector)
    line: int = 0
    forbid_severities: tuple[str, ...] | None = None
    allow_findings: tuple[str, ...] = ()
    forbid_findings: tuple[str, ...] = ()
    finding_limits: tuple[tuple[str, int], ...] = ()
    require_clean_close: bool | None = None
    min_connections: int | None = None
    max_half_open: int | None = None
    max_syn_retries: int | None = None
    max_synack_retries: int | None = None
    max_retransmission_rate: float | None = None
    handshake_rtt_ms: tuple[tuple[str, float], ...] = ()
    time_wait_side: str | None = None
    lines: dict[str, int] = field(default_factory=dict, compare=False)  # rule key → line


@dataclass(frozen=True, slots=True)
class Ignore:
    """Known, accepted noise: findings (or connections, for a rule) that rules do not judge."""

    reason: str
    findings: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    selector: Selector = field(default_factory=Selector)
    line: int = 0

    def describe(self) -> str:
        what = ", ".join(self.findings) if self.findings else "rule " + ", ".join(self.rules)
        where = self.selector.describe()
        return f"{what}{' where ' + where if where else ''}"


@dataclass(frozen=True, slots=True)
class Rules:
    """A validated rules file: rule sets in file order (top level first) and ignores."""

    source: str
    rule_sets: tuple[RuleSet, ...]
    ignores: tuple[Ignore, ...] = ()
    version: int = 1


@dataclass(slots=True)
class Evidence:
    """One thing that broke a rule: a connection (``conn_id`` −1: the capture as a whole),
    the packets (frame numbers) to look at, and one line saying what is wrong."""

    conn_id: int
    frames: list[int]
    message: str
    check: str = ""       # the finding id, when the evidence is a finding
    connection: str = ""  # "10.0.0.1:40000 → 10.0.0.2:80"


@dataclass(slots=True)
class RuleOutcome:
    """One rule of one rule set judged on one capture."""

    rule: str        # "max_half_open", "findings.retransmission.max", "handshake_rtt_ms.p95"
    scope: str       # "" (every connection) or the [[scope]]'s name
    capture: str
    passed: bool
    expected: str
    observed: str
    message: str
    evidence: list[Evidence] = field(default_factory=list)
    evidence_total: int = 0
    ignored: int = 0  # findings or connections exempted by [[ignore]] entries
    line: int = 0     # where the rule is written in the rules file (0: a default)

    @property
    def id(self) -> str:
        """``rule`` inside its scope: ``api/handshake_rtt_ms.p95``."""
        return f"{self.scope}/{self.rule}" if self.scope else self.rule


@dataclass(slots=True)
class IgnoreUse:
    """How many findings / connections one ``[[ignore]]`` entry exempted in one capture."""

    ignore: Ignore
    matched: int


@dataclass(slots=True)
class CaptureReport:
    """Every outcome for one capture, with what the ignores exempted and the counts."""

    capture: str
    outcomes: list[RuleOutcome]
    ignores: list[IgnoreUse]
    connections: int
    segments: int
    findings: dict[str, int]  # by severity, before ignores
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def broken(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.passed]
