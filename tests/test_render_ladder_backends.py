"""The three backends draw the same content (matplotlib read as artists, not pixels)."""

from __future__ import annotations

from pathlib import Path

from ladder_util import bulk_result
from matplotlib.patches import FancyArrowPatch
from scripted import ADDRESSES, columns

import analyzer
from analyzer.api import analyze_columns
from analyzer.render.ladder import build_ladder, render_mermaid, render_text
from analyzer.render.ladder.mermaid import escape
from analyzer.render.ladder.mpl import COLOURS, figure

SAMPLES = Path(__file__).resolve().parent.parent / "sample_pcaps"


def _texts(fig) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_matplotlib_has_one_arrow_patch_per_arrow_and_every_label():
    lad = build_ladder(analyzer.analyze(str(SAMPLES / "08_data_rto_backoff.pcap")), 0)
    fig = figure(lad)
    patches = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert len(patches) == len(lad.arrows)
    texts = _texts(fig)
    for a in lad.arrows:
        label = " ".join(([a.step.text] if a.step else []) + [f.text for f in a.label])
        assert label in texts
        if a.retx is not None:
            assert a.retx.text in texts
    assert "idle 6.66 s" in texts
    assert any(t.startswith("▌ client: TIME_WAIT 2·MSL = 60 s") for t in texts)
    retx = [p for p, a in zip(patches, lad.arrows, strict=True) if a.retx is not None]
    from matplotlib.colors import to_hex

    assert {to_hex(p.get_edgecolor()) for p in retx} == {COLOURS["retransmission"]}


def test_matplotlib_marks_errors_and_inferred_states():
    r = analyze_columns(columns([("c", "S", 100, 0, 0), ("s", "SA", 500, 102, 0),
                                 ("c", "A", 101, 501, 0)]), list(ADDRESSES))
    lad = build_ladder(r, 0)
    fig = figure(lad)
    from matplotlib.colors import to_hex

    patches = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert to_hex(patches[1].get_edgecolor()) == COLOURS["error"]
    assert "⚠ ack = ISN+2, expected ISN+1" in _texts(fig)
    inferred = [t for t in fig.axes[0].texts if t.get_text() == "ESTABLISHED"
                and t.get_position()[0] not in (0.0, 1.0)]  # not the lifelines' final states
    assert inferred and all(t.get_style() == "italic" for t in inferred)


def test_text_and_mermaid_carry_the_same_content():
    lad = build_ladder(analyzer.analyze(str(SAMPLES / "11_time_wait.pcap")), 0)
    text, mmd = render_text(lad), render_mermaid(lad)
    for a in lad.arrows:
        for f in a.label:
            assert f.text in text and escape(f.text) in mmd
        for n in a.notes:
            assert n.field.text in text and escape(n.field.text) in mmd
    for s in lad.states:
        word = f"[{s.state.text}]" if s.observed else f"({s.state.text})"
        assert word in text and word in mmd
    br = lad.brackets[0].text.text
    assert br in text and escape(br) in mmd
    assert mmd.startswith("sequenceDiagram\n") and mmd.count("C-)S") + mmd.count("S-)C") == 1


def test_mermaid_escapes_its_syntax():
    assert escape("a;b #1 <x>\nnext") == "a#59;b #35;1 #lt;x#gt; next"


def test_collapsed_band_in_every_backend():
    lad = build_ladder(bulk_result(3_000), 0)
    band = lad.bands[0].text.text
    assert band in render_text(lad) and band in render_mermaid(lad)
    assert band in _texts(figure(lad))


def test_blanked_sheet_draws_blanks():
    lad = build_ladder(analyzer.analyze(str(SAMPLES / "01_clean_close.pcap")), 0)
    sheet = lad.blanked({"seq", "ack", "state", "check"})
    text = render_text(sheet)
    assert "seq=____" in text and "ack=____" in text and "[____]" in text
    assert "ISN+1" not in text
    assert "seq=____" in _texts(figure(sheet))[5] or any("seq=____" in t
                                                         for t in _texts(figure(sheet)))
