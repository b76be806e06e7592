"""Receiving an upload: the request body streamed to a temporary file, hashed on the way.

Two encodings: a raw body (``curl --data-binary @trace.txt``), or ``multipart/form-data``
with the trace in a part named ``file`` (an HTML form). The body's size is bounded by the
request-size limit (backend/limits.py) while it streams, so nothing unbounded is kept.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from backend.problems import invalid

FILE_PART = "file"
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


@dataclass(frozen=True)
class ReceivedFile:
    path: Path
    sha256: str
    size_bytes: int
    original_name: str
    # The original name's extensions (".txt.xz"), kept on the stored file.
    suffix: str


def clean_name(name: str) -> str:
    """The base name, printable, at most 255 characters."""
    base = os.path.basename(name.replace("\\", "/"))
    return re.sub(r"[\x00-\x1f\x7f]", "", base)[:255]


def name_suffix(name: str) -> str:
    """Up to two short extensions of ``name`` (``.txt.xz``), kept on the stored file in case a
    reader tells compression or format by them."""
    suffixes = [suffix for suffix in Path(name).suffixes[-2:] if _SUFFIX.match(suffix)]
    return "".join(suffixes).lower()


class _Sink:
    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.hash = hashlib.sha256()
        self.size_bytes = 0

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.hash.update(data)
        self.size_bytes += len(data)


class _FilePart:
    """Callbacks for python-multipart's streaming parser: keep the data of the ``file`` part."""

    def __init__(self, sink: _Sink) -> None:
        self.sink = sink
        self.file_name: str | None = None
        self.found = False
        self._inside = False
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition"))
        self._inside = not self.found and params.get(b"name") == FILE_PART.encode()
        if self._inside:
            self.file_name = params.get(b"filename", b"").decode("utf-8", "replace")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._inside:
            self.sink.write(data[start:end])

    def _end(self) -> None:
        if self._inside:
            self.found, self._inside = True, False


async def receive_upload(request: Request, *, incoming_dir: Path, name: str | None) -> ReceivedFile:
    """Stream the body to a temporary file in ``incoming_dir``; the caller removes or moves it."""
    content_type = request.headers.get("content-type", "")
    kind, params = parse_options_header(content_type)
    with tempfile.NamedTemporaryFile(dir=incoming_dir, delete=False) as file:
        path = Path(file.name)
        try:
            sink = _Sink(file)
            if kind == b"multipart/form-data":
                name = await _receive_multipart(request, sink, params.get(b"boundary")) or name
            else:
                async for chunk in request.stream():
                    sink.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    original = clean_name(name or "")
    suffix = name_suffix(original)
    # The checker sees the file with the extensions it will be stored with.
    named = path.with_name(path.name + suffix)
    path.rename(named)
    return ReceivedFile(named, sink.hash.hexdigest(), sink.size_bytes, original, suffix)


async def _receive_multipart(request: Request, sink: _Sink, boundary: bytes | None) -> str:
    if not boundary:
        raise invalid("body", "a multipart body needs a boundary in its Content-Type")
    part = _FilePart(sink)
    try:
        parser = MultipartParser(boundary, part.callbacks())  # type: ignore[arg-type]
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise invalid("body", f"malformed multipart body: {exc}") from exc
    if not part.found:
        raise invalid(FILE_PART, f"the multipart body has no complete part named {FILE_PART!r}")
    return part.file_name or ""
