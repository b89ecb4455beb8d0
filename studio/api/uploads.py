"""Streaming uploads: the body is parsed as it arrives, the type is decided by the file's first bytes, and the
size limit for that type is enforced while the bytes stream in, so an oversized upload is refused long before
it has finished sending. Nothing of a refused or failed upload is left behind."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from models.errors import InvalidMedia, RenderFailed
from pipelines.media import check_image, sniff_audio, sniff_image
from studio.errors import ApiError, TooLarge, UnsupportedMedia

MAX_SIDE = 8192  # absurd dimensions for a phone video are refused before any decoding
MAX_MEDIA_SECONDS = 3 * 3600
_HEAD = 64
_FIELD_LIMIT = 4096  # bytes in one text field
_MAX_FIELDS = 16  # text fields in one upload
_FIELDS_TOTAL = 32 * 1024  # bytes in all text fields together
_PART_OVERHEAD = 64 * 1024  # boundaries and part headers around the files


@dataclass(frozen=True)
class Limits:
    video: int
    image: int
    audio: int

    @property
    def largest(self) -> int:
        return max(self.video, self.image, self.audio)

    def of(self, kind: str) -> int:
        return getattr(self, kind)


@dataclass(frozen=True)
class Upload:
    path: Path  # a temporary file; the caller moves it into storage or deletes it
    filename: str
    kind: str  # image | video | audio
    content_type: str
    size: int
    sha256: str
    meta: dict
    fields: dict


_VIDEO_BRANDS_AUDIO = {b"M4A ", b"M4B ", b"M4P "}
_CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif", "bmp": "image/bmp",
                  "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm",
                  "weba": "audio/webm",
                  "wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg", "m4a": "audio/mp4"}


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{max(1, n // 1024)} KB"


def extension(content_type: str) -> str:
    """The file extension for a type the studio accepts (its name on disk never comes from the uploader)."""
    sub = next(k for k, v in _CONTENT_TYPES.items() if v == content_type)
    return {"jpeg": "jpg"}.get(sub, sub)


def sniff(head: bytes) -> tuple[str, str] | None:
    """(kind, subtype) from the first bytes of a file, never from its name or declared type."""
    image = sniff_image(head)
    if image:
        return "image", image
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _VIDEO_BRANDS_AUDIO:
            return "audio", "m4a"
        return "video", "mov" if brand == b"qt  " else "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video", "webm"
    audio = sniff_audio(head)
    if audio and audio != "m4a":
        return "audio", audio
    return None


def safe_filename(name: str | None) -> str:
    """A display name only: no directories, no control characters, at most 120 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 110] + dot + ext[:9]) if dot and len(ext) < 10 else name[:120]
    return name or "upload"


class _Sink:
    """Receives the file part: sniffs its head, enforces the limit for its type, hashes and writes it."""

    def __init__(self, folder: Path, limits: Limits) -> None:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
        self.fh = os.fdopen(fd, "wb")
        self.path = Path(name)
        self.limits = limits
        self.head = b""
        self.kind: tuple[str, str] | None = None
        self.size = 0
        self.sha = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.kind is None:
            self.head += data[: _HEAD - len(self.head)]
            if len(self.head) >= _HEAD:
                self._decide()
        if self.kind is not None and self.size > self.limits.of(self.kind[0]):
            kind = self.kind[0]
            raise TooLarge(f"This {kind} is larger than the {self.limits.of(kind) // 2**20} MB limit for {kind}s.",
                           "Compress or trim it before uploading.", code="file_too_large")
        self.sha.update(data)
        self.fh.write(data)

    def _decide(self) -> None:
        self.kind = sniff(self.head)
        if self.kind is None:
            raise UnsupportedMedia("The file is not a supported image, video or audio file (its contents were checked, "
                                   "not its name).", "Upload JPEG, PNG, WebP, MP4, MOV, WebM, WAV, MP3, FLAC, OGG or M4A.",
                                   code="unsupported_type")

    def finish(self) -> None:
        self.fh.close()
        if self.kind is None:
            if self.size == 0:
                raise ApiError("The uploaded file is empty.", code="empty_file")
            self._decide()


async def receive(stream: AsyncIterator[bytes], content_type: str, folder: Path, limits: Limits) -> Upload:
    """Parse a ``multipart/form-data`` body with one ``file`` part (and small text fields) as it streams in."""
    return (await receive_files(stream, content_type, folder, limits))[0]


async def receive_files(stream: AsyncIterator[bytes], content_type: str, folder: Path, limits: Limits, *,
                        part: str = "file", max_files: int = 1, max_total: int | None = None) -> list[Upload]:
    """Parse a ``multipart/form-data`` body with up to ``max_files`` parts named ``part`` (and small text fields) as
    it streams in: every file is typed by its first bytes and held to its type's limit while it arrives."""
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    ctype, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UnsupportedMedia(f"Send the file as multipart/form-data with a part named '{part}'.", code="not_multipart")
    folder.mkdir(parents=True, exist_ok=True)
    state: dict = {"headers": {}, "name": None, "value": b""}
    sinks: list[tuple[_Sink, str]] = []
    fields: dict[str, str] = {}
    header_field = b""

    def on_header_field(data, start, end):
        nonlocal header_field
        header_field += data[start:end]

    def on_header_value(data, start, end):
        state["headers"][header_field.lower()] = state["headers"].get(header_field.lower(), b"") + data[start:end]

    def on_header_end():
        nonlocal header_field
        header_field = b""

    def on_headers_finished():
        _, disp = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        state["name"] = name
        state["parts"] = state.get("parts", 0) + 1
        if state["parts"] > max_files + _MAX_FIELDS:
            raise TooLarge(f"The upload has too many parts (at most {max_files} files and {_MAX_FIELDS} fields).",
                           code="too_many_parts")
        if name == part:
            if len(sinks) >= max_files:
                raise ApiError("Send one file per upload." if max_files == 1 else
                               f"Send at most {max_files} files per upload.", code="one_file_per_upload")
            sinks.append((_Sink(folder, limits), disp.get(b"filename", b"").decode("utf-8", "replace")))
        state["value"] = b""

    def on_part_data(data, start, end):
        if state["name"] == part:
            sinks[-1][0].write(data[start:end])
            if max_total is not None and sum(sink.size for sink, _ in sinks) > max_total:
                raise TooLarge(f"These files add up to more than {_size(max_total)}.",
                               "Upload them in smaller groups.", code="file_too_large")
        else:
            state["value"] += data[start:end]
            state["field_bytes"] = state.get("field_bytes", 0) + end - start
            if len(state["value"]) > _FIELD_LIMIT or state["field_bytes"] > _FIELDS_TOTAL:
                raise TooLarge("The upload's form fields are too long.", code="field_too_large")

    def on_part_end():
        if state["name"] != part and state["name"]:
            fields[state["name"]] = state["value"].decode("utf-8", "replace")
        state["headers"] = {}

    try:
        try:
            parser = MultipartParser(boundary, {
                "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
                "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_part_end": on_part_end})
            received, cap = 0, (max_total or limits.largest) + _FIELDS_TOTAL + _PART_OVERHEAD
            async for chunk in stream:
                received += len(chunk)
                if received > cap:  # a chunked body has no Content-Length to refuse up front: count it
                    raise TooLarge(f"The upload is larger than {cap // 2**20} MB.", code="file_too_large")
                parser.write(chunk)
            parser.finalize()
        except FormParserError:  # malformed parts, over-long headers or boundary
            raise ApiError("The upload is not well-formed multipart/form-data (or a part's headers are too long).",
                           code="malformed_upload") from None
        if not sinks:
            raise ApiError(f"The upload has no part named '{part}'.", code="missing_file")
        uploads = []
        for sink, filename in sinks:
            sink.finish()
            kind, sub = sink.kind
            if sub == "webm" and _audio_only(sink.path):  # a browser's microphone recording
                kind, sub = "audio", "weba"
            meta = inspect(sink.path, kind)
            uploads.append(Upload(path=sink.path, filename=safe_filename(filename), kind=kind,
                                  content_type=_CONTENT_TYPES[sub], size=sink.size, sha256=sink.sha.hexdigest(),
                                  meta=meta, fields=fields))
        return uploads
    except BaseException:
        for sink, _ in sinks:
            sink.fh.close()
            sink.path.unlink(missing_ok=True)
        raise


def _audio_only(path: Path) -> bool:
    from pipelines.ffmpeg import probe

    try:
        kinds = {s.get("codec_type") for s in probe(path).get("streams", [])}
    except RenderFailed:
        return False
    return "audio" in kinds and "video" not in kinds


def inspect(path: Path, kind: str) -> dict:
    """Decode headers only: refuse damaged files, decompression bombs and absurd dimensions or lengths."""
    from pipelines.ffmpeg import probe

    if kind == "image":
        from PIL import Image

        try:
            check_image(path)
        except InvalidMedia as exc:
            raise UnsupportedMedia(exc.message.replace(repr(path.name), "The image"), exc.hint, code="invalid_image") from None
        with Image.open(path) as im:
            return {"width": im.width, "height": im.height}
    try:
        info = probe(path)
    except RenderFailed:
        raise UnsupportedMedia(f"The {kind} is damaged or truncated and cannot be read.", "Export it again.",
                               code=f"invalid_{kind}") from None
    streams = info.get("streams", [])
    seconds = float(info.get("format", {}).get("duration") or 0)
    wanted = [s for s in streams if s.get("codec_type") == kind]
    if not wanted or seconds <= 0:
        raise UnsupportedMedia(f"The file has no readable {kind} track.", code=f"invalid_{kind}")
    if seconds > MAX_MEDIA_SECONDS:
        raise UnsupportedMedia(f"The {kind} lasts {seconds / 3600:.1f} h; the limit is {MAX_MEDIA_SECONDS // 3600} h.",
                               code=f"{kind}_too_long")
    meta: dict = {"seconds": round(seconds, 3)}
    if kind == "video":
        w, h = int(wanted[0].get("width", 0)), int(wanted[0].get("height", 0))
        if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
            raise UnsupportedMedia(f"The video is {w}×{h}; the limit is {MAX_SIDE}×{MAX_SIDE}.", code="video_too_large")
        meta.update(width=w, height=h)
    return meta


def examine(path: Path, filename: str) -> Upload:
    """An ``Upload`` for a file already on disk and already held to the limits (the UI's uploads): typed by its
    bytes and inspected again, since the copy an event receives is what gets stored."""
    path = Path(path)
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
        sha.update(head)
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    found = sniff(head)
    if found is None:
        raise UnsupportedMedia("The file is not a supported image, video or audio file.", code="unsupported_type")
    kind, sub = found
    if sub == "webm" and _audio_only(path):
        kind, sub = "audio", "weba"
    meta = inspect(path, kind)
    return Upload(path=path, filename=safe_filename(filename), kind=kind, content_type=_CONTENT_TYPES[sub],
                  size=path.stat().st_size, sha256=sha.hexdigest(), meta=meta, fields={})
