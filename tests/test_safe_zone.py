"""Every caption pixel lies inside the platform's safe zone: CJK, RTL, emoji and a very long word."""

import numpy as np
import pysubs2
import pytest
from PIL import Image

from pipelines.captions import safe_box
from pipelines.types import ShortRequest
from tests.test_hostile_text import _render_ass

CASES = {
    "zh": ("我每天早上六点起床，然后喝一大杯温水。坚持三十天以后，我的精神好多了！", "reels"),
    "en": ("Pneumonoultramicroscopicsilicovolcanoconiosis is a very long word 🎉 indeed.", "tiktok"),
    "ar": ("مرحبا بالعالم، هذه تجربة للنص العربي 🎉 مع رموز.", "shorts"),
}


@pytest.mark.parametrize("language", sorted(CASES))
def test_caption_pixels_stay_inside_the_safe_zone(studio, tmp_path, language):
    text, platform = CASES[language]
    result = studio.make(ShortRequest(script=text, duration=None, platform=platform, language=language),
                         out_dir=tmp_path / "out", keep_work=True)
    assert result.report["ok"]
    left, top, right, bottom = safe_box(studio.settings.platform(platform))
    ass = result.out_dir / ".work" / "captions.ass"
    events = [e for e in pysubs2.load(str(ass)) if e.type == "Dialogue"]
    assert events
    times = sorted({(e.start + e.end) / 2000 for e in events})
    drawn = 0
    for k, t in enumerate(times):
        frame = np.asarray(Image.open(_render_ass(ass, t, tmp_path / f"f{k}.png")).convert("L"))
        ys, xs = np.nonzero(frame > 24)
        assert len(xs) > 0, f"nothing drawn at {t:.2f}s"
        drawn += len(xs)
        assert xs.min() >= left and xs.max() < right, (t, xs.min(), xs.max(), left, right)
        assert ys.min() >= top and ys.max() < bottom, (t, ys.min(), ys.max(), top, bottom)
    assert drawn > 0
