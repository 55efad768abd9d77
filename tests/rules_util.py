"""Shared helpers of the rules/CI tests: sample paths, CLI runner, crafted captures."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import dpkt
import pytest
from _pcap_builders import Frame, ethernet, ipv4, tcp_segment, write_pcap

from analyzer.api import analyze_columns
from analyzer.result import AnalysisResult

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_pcaps"
DATA = Path(__file__).resolve().parent / "data"

CLEAN = SAMPLES / "01_clean_close.pcap"
SERVER_CLOSE = SAMPLES / "02_server_close.pcap"
SYN_RETRIES = SAMPLES / "06_syn_retries_linear0.pcap"
REFUSED = SAMPLES / "09_refused.pcap"
SYN_UNANSWERED = SAMPLES / "10_syn_unanswered.pcap"
FLOOD = SAMPLES / "12_syn_flood.pcap"
BUSY = SAMPLES / "15_busy.pcap"

C, S = 1000, 5000  # client and server ISNs of the crafted captures
#: a SYN-ACK acknowledging ISN+2 (error: synack_wrong_ack), then the client resets
WRONG_ACK = [("c", "S", C, 0, 0), ("s", "SA", S, C + 2, 0), ("c", "R", C + 2, 0, 0)]

_FLAGS = {"S": dpkt.tcp.TH_SYN, "A": dpkt.tcp.TH_ACK, "F": dpkt.tcp.TH_FIN,
          "R": dpkt.tcp.TH_RST, "P": dpkt.tcp.TH_PUSH}


def synack(*args: str, env: dict[str, str] | None = None,
           cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run the CLI as users do (through main(): exit codes and one-line errors)."""
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], capture_output=True,
                          text=True, cwd=cwd, check=False, env=env)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str,
            env: dict[str, str] | None = None, cwd: Path | None = None) -> Ran:
    """The CLI in this process (faster than :func:`synack`), through main() all the same."""
    from analyzer.cli import main

    capsys.readouterr()
    with monkeypatch.context() as m:
        m.setattr(sys, "argv", ["synack", *args])
        m.delenv("GITHUB_ACTIONS", raising=False)
        for k, v in (env or {}).items():
            m.setenv(k, v)
        if cwd is not None:
            m.chdir(cwd)
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return Ran(code, out, err)


def write_script(path: Path, script: list[tuple], cport: int = 40000, sport: int = 80) -> Path:
    """A pcap of a scripted connection 10.0.0.1:cport → 10.0.0.2:sport (see tests/scripted)."""
    frames = []
    for i, (d, fl, seq, ack, length) in enumerate(script):
        src, dst, a, b = ("10.0.0.1", "10.0.0.2", cport, sport) if d == "c" else \
            ("10.0.0.2", "10.0.0.1", sport, cport)
        seg = tcp_segment(sport=a, dport=b, seq=seq % 2**32, ack=ack % 2**32,
                          flags=sum(_FLAGS[ch] for ch in fl), payload=b"x" * length)
        frames.append(Frame(ethernet(ipv4(src, dst, seg, ident=i + 1)),
                            ts_ns=1_700_000_000 * 10**9 + i * 10_000_000))
    write_pcap(str(path), frames)
    return path


def scripted_result(script: list[tuple]) -> AnalysisResult:
    from scripted import ADDRESSES, columns

    return analyze_columns(columns(script), ADDRESSES)  # type: ignore[arg-type]
