"""Byte streams under the capture readers: a path or stdin, gzip-compressed or not.

:class:`ByteStream` hands out the *decompressed* bytes in large chunks and counts the raw
(possibly compressed) bytes consumed, for progress reporting. Offsets used elsewhere
(``FrameBatch.base``, ``payload_off``) are offsets in the decompressed stream.
"""

from __future__ import annotations

import os
import stat
import sys
import zlib
from typing import BinaryIO

from analyzer.errors import CaptureFormatError, UnreadableFileError

__all__ = ["GZIP_MAGIC", "STDIN", "ByteStream", "read_bytes"]

STDIN = "-"
GZIP_MAGIC = b"\x1f\x8b"


class _CountingReader:
    """A raw file object with a pushed-back prefix and a count of bytes read."""

    def __init__(self, raw: BinaryIO, prefix: bytes = b"") -> None:
        self._raw = raw
        self._prefix = prefix
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            head = self._prefix if size < 0 else self._prefix[:size]
            self._prefix = self._prefix[len(head):]
            rest = b"" if size >= 0 and len(head) == size else self._raw.read(
                -1 if size < 0 else size - len(head))
            data = head + rest
        else:
            data = self._raw.read(size)
        self.consumed += len(data)
        return data

    def readinto(self, view: memoryview) -> int:
        if self._prefix:
            data = self.read(len(view))
            view[:len(data)] = data
            return len(data)
        n = self._raw.readinto(view) or 0  # type: ignore[attr-defined]
        self.consumed += n
        return n

    def seek(self, offset: int) -> None:
        self._prefix = b""
        self._raw.seek(offset)

    def close(self) -> None:
        self._raw.close()


class _GzipReader:
    """Streaming gzip decompression (any number of members) that keeps what it decoded.

    Unlike :class:`gzip.GzipFile`, a stream that is cut short yields every byte decoded
    before the cut and reports the cut in ``cut``; bytes after the last member that do not
    start another member are ignored.
    """

    RAW_CHUNK = 1 << 20
    OUT_CHUNK = 8 << 20

    def __init__(self, raw: _CountingReader) -> None:
        self._raw = raw
        self._d = zlib.decompressobj(31)
        self._out = b""
        self._pos = 0
        self._done = False
        self.cut = ""

    def _more(self) -> bytes:
        """The next piece of decompressed data (b"" at the end); raises zlib.error."""
        while not self._done:
            d = self._d
            if d.eof:
                src = d.unused_data or self._raw.read(self.RAW_CHUNK)
                if not src.startswith(GZIP_MAGIC[: len(src)]) or not src:
                    self._done = True
                    break
                self._d = d = zlib.decompressobj(31)
            else:
                src = d.unconsumed_tail or self._raw.read(self.RAW_CHUNK)
                if not src:
                    self._done = True
                    self.cut = "compressed stream ended before its end marker"
                    break
            out = d.decompress(src, self.OUT_CHUNK)
            if out:
                return out
        return b""

    def readinto(self, view: memoryview) -> int:
        if self._pos >= len(self._out):
            self._out, self._pos = self._more(), 0
        n = min(len(view), len(self._out) - self._pos)
        view[:n] = self._out[self._pos:self._pos + n]
        self._pos += n
        return n


def _open_raw(path: str) -> tuple[BinaryIO, int | None]:
    """Open a path (or stdin) for binary reading; returns the file and its size if known."""
    if path == STDIN:
        return sys.stdin.buffer, None
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise UnreadableFileError(path, "is a directory")
        f = open(path, "rb")  # noqa: SIM115 - closed by ByteStream.close
    except UnreadableFileError:
        raise
    except FileNotFoundError:
        raise UnreadableFileError(path, "no such file") from None
    except PermissionError:
        raise UnreadableFileError(path, "permission denied") from None
    except OSError as e:
        raise UnreadableFileError(path, e.strerror or str(e)) from None
    return f, (st.st_size if stat.S_ISREG(st.st_mode) else None)


class ByteStream:
    """The decompressed bytes of a capture source, read a chunk at a time."""

    def __init__(self, path: str) -> None:
        self.path = path
        raw, self.total = _open_raw(path)
        try:
            magic = raw.read(2)
        except OSError as e:
            raw.close()
            raise UnreadableFileError(path, e.strerror or str(e)) from None
        self._raw = _CountingReader(raw, magic)
        self.gzip = magic == GZIP_MAGIC
        self._gz = _GzipReader(self._raw) if self.gzip else None
        self._f: _CountingReader | _GzipReader = self._gz or self._raw
        self.offset = 0          # decompressed bytes handed out so far
        self.eof = False
        self._error = ""
        self._stop: int | None = None

    def window(self, start: int, stop: int | None) -> None:
        """Hand out only the bytes in [start, stop) of an uncompressed file (stop None:
        to its end); offsets keep counting from the start of the file."""
        if self.gzip or self.path == STDIN:
            raise ValueError("a window needs an uncompressed file")
        try:
            self._raw.seek(start)
        except OSError as e:
            raise UnreadableFileError(self.path, e.strerror or str(e)) from None
        self._raw.consumed = self.offset = start
        self._stop = stop

    def window_stop(self, stop: int) -> None:
        """Hand out no byte at or after ``stop`` (an uncompressed file)."""
        if self.gzip or self.path == STDIN:
            raise ValueError("a window needs an uncompressed file")
        self._stop = stop

    @property
    def consumed(self) -> int:
        """Raw bytes read from the file (compressed bytes for gzip)."""
        return self._raw.consumed

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; fewer only at the end of the stream (or a gzip cut)."""
        buf = bytearray(size)
        got, _cut = self.fill(memoryview(buf))
        del buf[got:]
        return bytes(buf)

    def fill(self, view: memoryview) -> tuple[int, str]:
        """Read into ``view`` until it is full or the stream ends; returns (bytes, cut).

        ``cut`` says why the stream stopped early ("" if it did not): a gzip stream that
        ends before its end marker or turns corrupt after some data was produced.
        """
        got, first = 0, self.offset == 0
        if self._stop is not None and self._stop - self.offset <= len(view):
            view = view[:max(0, self._stop - self.offset)]
            self.eof = not view
        while got < len(view) and not self.eof:
            n = self._readinto(view[got:], first=first and got == 0)
            if n < 0:
                break
            if not n:
                self.eof = True
                break
            got += n
        self.offset += got
        if self._stop is not None and self.offset >= self._stop:
            self.eof = True
        return got, self.cut

    @property
    def cut(self) -> str:
        """Why a gzip stream stopped early ("" if it did not)."""
        return self._error or (self._gz.cut if self._gz is not None else "")

    def _readinto(self, view: memoryview, first: bool) -> int:
        try:
            return self._f.readinto(view)
        except zlib.error as e:
            self.eof = True
            if first:
                raise CaptureFormatError(self.path, 0, "a gzip stream", str(e)) from None
            self._error = f"corrupt compressed data ({e})"
            return -1
        except OSError as e:
            raise UnreadableFileError(self.path, e.strerror or str(e)) from None

    def close(self) -> None:
        if self.path != STDIN:
            self._raw.close()


def read_bytes(path: str, stream_offset: int, length: int) -> bytes:
    """Read ``length`` bytes at ``stream_offset`` of the (decompressed) capture at ``path``.

    For payload reads after decoding: ``payload_off``/``cap_payload_len`` of the packet
    table. A gzip file is decompressed again up to the offset. Returns fewer bytes at the
    end of the stream. Not available for stdin.
    """
    if path == STDIN:
        raise UnreadableFileError(path, "stdin cannot be read twice")
    stream = ByteStream(path)
    try:
        if not stream.gzip:
            try:
                stream._raw.seek(stream_offset)
            except OSError as e:
                raise UnreadableFileError(path, e.strerror or str(e)) from None
            return stream._raw.read(length)
        skip = stream_offset
        while skip > 0 and not stream.eof:
            skip -= len(stream.read(min(skip, 16 << 20)))
        return stream.read(length) if skip <= 0 else b""
    finally:
        stream.close()
