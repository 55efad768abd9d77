"""The plots (analyzer.render.plots): their data, read from the figures' artists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PolyCollection

import analyzer
from analyzer.render import plots

SAMPLES = Path(__file__).resolve().parent.parent / "sample_pcaps"


@pytest.fixture(scope="module")
def busy() -> analyzer.AnalysisResult:
    return analyzer.analyze(str(SAMPLES / "15_busy.pcap"))


@pytest.fixture(scope="module")
def backoff() -> analyzer.AnalysisResult:
    return analyzer.analyze(str(SAMPLES / "08_data_rto_backoff.pcap"))


def test_states_over_time_stacks_every_socket(busy: analyzer.AnalysisResult) -> None:
    counts = plots.state_counts(busy)
    assert list(counts.columns)[:3] == ["SYN_SENT", "SYN_RECEIVED", "ESTABLISHED"]
    assert counts.iloc[-1]["TIME_WAIT"] == 300  # every client ends in TIME_WAIT
    assert counts.to_numpy().min() >= 0
    fig = plots.states_over_time(busy)
    polys = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    assert len(polys) == len(counts.columns)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == list(counts.columns)


def test_time_wait_per_host(busy: analyzer.AnalysisResult) -> None:
    fig = plots.time_wait_per_host(busy)
    (line, _end) = fig.axes[0].lines
    y = np.asarray(line.get_ydata())
    assert y.max() == 300 and y[-1] == 0  # 2·MSL expiry inferred after the capture
    assert line.get_label() == "10.213.0.1"


def test_handshake_rtt_histogram_counts_connections(busy: analyzer.AnalysisResult) -> None:
    fig = plots.handshake_rtt(busy)
    heights = [p.get_height() for p in fig.axes[0].patches]
    rtt = busy.core_connections["handshake_rtt_ms"].to_numpy(dtype=float)
    assert sum(heights) == int((np.isfinite(rtt) & (rtt > 0)).sum())
    assert fig.axes[0].get_xscale() == "log"  # SYN retries make the range wide


def test_backoff_chain_against_the_profile(backoff: analyzer.AnalysisResult) -> None:
    fig = plots.backoff_chains(backoff)
    lines = fig.axes[0].lines
    observed = [ln for ln in lines if ln.get_linestyle() == "-" and len(ln.get_xdata()) == 6]
    assert len(observed) == 1
    assert np.allclose(observed[0].get_ydata(), [0.2143, 0.432, 0.832, 1.664, 3.52, 6.656],
                       atol=0.002)
    (expected,) = [ln for ln in lines if ln.get_linestyle() == "--"]
    assert list(expected.get_xdata()) == [1, 2, 3, 4, 5, 6]
    ys = np.asarray(expected.get_ydata())
    assert np.allclose(ys[1:] / ys[:-1], 2.0, rtol=0.05)  # Linux doubles the RTO
    assert "linux" in expected.get_label()


def test_time_sequence_graph(backoff: analyzer.AnalysisResult) -> None:
    fig = plots.time_sequence(backoff, 0)
    ax = fig.axes[0]
    vl = [c for c in ax.collections if isinstance(c, LineCollection)]
    seg, retx = vl
    assert len(seg.get_segments()) + len(retx.get_segments()) == 17  # server segments
    assert len(retx.get_segments()) == 9
    ack = next(ln for ln in ax.lines if ln.get_label() == "ACK")
    assert max(ack.get_ydata()) == 4202  # FIN acknowledged
    assert "server → client" in ax.get_title()


def test_empty_plots_say_so() -> None:
    r = analyzer.analyze(str(SAMPLES / "01_clean_close.pcap"))
    fig = plots.backoff_chains(r)
    assert [t.get_text() for t in fig.axes[0].texts] == ["no retransmission"]
