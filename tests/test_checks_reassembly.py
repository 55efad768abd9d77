"""analyzer/checks/reassembly.py: overlap_different_data, data_below_isn, data_beyond_window."""

from __future__ import annotations

from pathlib import Path

from checks_util import HANDSHAKE, C, S, found
from checks_util import run as run_scripted
from reassembly_util import HANDSHAKE as PCAP_HANDSHAKE
from reassembly_util import client_data
from reassembly_util import run as run_pcap

from analyzer.checks import REGISTRY, _load_catalogue, run_checks

IDS = ("overlap_different_data", "data_below_isn", "data_beyond_window")


def test_registered_with_complete_entries():
    _load_catalogue()
    for check_id in IDS:
        spec = REGISTRY[check_id]
        assert spec.category == "reassembly" and spec.rfc.startswith("RFC ")
        assert len(spec.explanation) > 200 and spec.explanation_zh and spec.title_zh


def test_overlap_with_different_data_names_both_copies(tmp_path: Path):
    r = run_pcap(tmp_path, PCAP_HANDSHAKE + client_data((0, b"GOOD-"), (1, b"EVD-"),
                                                        (0, b"GOOD-")))
    (f,) = found(r, "overlap_different_data").itertuples()
    assert (f.conn_id, f.frame, tuple(f.frames)) == (0, 5, (4, 5))
    assert f.observed == "2 of 4 bytes differ, first at offset 1"
    assert "frame 4" in f.message and "frame 5" in f.message and "1–4" in f.message
    assert f.severity == "error" and f.expected_rel == "2–5"


def test_overlap_check_reads_nothing_without_a_rereadable_capture(tmp_path: Path):
    r = run_pcap(tmp_path, PCAP_HANDSHAKE + client_data((0, b"GOOD"), (0, b"EVIL")))
    assert len(found(r, "overlap_different_data")) == 1
    r.source = "-"
    fd = run_checks(r)
    assert "overlap_different_data" not in set(fd["check"])


def test_same_data_retransmission_is_no_finding(tmp_path: Path):
    r = run_pcap(tmp_path, PCAP_HANDSHAKE + client_data((0, b"GOOD"), (0, b"GOOD")))
    assert len(found(r, "overlap_different_data")) == 0


def test_data_below_isn():
    r = run_scripted(HANDSHAKE + [("c", "PA", C - 9, S + 1, 20), ("c", "PA", C - 30, S + 1, 5)])
    (f,) = found(r, "data_below_isn").itertuples()
    assert f.frame == 4 and tuple(f.frames) == (4, 5)
    assert "15 bytes at or below its ISN 1000" in f.message and f.expected_rel == "1"


def _windowed(data: list[tuple], wscale: tuple[int, int] = (2, 2), window: int = 100):
    cs, ss = wscale
    return [("c", "S", C, 0, 0, {"opt_wscale": cs}),
            ("s", "SA", S, C + 1, 0, {"opt_wscale": ss, "window": window}),
            ("c", "A", C + 1, S + 1, 0)] + data


def test_data_beyond_window_uses_the_scaled_window():
    ok = run_scripted(_windowed([("s", "A", S + 1, C + 1, 0, {"window": 100}),
                                 ("c", "PA", C + 1, S + 1, 400)]))
    assert len(found(ok, "data_beyond_window")) == 0  # 100 << 2 = 400 bytes
    bad = run_scripted(_windowed([("s", "A", S + 1, C + 1, 0, {"window": 100}),
                                  ("c", "PA", C + 1, S + 1, 450)]))
    (f,) = found(bad, "data_beyond_window").itertuples()
    assert f.frame == 5 and f.expected_rel == "401" and f.observed_rel == "451"
    assert "50 bytes beyond" in f.observed


def test_synack_window_is_not_scaled_and_probes_are_allowed():
    r = run_scripted(_windowed([("c", "PA", C + 1, S + 1, 150)]))
    assert len(found(r, "data_beyond_window")) == 1  # only the SYN-ACK's 100 bytes offered
    probe = run_scripted(_windowed([("s", "A", S + 1, C + 1, 0, {"window": 0}),
                                    ("c", "PA", C + 1, S + 1, 1)]))
    assert len(found(probe, "data_beyond_window")) == 0


def test_window_not_judged_without_both_syns():
    r = run_scripted([("s", "A", S + 1, C + 1, 0, {"window": 10}),
                      ("c", "PA", C + 1, S + 1, 500)])
    assert len(found(r, "data_beyond_window")) == 0
