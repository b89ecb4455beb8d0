"""Text-to-image with diffusers (SD-Turbo / SDXL-Turbo): one still per scene from its visual prompt."""

from __future__ import annotations

from pathlib import Path

from models.base import StillsEngine
from models.errors import EngineFailed, EngineUnavailable
from models.hub import ModelRef, locate
from models.manager import ModelManager
from models.types import StillSpec

_HINT = "pip install -r requirements.txt  (diffusers, transformers, torch)"


def load_pipeline(class_name: str, path: Path, device: str, variant: str | None, stage: str):
    """A diffusers pipeline from a local folder: fp16 on CUDA, fp32 on CPU; loading errors made actionable."""
    try:
        import diffusers
        import torch
    except ImportError:
        raise EngineUnavailable("diffusers is not installed.", _HINT) from None
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    try:
        pipe = getattr(diffusers, class_name).from_pretrained(path, dtype=dtype, variant=variant, local_files_only=True)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise EngineUnavailable(f"The {stage} model in {path} could not be loaded: {exc}",
                                "The download may be incomplete or corrupt: pull it again.") from None
    pipe.set_progress_bar_config(disable=True)
    return pipe


class DiffusionStills(StillsEngine):
    uses_weights = True
    engine = "diffusers"

    def __init__(self, model: str, revision: str | None = None, device: str = "cpu", variant: str | None = None,
                 steps: int = 1, guidance_scale: float = 0.0, width: int = 512, height: int = 896,
                 local_files_only: bool = True, cache_dir: str | None = None, manager: ModelManager | None = None,
                 profile: str = "") -> None:
        self.ref = ModelRef(model, revision)
        self.device, self.variant = device, variant
        self.steps, self.guidance_scale, self.width, self.height = steps, guidance_scale, width, height
        self.local_files_only, self.cache_dir = local_files_only, cache_dir
        self.manager = manager or ModelManager()
        self.profile = profile

    @property
    def settings(self) -> dict:
        return {"model": self.ref.repo, "revision": self.ref.revision, "steps": self.steps,
                "guidance": self.guidance_scale, "size": [self.width, self.height], "variant": self.variant}

    def check(self) -> None:
        locate(self.ref, stage="stills", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
               profile=self.profile)

    def _load(self):
        path = locate(self.ref, stage="stills", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
                      profile=self.profile)
        return load_pipeline("AutoPipelineForText2Image", path, self.device, self.variant, "stills").to(self.device)

    def generate(self, spec: StillSpec, out_path: Path) -> Path:
        import torch

        pipe = self.manager.get(("t2i", str(self.ref), self.device, self.variant), self._load)
        generator = torch.Generator(device="cpu").manual_seed(spec.seed)
        # sizes must be multiples of 8 (the VAE's scale factor)
        w, h = self.width // 8 * 8, self.height // 8 * 8
        try:
            image = pipe(spec.prompt, num_inference_steps=self.steps, guidance_scale=self.guidance_scale,
                         width=w, height=h, generator=generator).images[0]
        except (RuntimeError, ValueError) as exc:
            raise EngineFailed(f"The stills model failed on {spec.prompt[:40]!r}: {exc}") from None
        image.save(out_path, quality=95)
        return Path(out_path)
