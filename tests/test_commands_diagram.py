"""`synack diagram`: formats, output files, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLEAN = ROOT / "sample_pcaps" / "01_clean_close.pcap"
GOLDEN = ROOT / "tests" / "golden" / "ladder"


def synack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, check=False)


def test_text_on_stdout_by_default():
    p = synack("diagram", str(CLEAN), "--conn", "0")
    assert p.returncode == 0, p.stderr
    assert p.stdout == (GOLDEN / "01_clean_close.conn0.en.txt").read_text(encoding="utf-8")


def test_mermaid_and_chinese():
    p = synack("diagram", str(CLEAN), "--conn", "0", "--format", "mermaid", "--lang", "zh")
    assert p.stdout == (GOLDEN / "01_clean_close.conn0.zh.mmd").read_text(encoding="utf-8")


def test_files_by_suffix(tmp_path: Path):
    for name, magic in (("d.svg", b"<?xml"), ("d.png", b"\x89PNG"), ("d.pdf", b"%PDF"),
                        ("d.mmd", b"sequenceDiagram"), ("d.txt", b"connection 0")):
        out = tmp_path / name
        p = synack("diagram", str(CLEAN), "--conn", "0", "-o", str(out))
        assert p.returncode == 0, p.stderr
        assert out.read_bytes().startswith(magic), name
    assert "11 arrows" in p.stderr


def test_raw_and_full_flags():
    p = synack("diagram", str(CLEAN), "--conn", "0", "--raw", "--full")
    assert p.returncode == 0 and "seq=0 " not in p.stdout


def test_bad_connection_is_one_line_exit_2():
    p = synack("diagram", str(CLEAN), "--conn", "7")
    assert p.returncode == 2
    assert p.stderr.strip() == "synack: error: no connection 7: this capture has connections 0..0"
