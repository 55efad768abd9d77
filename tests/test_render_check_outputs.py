"""The CI outputs validated against their schemas: JUnit XSD, SARIF 2.1.0, our JSON Schema,
and the GitHub workflow-command format."""

from __future__ import annotations

import json
from functools import cache

import jsonschema
import pytest
from lxml import etree
from rules_util import CLEAN, DATA, FLOOD, SYN_RETRIES, WRONG_ACK, scripted_result

import analyzer
from analyzer.render.check_github import escape_data, escape_property, github_annotations
from analyzer.render.check_json import SCHEMA_VERSION, check_document, check_schema
from analyzer.render.check_junit import junit_xml
from analyzer.render.check_sarif import sarif_document
from analyzer.render.check_text import verdict_lines
from analyzer.rules import STARTER_RULES, CaptureReport, evaluate_capture, parse_rules

SYN_LINE = STARTER_RULES.splitlines().index("max_syn_retries = 0") + 1
IGNORE_LINE = len(STARTER_RULES.splitlines()) + 2
RULES = parse_rules(STARTER_RULES + '\n[[ignore]]\nfinding = "retransmission"\nserver_port = 8080'
                    '\nreason = "noise"\n', "rules.toml")


@cache
def reports() -> list[CaptureReport]:
    reps = [evaluate_capture(RULES, analyzer.analyze(str(p)), str(p))
            for p in (CLEAN, SYN_RETRIES, FLOOD)]
    reps.append(evaluate_capture(RULES, scripted_result(WRONG_ACK), "crafted wrong ack.pcap"))
    return reps


def test_junit_validates_against_the_jenkins_xsd():
    schema = etree.XMLSchema(etree.parse(str(DATA / "junit-10.xsd")))
    xml = junit_xml(reports(), "rules.toml")
    doc = etree.fromstring(xml.encode())
    assert schema.validate(doc), schema.error_log
    suites = doc.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(CLEAN), str(SYN_RETRIES), str(FLOOD),
                                               "crafted wrong ack.pcap"]
    assert doc.get("tests") == str(sum(len(r.outcomes) for r in reports()))
    clean, retries = suites[0], suites[1]
    assert clean.get("failures") == "0" and len(clean.findall("testcase")) == 9
    case = retries.find("testcase[@name='max_syn_retries']")
    failure = case.find("failure")
    assert failure.get("type") == "max_syn_retries"
    assert "expected at most 0 SYN retries per connection" in failure.get("message")
    assert f"rule: rules.toml:{SYN_LINE}" in failure.text
    assert "frames 3, 5, 8, 13, 16" in failure.text
    assert f"synack diagram {SYN_RETRIES} --conn 0" in failure.text


def test_junit_of_a_passing_run_validates_too():
    schema = etree.XMLSchema(etree.parse(str(DATA / "junit-10.xsd")))
    assert schema.validate(etree.fromstring(junit_xml(reports()[:1]).encode()))


def test_sarif_validates_against_the_2_1_0_schema():
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    doc = sarif_document(reports(), "rules.toml")
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)
    (run,) = doc["runs"]
    assert run["tool"]["driver"]["name"] == "synack" and doc["version"] == "2.1.0"
    assert run["invocations"] == [{"executionSuccessful": True, "exitCode": 1}]
    first = next(r for r in run["results"] if r["ruleId"] == "max_syn_retries")
    assert first["level"] == "error"
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        str(SYN_RETRIES)
    assert first["properties"]["frames"] == [3, 5, 8, 13, 16]
    assert first["relatedLocations"][0]["physicalLocation"]["region"] == {"startLine": SYN_LINE}
    spaced = next(r for r in run["results"] if "wrong" in r["message"]["text"])
    assert spaced["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "crafted%20wrong%20ack.pcap"
    ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in run["results"]} <= ids


def test_json_validates_against_the_shipped_schema():
    schema = check_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = check_document(reports(), "rules.toml")
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["schema_version"] == SCHEMA_VERSION == 1 and doc["exit_code"] == 1
    clean, retries, flood, crafted = doc["captures"]
    assert clean["passed"] and not retries["passed"]
    rule = next(r for r in retries["rules"] if r["id"] == "max_syn_retries")
    assert rule["line"] == SYN_LINE and rule["evidence"][0]["frames"] == [3, 5, 8, 13, 16]
    assert rule["evidence"][0]["diagram"] == f"synack diagram {SYN_RETRIES} --conn 0"
    assert flood["ignored"][0]["matched"] == 34 and flood["ignored"][0]["reason"] == "noise"
    half = next(r for r in flood["rules"] if r["id"] == "max_half_open")
    assert half["evidence_total"] == 300 and len(half["evidence"]) == 50
    assert crafted["findings"] == {"error": 1, "warning": 0, "info": 0}


def test_json_schema_rejects_an_unknown_field():
    doc = check_document(reports()[:1])
    doc["captures"][0]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, check_schema())


def test_github_annotations_are_workflow_commands():
    lines = github_annotations(reports(), "rules.toml")
    assert len(lines) == sum(len(r.broken) for r in reports())
    first = lines[0]
    assert first.startswith(f"::error file={SYN_RETRIES},title=synack%3A ")
    assert "\n" not in first and "%0Aconn 0 10.213.0.1:52532 → 10.213.0.2:8080" in first
    retries = next(ln for ln in lines if "max_syn_retries" in ln)
    assert f"title=synack%3A max_syn_retries (rules.toml%3A{SYN_LINE})::" in retries
    assert f"see: synack diagram {SYN_RETRIES} --conn 0" in retries
    assert escape_data("50% a\r\nb") == "50%25 a%0D%0Ab"
    assert escape_property("a:b,c") == "a%3Ab%2Cc"


def test_terminal_verdict_is_concise():
    lines = verdict_lines(reports(), "rules.toml", max_evidence=2)
    assert lines[-1].startswith("synack check: FAILED: ")
    assert f"{CLEAN}: 1 connection, 11 segments, findings: 0 error, 0 warning, 0 info" in lines
    assert any(ln.startswith("  ok   9 of 9 rules hold") for ln in lines)
    assert any("… and 298 more" in ln for ln in lines)
    assert f"  ignored 34 × retransmission where server_port=8080 (line {IGNORE_LINE}): noise" \
        in lines
