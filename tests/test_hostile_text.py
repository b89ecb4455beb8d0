"""Text that means something to ffmpeg filter graphs or ASS is shown literally, never interpreted."""

import subprocess

import pysubs2
import pytest
from PIL import Image, ImageOps

from pipelines.captions import ass_escape
from pipelines.types import ShortRequest

HOSTILE = r"Say {\an8} 100% [ok]; a,b: 'q' %{localtime} \N done"


def _render_ass(ass, t, out, size="1080x1920"):
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=black:s={size}:r=10:d=600",
                    "-vf", f"ass={ass.name}", "-ss", str(t), "-frames:v", "1", str(out)], cwd=ass.parent, check=True)
    return out


def _ocr(png, box):
    img = ImageOps.invert(Image.open(png).convert("L").crop(box))
    img.save(png.with_suffix(".ocr.png"))
    out = subprocess.run(["tesseract", str(png.with_suffix(".ocr.png")), "-", "--psm", "6"], capture_output=True,
                         text=True, check=True).stdout
    # OCR may print typographic quotes for straight ones; that is the reader, not the render
    out = out.translate(str.maketrans("‘’“”", "''\"\""))
    return " ".join(out.split())


def test_escape_keeps_braces_and_backslashes_literal():
    escaped = ass_escape("a{b}c\\N\nd")
    assert "{" not in escaped.replace("\\{", "")
    assert "}" not in escaped.replace("\\}", "")
    assert "\\N" not in escaped and "\n" not in escaped


@pytest.fixture(scope="module")
def hostile_short(studio, tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile")
    script = HOSTILE + "\nSecond line, with\ttabs; and {braces}."
    # calm keeps the case (bold sets captions in capitals), so the screen must show the text exactly
    return studio.make(ShortRequest(script=script, duration=None, platform="shorts", template="calm"), out_dir=out,
                       keep_work=True)


def test_hostile_text_survives_into_the_caption_files(hostile_short):
    assert hostile_short.report["ok"]
    words = " ".join(e.text for e in pysubs2.load(str(hostile_short.captions_srt), format_="srt"))
    assert "{\\an8}" in words and "%{localtime}" in words and "\\N" in words


def test_hostile_text_appears_literally_on_screen(hostile_short, tmp_path):
    ass = hostile_short.out_dir / ".work" / "captions.ass"
    png = _render_ass(ass, 0.1, tmp_path / "hook.png")
    # the hook (the first sentence) sits at the top of the safe zone
    text = _ocr(png, (0, 0, 1080, 900))
    assert text.replace(" ", "") == HOSTILE.replace(" ", ""), text
