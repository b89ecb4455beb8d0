"""Checks on the creator's own files before any work starts.

Types come from the file's first bytes, never its name; dimensions are read
from the header before any pixel is decoded, so a decompression bomb is
refused without being expanded.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

from PIL import Image

from models.errors import InvalidMedia

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 50_000_000  # 50 MP: above any phone camera, far below a bomb
MIN_IMAGE_SIDE = 64

_SIGNATURES = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)


def sniff_image(head: bytes) -> str | None:
    """The image type named by a file's first bytes, or None."""
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def check_image(path: Path) -> str:
    """Raise InvalidMedia with a precise reason unless ``path`` is a usable photo; returns its type."""
    path = Path(path)
    if not path.is_file():
        raise InvalidMedia(f"Photo {path.name!r} does not exist.", "Check the path.")
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise InvalidMedia(
            f"Photo {path.name!r} is {size / 1e6:.0f} MB; the limit is {MAX_IMAGE_BYTES // 2**20} MB.",
            "Export it as a JPEG first.",
        )
    with path.open("rb") as fh:
        kind = sniff_image(fh.read(16))
    if kind is None:
        raise InvalidMedia(
            f"{path.name!r} is not a photo (its contents are not JPEG, PNG, WebP, GIF or BMP).",
            "Choose an image file; the file name's extension is not enough.",
        )
    try:
        # our limit is below Pillow's bomb threshold, so Pillow's own process-wide setting is left alone
        with warnings.catch_warnings(), Image.open(path) as im:
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise InvalidMedia(
                    f"Photo {path.name!r} is {w}×{h} pixels; the limit is {MAX_IMAGE_PIXELS // 1_000_000} megapixels.",
                    "Resize it before uploading.",
                )
            if min(w, h) < MIN_IMAGE_SIDE:
                raise InvalidMedia(f"Photo {path.name!r} is only {w}×{h} pixels.", "Use a larger image.")
            im.load()  # a truncated or corrupt file fails here
    except InvalidMedia:
        raise
    except Image.DecompressionBombError as exc:  # Pillow read the size from the header and refused to go on
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = f"{int(found.group(1)) / 1e6:.0f} megapixels" if found else "far too many pixels"
        raise InvalidMedia(f"Photo {path.name!r} is {pixels}; the limit is {MAX_IMAGE_PIXELS // 1_000_000} megapixels.",
                           "Resize it before uploading.") from None
    except Exception as exc:  # PIL raises many types for broken files
        raise InvalidMedia(
            f"Photo {path.name!r} is damaged or truncated and cannot be read ({exc}).", "Re-export or re-download it."
        ) from None
    return kind


MAX_AUDIO_BYTES = 50 * 1024 * 1024


def sniff_audio(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[4:8] == b"ftyp":
        return "m4a"
    return None


def check_voice_sample(path: Path, min_seconds: float = 6.0, max_seconds: float = 30.0) -> float:
    """A voice-cloning reference must be real audio of 6–30 s; returns its length."""
    import subprocess

    path = Path(path)
    if not path.is_file():
        raise InvalidMedia(f"Voice sample {path.name!r} does not exist.", "Check the path.")
    if path.stat().st_size > MAX_AUDIO_BYTES:
        raise InvalidMedia(f"Voice sample {path.name!r} is larger than {MAX_AUDIO_BYTES // 2**20} MB.")
    with path.open("rb") as fh:
        if sniff_audio(fh.read(16)) is None:
            raise InvalidMedia(f"{path.name!r} is not an audio file (WAV, MP3, FLAC, OGG or M4A).",
                               "Record or export your voice as a WAV or MP3.")
    proc = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                          capture_output=True, text=True)
    try:
        seconds = float(proc.stdout.strip())
    except ValueError:
        raise InvalidMedia(f"Voice sample {path.name!r} is damaged and cannot be read.", "Export it again.") from None
    if not min_seconds <= seconds <= max_seconds:
        raise InvalidMedia(f"The voice sample lasts {seconds:.1f} s; it must be {min_seconds:g}–{max_seconds:g} s.",
                           "Record or trim 6 to 30 seconds of clear speech.")
    return seconds


MAX_MUSIC_BYTES = 200 * 1024 * 1024  # ten minutes of 48 kHz stereo WAV is 115 MB
MAX_MUSIC_SECONDS = 600.0


_DEMUXERS = {"wav": "wav", "mp3": "mp3", "flac": "flac", "ogg": "ogg", "m4a": "mov"}


def audio_demuxer(path: Path) -> list[str]:
    """ffmpeg input options that read ``path`` as the audio type its first bytes say, from a plain file only (ffmpeg
    would otherwise probe for any format and follow any protocol a crafted file names)."""
    with Path(path).open("rb") as fh:
        kind = sniff_audio(fh.read(16))
    if kind is None:
        raise InvalidMedia(f"{Path(path).name!r} is not an audio file (WAV, MP3, FLAC, OGG or M4A).")
    return ["-protocol_whitelist", "file", "-f", _DEMUXERS[kind]]


def check_music(path: Path) -> float:
    """A creator's music track: audio by its first bytes (any extension), readable, at most ten minutes; returns
    its length in seconds."""
    import subprocess

    path = Path(path)
    if not path.is_file():
        raise InvalidMedia(f"Music track {path.name!r} does not exist.", "Check the path.")
    if path.stat().st_size > MAX_MUSIC_BYTES:
        raise InvalidMedia(f"Music track {path.name!r} is larger than {MAX_MUSIC_BYTES // 2**20} MB.",
                           "Export it as an MP3 or M4A.")
    with path.open("rb") as fh:
        if sniff_audio(fh.read(16)) is None:
            raise InvalidMedia(f"{path.name!r} is not an audio file (WAV, MP3, FLAC, OGG or M4A).",
                               "Choose the music file itself (an MP3, M4A or WAV).")
    proc = subprocess.run(["ffprobe", "-v", "error", *audio_demuxer(path), "-select_streams", "a:0", "-show_entries",
                           "stream=codec_type:format=duration", "-of", "json", str(path)],
                          capture_output=True, text=True)
    try:
        info = json.loads(proc.stdout or "{}")
        seconds = float(info["format"]["duration"])
        has_audio = bool(info.get("streams"))
    except (ValueError, KeyError, TypeError):
        raise InvalidMedia(f"Music track {path.name!r} is damaged and cannot be read.", "Export it again.") from None
    if not has_audio or seconds <= 0.5:
        raise InvalidMedia(f"Music track {path.name!r} holds no sound.", "Export it again.")
    if seconds > MAX_MUSIC_SECONDS:
        raise InvalidMedia(f"The music track lasts {seconds / 60:.1f} minutes; the longest allowed is 10.",
                           "Trim it to 10 minutes or less.")
    return seconds


MAX_VIDEO_BYTES = 500 * 1024 * 1024
MAX_VIDEO_SIDE = 8192


def sniff_video(head: bytes) -> str | None:
    """mp4 / mov (an ISO-BMFF ``ftyp`` box) or webm / mkv (EBML), from the first bytes."""
    if head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    return None


def check_video(path: Path) -> float:
    """Raise InvalidMedia unless ``path`` is a video clip ffmpeg can decode; returns its length in seconds."""
    from models.errors import RenderFailed
    from pipelines import ffmpeg

    path = Path(path)
    if not path.is_file():
        raise InvalidMedia(f"Clip {path.name!r} does not exist.", "Check the path.")
    if path.stat().st_size > MAX_VIDEO_BYTES:
        raise InvalidMedia(f"Clip {path.name!r} is over {MAX_VIDEO_BYTES // 2**20} MB.", "Trim it before adding it.")
    with path.open("rb") as fh:
        if sniff_video(fh.read(16)) is None:
            raise InvalidMedia(f"{path.name!r} is not a video clip (its contents are not MP4, MOV or WebM).",
                               "Choose a video file; the file name's extension is not enough.")
    try:
        info = ffmpeg.probe(path)
    except RenderFailed:
        raise InvalidMedia(f"Clip {path.name!r} cannot be read; it may be damaged.", "Export it again.") from None
    video = next((s for s in info.get("streams", []) if s.get("codec_type") == "video"), None)
    if video is None:
        raise InvalidMedia(f"{path.name!r} has no picture.", "Choose a clip with video in it.")
    w, h = int(video.get("width", 0)), int(video.get("height", 0))
    if not (0 < w <= MAX_VIDEO_SIDE and 0 < h <= MAX_VIDEO_SIDE):
        raise InvalidMedia(f"Clip {path.name!r} is {w}×{h}; the limit is {MAX_VIDEO_SIDE}×{MAX_VIDEO_SIDE}.")
    # the picture's own length: the container's may include a longer sound track
    seconds = float(video.get("duration") or info.get("format", {}).get("duration") or 0)
    if seconds <= 0:
        raise InvalidMedia(f"Clip {path.name!r} has no length.", "Export it again.")
    return seconds


def video_size(path: Path) -> tuple[int, int]:
    """A clip's picture size as shown (a phone clip's rotation applied, as ffmpeg applies it when decoding)."""
    from pipelines import ffmpeg

    video = next(s for s in ffmpeg.probe(path)["streams"] if s.get("codec_type") == "video")
    w, h = int(video["width"]), int(video["height"])
    rotation = next((abs(int(float(d.get("rotation", 0)))) for d in video.get("side_data_list", [])), 0)
    rotation = rotation or abs(int(float(video.get("tags", {}).get("rotate", 0))))
    return (h, w) if rotation % 180 == 90 else (w, h)
