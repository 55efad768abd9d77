"""The ladder layout model (analyzer.render.ladder): data, not pixels."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from ladder_util import bulk_result
from scripted import ADDRESSES, columns

import analyzer
from analyzer.api import analyze_columns
from analyzer.errors import UsageError
from analyzer.render.ladder import BLANK, Field, Ladder, LayoutOptions, build_ladder

SAMPLES = Path(__file__).resolve().parent.parent / "sample_pcaps"
_CACHE: dict[str, analyzer.AnalysisResult] = {}


def result(name: str) -> analyzer.AnalysisResult:
    if name not in _CACHE:
        _CACHE[name] = analyzer.analyze(str(SAMPLES / name))
    return _CACHE[name]


def ladder(name: str, conn: int = 0, **kw: object) -> Ladder:
    return build_ladder(result(name), conn, **kw)  # type: ignore[arg-type]


def label(a) -> str:  # type: ignore[no-untyped-def]
    return " ".join(f.text for f in a.label)


def test_one_arrow_per_segment_slanted_down():
    lad = ladder("01_clean_close.pcap")
    assert [a.frame for a in lad.arrows] == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert all(a.y_arrive > a.y_send for a in lad.arrows)
    assert [a.src for a in lad.arrows[:3]] == ["client", "server", "client"]
    ys = [a.y_capture for a in lad.arrows]
    assert ys == sorted(ys)
    assert lad.height > max(a.y_arrive for a in lad.arrows)
    assert lad.client.title.text == "client 10.213.0.1:45372" or \
        lad.client.title.text.startswith("client 10.213.0.1:")
    assert (lad.client.initial.value, lad.server.initial.value) == ("CLOSED", "LISTEN")
    assert (lad.client.final.value, lad.server.final.value) == ("TIME_WAIT", "CLOSED")


def test_labels_steps_and_checks():
    lad = ladder("01_clean_close.pcap")
    a = {x.frame: x for x in lad.arrows}
    assert label(a[3]).startswith("SYN seq=0 win=64240 mss=1460")
    assert label(a[4]).startswith("SYN, ACK seq=0 ack=1")
    assert label(a[6]) == "PSH, ACK seq=1 ack=1 len=300"
    steps = {f: x.step.value for f, x in a.items() if x.step}
    assert steps == {3: "1/3", 4: "2/3", 5: "3/3", 10: "1/4", 11: "2/4", 12: "3/4", 13: "4/4"}
    assert a[4].check is not None and a[4].check.value == "ack = client ISN+1 ✓"
    assert a[5].check is not None and a[5].check.value == "ack = server ISN+1 ✓"
    assert a[11].check is not None and a[11].check.value == "ack = FIN seq+len+1 ✓"


def test_window_shown_only_when_it_changes():
    lad = ladder("01_clean_close.pcap")
    wins = [f.value for a in lad.arrows for f in a.label if f.kind == "win"]
    assert len(wins) == len(set(wins)) or len(wins) < len(lad.arrows)


def test_raw_numbers_on_request():
    r = result("01_clean_close.pcap")
    isn = int(r.connections.iloc[0]["client_isn"])
    lad = build_ladder(r, 0, raw=True)
    seq = next(f for f in lad.arrows[0].label if f.kind == "seq")
    assert seq.value == str(isn)


def test_states_observed_at_sender_inferred_at_arrival():
    lad = ladder("01_clean_close.pcap")
    a4 = next(a for a in lad.arrows if a.frame == 4)
    marks = [s for s in lad.states if s.frame == 4]
    srv = next(s for s in marks if s.role == "server")
    cli = next(s for s in marks if s.role == "client")
    assert (srv.state.value, srv.observed, srv.y) == ("SYN_RECEIVED", True, a4.y_send)
    assert (cli.state.value, cli.observed, cli.y) == ("ESTABLISHED", False, a4.y_arrive)
    assert [s.state.value for s in lad.states if s.role == "client"] == [
        "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT"]


def test_time_wait_bracket_open_past_the_capture():
    lad = ladder("01_clean_close.pcap")
    (br,) = lad.brackets
    assert br.role == "client" and br.open_end
    assert br.text.value.startswith("TIME_WAIT 2·MSL = 60 s; still in TIME_WAIT")
    tw = next(s for s in lad.states if s.state.value == "TIME_WAIT")
    assert br.y_top == tw.y and br.y_bottom > br.y_top


def test_time_wait_ended_by_reuse():
    (br,) = ladder("11_time_wait.pcap").brackets
    assert not br.open_end and "4-tuple reuse" in br.text.value


def test_retransmission_marks_and_idle_breaks():
    lad = ladder("08_data_rto_backoff.pcap")
    retx = [a.retx.value for a in lad.arrows if a.retx is not None]
    assert retx[:3] == ["TLP 6.2 ms", "RTO #1 214 ms", "RTO #2 432 ms ×2.0"]
    assert "RTO #6 6.66 s ×1.9" in retx
    assert all(a.style == "retransmission" for a in lad.arrows if a.retx is not None)
    secs = sorted(round(g.seconds, 2) for g in lad.gaps)
    assert secs[-1] == pytest.approx(6.66, abs=0.01)
    assert all(g.text.value.startswith("idle ") for g in lad.gaps)
    for g in lad.gaps:  # nothing is drawn inside a break
        assert not any(g.y_top < a.y_capture < g.y_bottom for a in lad.arrows)


def test_finding_drawn_on_the_offending_arrow():
    r = analyze_columns(columns([("c", "S", 100, 0, 0), ("s", "SA", 500, 102, 0),
                                 ("c", "A", 101, 501, 0)]), list(ADDRESSES))
    lad = build_ladder(r, 0)
    sa = lad.arrows[1]
    assert sa.style == "error"
    assert [n.field.value for n in sa.notes] == ["ack = ISN+2, expected ISN+1"]
    assert sa.check is not None and sa.check.value.startswith("ack = client ISN+2 ✗")


def test_half_open_ending_marked():
    lad = ladder("10_syn_unanswered.pcap")
    last = lad.arrows[-1]
    assert [n.field.value for n in last.notes] == ["half-open: no reply to this SYN"]
    assert last.style == "warning"
    assert lad.client.final.value == "SYN_SENT"


def test_reset_and_refused_endings():
    lad = ladder("09_refused.pcap")
    assert lad.arrows[-1].style == "reset"
    assert [n.field.value for n in lad.notes] == ["refused: the SYN was answered by an RST"]


def test_chinese_labels_keep_state_names():
    lad = ladder("01_clean_close.pcap", lang="zh")
    assert lad.arrows[0].step is not None and lad.arrows[0].step.value == "第一次握手"
    assert lad.client.title.value.startswith("客户端 ")
    assert {s.state.value for s in lad.states} >= {"SYN_SENT", "TIME_WAIT"}


def test_bad_connection_id():
    with pytest.raises(UsageError):
        ladder("01_clean_close.pcap", 5)


def test_ten_thousand_segments_collapse_to_a_readable_diagram():
    r = bulk_result(10_000)
    t0 = time.perf_counter()
    lad = build_ladder(r, 0)
    elapsed = time.perf_counter() - t0  # timed in benchmarks/bench_ladder.py, not asserted
    assert 20 <= len(lad.arrows) <= 80, elapsed
    assert lad.bands and all(b.segments >= 4 for b in lad.bands)
    assert sum(b.segments for b in lad.bands) + len(lad.arrows) == lad.segments >= 10_000
    assert lad.bands[0].text.value.startswith("… 1,")
    assert "data segments" in lad.bands[0].text.value
    steps = [a.step.value for a in lad.arrows if a.step]
    assert steps == ["1/3", "2/3", "3/3", "1/4", "2/4", "3/4", "4/4"]
    assert sum(a.retx is not None for a in lad.arrows) >= 5  # every RTO kept as an arrow
    assert lad.height < 400


def test_full_draws_every_segment():
    lad = build_ladder(bulk_result(600), 0, full=True)
    assert len(lad.arrows) == 600 and not lad.bands


def test_options_cap_arrows():
    lad = build_ladder(bulk_result(2_000), 0, options=LayoutOptions(max_arrows=20, context=1))
    assert len(lad.arrows) <= 30 and lad.bands


def test_blanked_keeps_the_answers():
    lad = ladder("01_clean_close.pcap")
    sheet = lad.blanked({"seq", "ack", "state"}, keep=lambda f: f.kind == "seq" and
                        f.value == "0")
    seqs = [f for a in sheet.arrows for f in a.label if f.kind == "seq"]
    assert seqs[0].text == "seq=0" and seqs[2].text == f"seq={BLANK}"
    assert seqs[2].value == "1"
    assert all(s.state.text == BLANK for s in sheet.states)
    assert sheet.client.initial.text == BLANK and sheet.client.initial.value == "CLOSED"
    assert [a.frame for a in sheet.arrows] == [a.frame for a in lad.arrows]
    flags = [f for a in sheet.arrows for f in a.label if f.kind == "flags"]
    assert not any(f.blank for f in flags)
    with pytest.raises(ValueError, match="unknown field kinds"):
        lad.blanked({"sequence"})


def test_map_fields_and_iter_fields():
    lad = ladder("01_clean_close.pcap")
    kinds = {f.kind for f in lad.iter_fields()}
    assert {"flags", "seq", "ack", "step", "check", "state", "title", "legend"} <= kinds
    up = lad.map_fields(lambda f: Field(f.kind, f.value.lower(), f.label, f.blank))
    assert up.arrows[0].label[0].text == "syn"
    assert up.states[0].state.text == "syn_sent"
