"""The rules language of ``synack check``: TOML expectations judged on a capture.

>>> from analyzer.rules import load_rules, evaluate
>>> rules = load_rules("max_half_open = 0\nrequire_clean_close = true\n")
>>> outcomes = evaluate(rules, analyzer.analyze("capture.pcap"))   # doctest: +SKIP
>>> [o.id for o in outcomes if not o.passed]                        # doctest: +SKIP

A library API (the CLI, ``analyzer.expect`` and classroom grading use it): ``load_rules``
validates (errors name the line: :class:`~analyzer.errors.RulesError`), ``evaluate`` returns
one :class:`RuleOutcome` per rule with the :class:`Evidence` (connections and frames) that
broke it. The keys are documented in docs/ci.md and in ``synack check --init``'s file.
"""

from analyzer.rules.evaluate import evaluate, evaluate_capture
from analyzer.rules.load import DEFAULT_RULES, LANGUAGE_VERSION, load_rules, parse_rules
from analyzer.rules.model import (
    CaptureReport,
    Evidence,
    Ignore,
    IgnoreUse,
    RuleOutcome,
    Rules,
    RuleSet,
    Selector,
)
from analyzer.rules.starter import STARTER_RULES

__all__ = [
    "DEFAULT_RULES", "LANGUAGE_VERSION", "STARTER_RULES", "CaptureReport", "Evidence", "Ignore",
    "IgnoreUse", "RuleOutcome", "RuleSet", "Rules", "Selector", "evaluate", "evaluate_capture",
    "load_rules", "parse_rules",
]
