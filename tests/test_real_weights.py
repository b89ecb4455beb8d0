"""Real-weight checks for a machine that has the weights (`studio models pull cpu` / `gpu`).

They skip, saying which command fetches the weights, when the Hub cache does not hold them, so CI (no Hub)
runs none of them; the timing stage's real-weight test runs everywhere (tests/test_caption_sync.py).
"""

import os

import pytest

from models.errors import EngineUnavailable
from studio.settings import Settings

pytestmark = pytest.mark.slow


def _spec(profile: str, stage: str) -> dict:
    return Settings.from_env().profile(profile)[stage]


def _real(profile: str, stage: str, factory):
    spec = dict(_spec(profile, stage))
    spec.pop("engine")
    spec.pop("stock_first", None)  # the studio's choice to put stock photos in front, not an engine option
    real_home = os.environ.get("STUDIO_REAL_HF_HOME")  # the tests isolate HF_HOME; point this at your real cache
    if not real_home:
        pytest.skip("set STUDIO_REAL_HF_HOME to a Hugging Face cache holding the weights (studio models pull)")
    engine = factory(cache_dir=os.path.join(real_home, "hub"), **spec)
    try:
        engine.check()
    except EngineUnavailable as exc:
        pytest.skip(f"{exc} {exc.hint}")
    return engine


def test_real_llm_writes_a_valid_script():
    from models.script.llm import TransformersWriter

    writer = _real("cpu", "script", TransformersWriter)
    script = writer.write("5 habits that changed my mornings", language="en", target_words=60)
    assert len(script.scenes) >= 3 and script.title


def test_real_sd_turbo_makes_a_still(tmp_path):
    from models.stills.diffusion import DiffusionStills
    from models.types import StillSpec

    stills = _real("cpu", "stills", DiffusionStills)
    out = stills.generate(StillSpec("a cup of coffee at sunrise", 512, 896, 0), tmp_path / "s.jpg")
    assert out.stat().st_size > 10_000


def test_real_clip_prefers_the_matching_caption(tmp_path):
    from PIL import Image, ImageDraw

    from models.scoring.clip import ClipScoring

    clip = _real("cpu", "scoring", ClipScoring)
    img = Image.new("RGB", (224, 224), "white")
    ImageDraw.Draw(img).ellipse([40, 40, 184, 184], fill="red")
    img.save(tmp_path / "red.png")
    sims = clip.similarity([tmp_path / "red.png"], ["a red circle", "a photo of a dog"])[0]
    assert sims[0] > sims[1]


@pytest.mark.gpu
def test_real_svd_xt_on_gpu(tmp_path):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from PIL import Image

    from models.motion.svd import SVDMotion

    svd = _real("gpu", "motion", SVDMotion)
    Image.new("RGB", (1024, 576), "gray").save(tmp_path / "in.png")
    out = svd.animate(tmp_path / "in.png", seed=0, out_path=tmp_path / "clip.npz")
    import numpy as np

    assert np.load(out)["frames"].shape[0] == 25
