"""analyzer.reassembly.source: payload bytes read back from plain and gzip files."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from analyzer.errors import UnreadableFileError
from analyzer.reassembly import source as src_mod
from analyzer.reassembly.source import PayloadSource, iter_ranges, why_not_rereadable

BLOB = np.random.default_rng(3).integers(0, 256, 300_000, dtype=np.uint8).tobytes()


@pytest.fixture(params=["plain", "gzip", "gzip-members"])
def capture(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / "blob"
    if request.param == "plain":
        path.write_bytes(BLOB)
    elif request.param == "gzip":
        path.write_bytes(gzip.compress(BLOB))
    else:  # several gzip members, as `cat a.gz b.gz` makes
        path.write_bytes(b"".join(gzip.compress(BLOB[i:i + 70_000])
                                  for i in range(0, len(BLOB), 70_000)))
    return path


def test_random_reads_forward_and_backward(capture: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(src_mod._GzipRandom, "EVERY", 50_000)  # many checkpoints
    monkeypatch.setattr(src_mod._GzipRandom, "OUT", 8_192)
    rng = np.random.default_rng(5)
    with PayloadSource(str(capture)) as src:
        for off in [*rng.integers(0, len(BLOB) - 2000, 40).tolist(), 0, len(BLOB) - 10]:
            n = min(1500, len(BLOB) - off)
            assert src.read(off, n) == BLOB[off:off + n]
        if src._gz is not None:
            assert len(src._gz._cps) >= 3  # the backward reads restarted from checkpoints
        with pytest.raises(UnreadableFileError, match="changed since"):
            src.read(len(BLOB) - 5, 10)


def test_read_many_and_iter_ranges_keep_the_callers_order(capture: Path):
    offs = np.array([250_000, 10, 14, 100_000, 12, 299_000], dtype=np.int64)
    lens = np.array([100, 5, 20, 50_000, 3, 1000], dtype=np.int64)
    want = [BLOB[o:o + n] for o, n in zip(offs, lens, strict=True)]
    with PayloadSource(str(capture)) as src:
        assert src.read_many(offs, lens) == want
        assert list(iter_ranges(src, offs, lens, budget=60)) == want


def test_not_rereadable(tmp_path: Path):
    assert "stdin" in why_not_rereadable("-")
    assert why_not_rereadable(str(tmp_path / "missing"))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "regular file" in why_not_rereadable(str(fifo))
    with pytest.raises(UnreadableFileError, match="stdin"):
        PayloadSource("-")
