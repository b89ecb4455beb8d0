"""Stable Video Diffusion (SVD / SVD-XT): a short generated clip per still.

Every knob comes from settings (size, frames, fps, motion strength, decode chunk size, steps), so a tiny
model runs on a CPU in tests; the pipeline's own defaults (576×1024, 25 frames) are never relied on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.base import MotionEngine
from models.errors import EngineFailed
from models.hub import ModelRef, locate
from models.manager import ModelManager
from models.motion.kenburns import KenBurns
from models.subject import Box
from models.types import CameraPath


class SVDMotion(MotionEngine):
    uses_weights = True
    can_animate = True
    engine = "svd"

    def __init__(self, model: str, revision: str | None = None, device: str = "cpu", variant: str | None = None,
                 width: int = 576, height: int = 1024, frames: int = 25, fps: int = 7, motion_bucket_id: int = 127,
                 noise_aug_strength: float = 0.02, decode_chunk_size: int = 4, steps: int = 25,
                 cpu_offload: bool | str = "auto", local_files_only: bool = True, cache_dir: str | None = None,
                 manager: ModelManager | None = None, profile: str = "") -> None:
        self.ref = ModelRef(model, revision)
        self.device, self.variant = device, variant
        self.width, self.height, self.frames, self.fps = width, height, frames, fps
        self.motion_bucket_id, self.noise_aug_strength = motion_bucket_id, noise_aug_strength
        self.decode_chunk_size, self.steps, self.cpu_offload = decode_chunk_size, steps, cpu_offload
        self.local_files_only, self.cache_dir = local_files_only, cache_dir
        self.manager = manager or ModelManager()
        self.profile = profile
        self._camera = KenBurns()

    @property
    def settings(self) -> dict:
        return {"model": self.ref.repo, "revision": self.ref.revision, "size": [self.width, self.height],
                "frames": self.frames, "fps": self.fps, "motion": self.motion_bucket_id, "steps": self.steps,
                "noise": self.noise_aug_strength}

    def check(self) -> None:
        locate(self.ref, stage="motion", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
               profile=self.profile)

    def plan(self, seed: int, subject: Box | None = None, faces: tuple[Box, ...] = ()) -> CameraPath:
        """The camera path the timeline records for each scene; the renderer ignores it while a clip plays."""
        return self._camera.plan(seed, subject, faces)

    def _load(self):
        from models.stills.diffusion import load_pipeline

        path = locate(self.ref, stage="motion", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
                      profile=self.profile)
        pipe = load_pipeline("StableVideoDiffusionPipeline", path, self.device, self.variant, "motion")
        if self.device.startswith("cuda") and self._offload():
            pipe.enable_model_cpu_offload()  # VRAM is short: keep only the active component on the GPU
            return pipe
        return pipe.to(self.device)

    def _offload(self) -> bool:
        """``auto``: offload when the GPU has less free memory than SVD-XT needs resident in fp16 (~14 GiB)."""
        if self.cpu_offload != "auto":
            return bool(self.cpu_offload)
        import torch

        free, _ = torch.cuda.mem_get_info()
        return free < 14 * 2**30

    def animate(self, image: Path, *, seed: int, out_path: Path) -> Path:
        """Frames as uint8 RGB in an .npz (``frames``: n×h×w×3, ``fps``)."""
        import torch
        from PIL import Image

        pipe = self.manager.get(("svd", str(self.ref), self.device, self.variant), self._load)
        w, h = self.width // 8 * 8, self.height // 8 * 8
        with Image.open(image) as im:
            cond = im.convert("RGB").resize((w, h), Image.Resampling.LANCZOS)
        try:
            result = pipe(cond, height=h, width=w, num_frames=self.frames, num_inference_steps=self.steps,
                          decode_chunk_size=self.decode_chunk_size, motion_bucket_id=self.motion_bucket_id,
                          fps=self.fps, noise_aug_strength=self.noise_aug_strength,
                          generator=torch.Generator("cpu").manual_seed(seed), output_type="np")
        except (RuntimeError, ValueError) as exc:
            raise EngineFailed(f"The motion model failed: {exc}") from None
        frames = np.clip(np.asarray(result.frames[0]) * 255, 0, 255).astype(np.uint8)
        np.savez(out_path, frames=frames, fps=self.fps)
        return Path(out_path)
