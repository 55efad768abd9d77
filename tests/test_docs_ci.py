"""docs/ci.md, its example workflow and rules, and the README's CI section stay true."""

from __future__ import annotations

import re

import pytest
from rules_util import ROOT, SYN_RETRIES

from analyzer.rules import load_rules
from analyzer.rules.spec import RULE_KEYS, SELECTOR_KEYS

CI = (ROOT / "docs" / "ci.md").read_text()
EXAMPLES = ROOT / "docs" / "examples"


def test_every_key_is_documented():
    for key in [*RULE_KEYS, *SELECTOR_KEYS]:
        assert f"`{key}" in CI, key


def test_the_example_rules_are_valid_and_judge_a_capture():
    import analyzer
    from analyzer.rules import evaluate

    rules = load_rules(EXAMPLES / "synack-rules.toml")
    assert rules.rule_sets[1].name == "service" and rules.ignores[0].reason
    broken = {o.id for o in evaluate(rules, analyzer.analyze(str(SYN_RETRIES)))
              if not o.passed}
    assert {"max_half_open", "max_syn_retries", "forbid_findings.syn_no_reply"} <= broken


def test_the_workflow_runs_tcpdump_around_the_tests_then_synack_check():
    yaml = pytest.importorskip("yaml")
    text = (EXAMPLES / "github-actions.yml").read_text()
    flow = yaml.safe_load(text)
    steps = flow["jobs"]["integration"]["steps"]
    runs = [str(s.get("run", "")) for s in steps]
    start = next(i for i, r in enumerate(runs) if "tcpdump -i" in r)
    test = next(i for i, r in enumerate(runs) if "pytest" in r)
    stop = next(i for i, r in enumerate(runs) if "kill -INT" in r)
    check = next(i for i, r in enumerate(runs) if r.startswith("synack check"))
    assert start < test < stop < check
    assert steps[stop]["if"] == steps[check]["if"] == "always()"
    assert "--rules docs/examples/synack-rules.toml" in runs[check]
    assert "--junit" in runs[check] and "--sarif" in runs[check]


def test_readme_has_the_ci_section_with_exit_codes_and_a_pytest_example():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## CI mode", 1)[1].split("\n## ", 1)[0]
    assert "**0**" in section and "**1**" in section and "**2**" in section
    assert re.search(r"analyzer\.expect\(capture\)\s+\.no_findings\(severity=\"error\"\)",
                     section)
    assert "docs/ci.md" in section
