"""Short notes for findings drawn on a diagram ("ack = ISN+2, expected ISN+1").

The full message of a finding is long (it names both endpoints and gives raw and relative
numbers); a diagram needs a few words next to the offending arrow. Checks about the
handshake and teardown arithmetic get a formula, half-open endings a phrase, every other
check its catalogue title.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analyzer.checks import REGISTRY
from analyzer.render.ladder.labels import T

__all__ = ["HALF_OPEN_CHECKS", "SKIP_ON_ARROW", "finding_note"]

_FORMULA = {
    "synack_wrong_ack": ("ack = ISN+{o}, expected ISN+{e}", "确认号 = ISN+{o}，应为 ISN+{e}"),
    "handshake_ack_wrong_ack": ("ack = server ISN+{o}, expected ISN+{e}",
                                "确认号 = 服务器 ISN+{o}，应为 ISN+{e}"),
    "handshake_ack_wrong_seq": ("seq = ISN+{o}, expected ISN+{e}",
                                "序列号 = ISN+{o}，应为 ISN+{e}"),
    "fin_ack_wrong": ("ack = {o}, expected {e} (FIN seq+len+1)",
                      "确认号 = {o}，应为 {e}（FIN 序号+长度+1）"),
}
HALF_OPEN_CHECKS = {"syn_no_reply": "end_half_syn", "synack_no_ack": "end_half_synack",
                    "peer_vanished": "end_vanished"}
SKIP_ON_ARROW = frozenset({"retransmission"})
"""Checks whose finding is already drawn another way (the retransmission mark)."""


def finding_note(row: Mapping[str, Any], lang: str) -> str:
    """The short note of one finding (a row of ``result.findings``)."""
    check = str(row["check"])
    zh = lang == "zh"
    if check in _FORMULA and str(row.get("observed_rel", "")) and \
            str(row.get("expected_rel", "")):
        fmt = _FORMULA[check][1 if zh else 0]
        return fmt.format(o=row["observed_rel"], e=row["expected_rel"])
    if check in HALF_OPEN_CHECKS:
        return T[lang][HALF_OPEN_CHECKS[check]]
    spec = REGISTRY.get(check)
    if spec is None:
        return check
    return spec.title_zh if zh else spec.title
