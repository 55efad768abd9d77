"""Golden diagrams of the sample captures: text, Mermaid and SVG, byte for byte.

Regenerate after an intended change (then review the diff and look at the SVGs)::

    SYNACK_UPDATE_GOLDEN=1 python -m pytest tests/test_render_ladder_golden.py

The SVGs are compared exactly when the golden files were written with the installed
matplotlib (its version is kept in tests/golden/ladder/matplotlib_version.txt); with
another version, glyph outlines and float formatting may differ, so only the SVG's
element structure is compared.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib
import pytest

import analyzer
from analyzer.render.ladder import build_ladder, render

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "ladder"
UPDATE = os.environ.get("SYNACK_UPDATE_GOLDEN") == "1"
VERSION_FILE = GOLDEN / "matplotlib_version.txt"

CASES = [  # (capture, connection, language, formats)
    ("01_clean_close.pcap", 0, "en", ("txt", "mermaid", "svg")),
    ("01_clean_close.pcap", 0, "zh", ("txt", "mermaid")),
    ("04_three_segment_close.pcap", 0, "en", ("txt", "mermaid")),
    ("08_data_rto_backoff.pcap", 0, "en", ("txt", "mermaid", "svg")),
    ("10_syn_unanswered.pcap", 0, "en", ("txt", "mermaid", "svg")),
    ("11_time_wait.pcap", 0, "en", ("txt", "mermaid")),
    ("14_sll2_any_nano_ng.pcapng", 0, "en", ("txt",)),
]
SUFFIX = {"txt": "txt", "mermaid": "mmd", "svg": "svg"}


def _params() -> list[tuple[str, int, str, str]]:
    return [(c, n, lang, f) for c, n, lang, fmts in CASES for f in fmts]


def _skeleton(svg: str) -> list[str]:
    """Element names and ids: what survives a matplotlib upgrade."""
    return re.findall(r"<(/?[\w:]+)(?=[\s>/])", svg)


@pytest.mark.parametrize(("capture", "conn", "lang", "fmt"), _params())
def test_golden(capture: str, conn: int, lang: str, fmt: str) -> None:
    result = analyzer.analyze(str(ROOT / "sample_pcaps" / capture))
    out = render(build_ladder(result, conn, lang=lang), fmt)
    assert isinstance(out, str)
    path = GOLDEN / f"{Path(capture).stem}.conn{conn}.{lang}.{SUFFIX[fmt]}"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(out, encoding="utf-8")
        VERSION_FILE.write_text(matplotlib.__version__ + "\n")
        return
    assert path.exists(), f"missing golden file {path}: run with SYNACK_UPDATE_GOLDEN=1"
    want = path.read_text(encoding="utf-8")
    if fmt == "svg" and VERSION_FILE.read_text().strip() != matplotlib.__version__:
        assert _skeleton(out) == _skeleton(want)
        return
    assert out == want, f"{path.name} differs: SYNACK_UPDATE_GOLDEN=1 rewrites it"


def test_svg_is_deterministic() -> None:
    result = analyzer.analyze(str(ROOT / "sample_pcaps" / "01_clean_close.pcap"))
    lad = build_ladder(result, 0)
    first, second = render(lad, "svg"), render(lad, "svg")
    assert first == second
    assert isinstance(first, str) and "<dc:date>" not in first and "Matplotlib v" not in first
