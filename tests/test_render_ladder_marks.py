"""Per-row step numbers and ack checks (analyzer.render.ladder.marks)."""

from __future__ import annotations

from pathlib import Path

from scripted import ADDRESSES, columns

import analyzer
from analyzer.api import analyze_columns
from analyzer.render.ladder.labels import step_text
from analyzer.render.ladder.marks import (
    ACK_2,
    ACK_3,
    ACK_4,
    FIN_1,
    FIN_3,
    SYN_1,
    SYNACK_2,
    marks,
)

SAMPLES = Path(__file__).resolve().parent.parent / "sample_pcaps"


def by_frame(name: str) -> tuple[dict[int, int], dict[int, int]]:
    r = analyzer.analyze(str(SAMPLES / name))
    m = marks(r)
    frames = r.columns["frame"].tolist()
    return dict(zip(frames, m.step.tolist(), strict=True)), \
        dict(zip(frames, m.check_ok.tolist(), strict=True))


def test_four_way_close_numbered_as_a_textbook():
    step, ok = by_frame("01_clean_close.pcap")
    assert {f: s for f, s in step.items() if s} == {
        3: SYN_1, 4: SYNACK_2, 5: ACK_3, 10: FIN_1, 11: ACK_2, 12: FIN_3, 13: ACK_4}
    assert [ok[f] for f in (3, 4, 5, 11, 13)] == [-1, 1, 1, 1, 1]


def test_three_segment_close_has_one_segment_with_two_roles():
    step, _ = by_frame("04_three_segment_close.pcap")
    assert step[11] == ACK_2 | FIN_3
    assert step_text(step[11], "en") == "2/4+3/4"
    assert step_text(step[11], "zh") == "第二次挥手+第三次挥手"


def test_simultaneous_close_numbers_by_role():
    step, _ = by_frame("03_simultaneous_close.pcap")
    assert (step[10], step[11], step[12], step[13]) == (FIN_1, FIN_3, ACK_2, ACK_4)


def test_resent_syns_are_all_step_one():
    step, _ = by_frame("10_syn_unanswered.pcap")
    assert all(s == SYN_1 for s in step.values())


def test_wrong_synack_ack_is_flagged():
    r = analyze_columns(columns([("c", "S", 100, 0, 0), ("s", "SA", 500, 102, 0),
                                 ("c", "A", 101, 501, 0)]), list(ADDRESSES))
    m = marks(r)
    assert m.step.tolist() == [SYN_1, SYNACK_2, ACK_3]
    assert m.check_ok.tolist() == [-1, 0, 1]
    assert int(m.check_want[1]) == 1
