"""``synack check --junit``: JUnit XML, one testsuite per capture, one testcase per rule.

Written for the JUnit dialect CI servers read (Jenkins xunit's junit-10.xsd, which GitLab,
GitHub test reporters and pytest's junitxml follow): a broken rule is a ``<failure>`` whose
message is the one-line verdict and whose text lists the evidence (connections, frames and
the command that draws each connection).
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import PurePath

from analyzer.render.check_text import evidence_lines
from analyzer.rules.model import CaptureReport, RuleOutcome

__all__ = ["junit_xml"]


def _classname(capture: str) -> str:
    stem = PurePath(capture).name or "stdin"
    return "synack." + re.sub(r"[^A-Za-z0-9_]+", "_", stem).strip("_")


def _testcase(o: RuleOutcome, classname: str, rules_source: str) -> ET.Element:
    case = ET.Element("testcase", name=o.id, classname=classname, time="0")
    if o.passed:
        ET.SubElement(case, "system-out").text = o.message
        return case
    text = [o.message]
    if rules_source and o.line:
        text.append(f"rule: {rules_source}:{o.line}")
    for ev in o.evidence:
        text += evidence_lines(ev, o.capture, indent="  ")
    if o.evidence_total > len(o.evidence):
        text.append(f"  … and {o.evidence_total - len(o.evidence):,} more")
    failure = ET.SubElement(case, "failure", message=o.message, type=o.rule)
    failure.text = "\n".join(text)
    return case


def _suite(rep: CaptureReport, rules_source: str, stamp: str, host: str) -> ET.Element:
    suite = ET.Element("testsuite", name=rep.capture, tests=str(len(rep.outcomes)),
                       failures=str(len(rep.broken)), errors="0", skipped="0", time="0",
                       timestamp=stamp, hostname=host)
    props = ET.SubElement(suite, "properties")
    for name, value in (("rules", rules_source or "(defaults)"),
                        ("connections", str(rep.connections)),
                        ("segments", str(rep.segments))):
        ET.SubElement(props, "property", name=name, value=value)
    classname = _classname(rep.capture)
    for o in rep.outcomes:
        suite.append(_testcase(o, classname, rules_source))
    if rep.warnings:
        ET.SubElement(suite, "system-err").text = "\n".join(rep.warnings)
    return suite


def junit_xml(reports: Iterable[CaptureReport], rules_source: str = "") -> str:
    """The JUnit XML document (UTF-8 text with an XML declaration)."""
    reports = list(reports)
    stamp = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    host = socket.gethostname() or "localhost"
    root = ET.Element("testsuites", name="synack check",
                      tests=str(sum(len(r.outcomes) for r in reports)),
                      failures=str(sum(len(r.broken) for r in reports)), errors="0", time="0")
    for rep in reports:
        root.append(_suite(rep, rules_source, stamp, host))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"
