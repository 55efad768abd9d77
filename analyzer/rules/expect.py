"""``analyzer.expect(path)``: the rules as assertions, for test suites (pytest or any).

>>> import analyzer
>>> (analyzer.expect("test.pcap")                       # doctest: +SKIP
...     .no_findings(severity="error")
...     .max_half_open(0)
...     .max_syn_retries(0)
...     .where(server_port=5432).handshake_rtt_ms(p95=2))

Each method judges one rule at once and raises ``AssertionError`` with the same text as
``synack check``'s verdict (the connections, frames and diagram command) when it is broken;
it returns the expectation, so calls chain. The capture is analysed once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from analyzer.checks.model import SEVERITIES
from analyzer.render.check_text import outcome_lines
from analyzer.rules.evaluate import evaluate
from analyzer.rules.load import load_rules, rule_set_from_mapping, selector_from_mapping
from analyzer.rules.model import RuleOutcome, Rules, Selector

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["Expectation", "expect"]


def expect(capture: str | os.PathLike[str] | AnalysisResult, *, profile: str = "auto",
           engine: str = "native") -> Expectation:
    """Expectations about one capture (a path, or an already computed AnalysisResult)."""
    from analyzer.api import analyze
    from analyzer.result import AnalysisResult

    if isinstance(capture, AnalysisResult):
        return Expectation(capture, capture.source)
    path = os.fspath(capture)
    return Expectation(analyze(path, profile=profile, engine=engine), path)


class Expectation:
    """Chainable assertions about one capture (see the module docstring)."""

    def __init__(self, result: AnalysisResult, capture: str,
                 selector: Selector | None = None, name: str = "") -> None:
        self.result = result
        self.capture = capture
        self.selector = selector or Selector()
        self.name = name

    def where(self, name: str = "", **selector: Any) -> Expectation:
        """The same capture, judged only on some connections: ``server_port``,
        ``client_port``, ``host``, ``server``, ``client`` (IP or CIDR), ``conn``."""
        sel = selector_from_mapping(selector, "expect().where()")
        return Expectation(self.result, self.capture, sel, name or sel.describe())

    # --- findings -----------------------------------------------------------------------

    def no_findings(self, severity: str | Sequence[str] | None = None, *,
                    check: str | Sequence[str] | None = None,
                    allow: Sequence[str] = ()) -> Expectation:
        """No finding of ``severity`` (default: any severity) except the ``allow`` ids; or,
        with ``check``, no finding of those ids whatever their severity."""
        __tracebackhide__ = True
        if check is not None:
            return self._judge(forbid_findings=_listed(check))
        sev = list(SEVERITIES) if severity is None else _listed(severity)
        return self._judge(forbid_severities=sev, allow_findings=list(allow))

    def max_findings(self, check: str, n: int) -> Expectation:
        """At most ``n`` findings of id ``check``."""
        __tracebackhide__ = True
        return self._judge(findings={check: {"max": n}})

    # --- connections --------------------------------------------------------------------

    def clean_close(self) -> Expectation:
        """Every connection ends with a FIN each way and no RST."""
        __tracebackhide__ = True
        return self._judge(require_clean_close=True)

    def min_connections(self, n: int) -> Expectation:
        __tracebackhide__ = True
        return self._judge(min_connections=n)

    def max_half_open(self, n: int) -> Expectation:
        __tracebackhide__ = True
        return self._judge(max_half_open=n)

    def max_syn_retries(self, n: int) -> Expectation:
        __tracebackhide__ = True
        return self._judge(max_syn_retries=n)

    def max_synack_retries(self, n: int) -> Expectation:
        __tracebackhide__ = True
        return self._judge(max_synack_retries=n)

    def max_retransmission_rate(self, fraction: float) -> Expectation:
        __tracebackhide__ = True
        return self._judge(max_retransmission_rate=fraction)

    def handshake_rtt_ms(self, **budgets: float) -> Expectation:
        """Budgets in ms per percentile: ``handshake_rtt_ms(p50=1, p95=5, max=20)``."""
        __tracebackhide__ = True
        return self._judge(handshake_rtt_ms=budgets)

    def time_wait_side(self, side: str) -> Expectation:
        """Only ``side`` ("client" or "server") enters TIME_WAIT."""
        __tracebackhide__ = True
        return self._judge(time_wait_side=side)

    def rules(self, source: str | os.PathLike[str]) -> Expectation:
        """Every rule of a rules file (path or TOML text) must hold."""
        __tracebackhide__ = True
        self._raise_broken(evaluate(load_rules(source), self.result, self.capture))
        return self

    # --- machinery ----------------------------------------------------------------------

    def _judge(self, **keys: Any) -> Expectation:
        __tracebackhide__ = True
        rs = rule_set_from_mapping(keys, self.selector, self.name, "expect()")
        self._raise_broken(evaluate(Rules("expect()", (rs,)), self.result, self.capture))
        return self

    def _raise_broken(self, outcomes: list[RuleOutcome]) -> None:
        __tracebackhide__ = True
        broken = [o for o in outcomes if not o.passed]
        if broken:
            lines = [f"synack: {len(broken)} expectation(s) broken in {self.capture}:"]
            for o in broken:
                lines += outcome_lines(o, None, max_evidence=10)
            raise AssertionError("\n".join(lines))


def _listed(v: str | Sequence[str]) -> list[str]:
    return [v] if isinstance(v, str) else list(v)
