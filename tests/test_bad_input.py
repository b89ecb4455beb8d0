"""Bad input gets a clear, actionable error before any work starts, and leaves nothing behind."""

import struct
import subprocess
import sys
import zlib

import pytest
from PIL import Image

from models.errors import InvalidMedia, InvalidRequest, StudioError
from pipelines.types import ShortRequest


def _huge_png(path, side=30000):
    """A valid PNG header claiming 30,000×30,000 pixels (the pixels are never needed to refuse it)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) +
                     chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("request_kwargs, fragment", [
    ({"topic": ""}, "either a topic or a script"),
    ({"topic": "   \n\t "}, "either a topic or a script"),
    ({"topic": "x" * 20000}, "20,000 characters"),
    ({"script": "word " * 4000, "duration": None}, "characters; the limit"),
    ({"topic": "a", "script": "b"}, "not both"),
    ({"topic": "ok", "duration": 0}, "between 3 and 180"),
    ({"topic": "ok", "duration": -5}, "between 3 and 180"),
    ({"topic": "ok", "duration": 181}, "between 3 and 180"),
    ({"topic": "ok", "duration": 601, "platform": "tiktok"}, "between 3 and 600"),
    ({"topic": "ok", "platform": "myspace"}, "Unknown platform"),
    ({"topic": "ok", "voice": "darth"}, "Unknown voice"),
    ({"topic": "ok", "template": "nope"}, "Unknown template"),
    ({"topic": "ok", "language": "xx"}, "Unknown language"),
    ({"topic": "ok", "profile": "../etc"}, "Unknown profile"),
    ({"topic": "ok", "language": "zh"}, "Write the words yourself"),
])
def test_invalid_requests_are_refused_with_a_hint(studio, tmp_path, request_kwargs, fragment):
    with pytest.raises(InvalidRequest) as err:
        studio.make(ShortRequest(**request_kwargs), out_dir=tmp_path / "out")
    assert fragment in str(err.value)
    assert err.value.hint or "Choose" in str(err.value)
    assert not (tmp_path / "out").exists()  # refused before any work


def test_bad_photos(studio, tmp_path):
    text = tmp_path / "holiday.jpg"
    text.write_text("this is not a photo")
    good = tmp_path / "good.jpg"
    Image.new("RGB", (800, 600), "red").save(good)
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    huge = _huge_png(tmp_path / "huge.png")
    cases = {text: "not a photo", truncated: "damaged or truncated", huge: "is 900 megapixels",
             tmp_path / "missing.png": "does not exist"}
    for path, fragment in cases.items():
        with pytest.raises(InvalidMedia) as err:
            studio.make(ShortRequest(topic="ok", media=(good, path)), out_dir=tmp_path / "out")
        assert fragment in str(err.value), str(err.value)
        assert path.name in str(err.value)
    assert not (tmp_path / "out").exists()


def test_cli_reports_errors_without_a_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "studio.cli", "make", "hello", "--duration", "0", "--out",
                           str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "between 3 and 180" in proc.stderr


def test_errors_are_domain_exceptions():
    assert issubclass(InvalidMedia, StudioError) and issubclass(InvalidRequest, StudioError)


def test_voice_cloning_needs_consent_and_a_real_6_to_30_second_sample(studio, tmp_path):
    import wave

    import numpy as np

    def sample(seconds):
        path = tmp_path / f"voice{seconds}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes((np.sin(np.arange(int(16000 * seconds)) / 5) * 8000).astype(np.int16).tobytes())
        return path

    good = sample(8)
    with pytest.raises(InvalidRequest, match="consent"):
        studio.make(ShortRequest(topic="ok", voice_sample=good), out_dir=tmp_path / "o")
    with pytest.raises(InvalidMedia, match="must be 6–30 s"):
        studio.make(ShortRequest(topic="ok", voice_sample=sample(2), voice_consent=True), out_dir=tmp_path / "o")
    fake = tmp_path / "voice.wav"
    fake.write_text("not audio at all")
    with pytest.raises(InvalidMedia, match="not an audio file"):
        studio.make(ShortRequest(topic="ok", voice_sample=fake, voice_consent=True), out_dir=tmp_path / "o")
    # with no cloning-capable voice model, the sample is not used, and the result says so
    result = studio.make(ShortRequest(topic="3 tips for better sleep", duration=6, profile="offline",
                                      voice_sample=good, voice_consent=True), out_dir=tmp_path / "ok")
    assert any("cloning needs a voice engine that can clone" in w for w in result.warnings)
