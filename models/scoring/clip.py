"""open_clip scoring: which photo fits each scene, the thumbnail, text–image alignment, and a safety check."""

from __future__ import annotations

from pathlib import Path

from models.base import ScoringEngine
from models.errors import EngineUnavailable
from models.hub import ModelRef, locate
from models.manager import ModelManager

SAFETY_LABELS = {
    "safe": ["a photo", "an everyday scene", "a landscape", "a person", "a product photo", "an abstract background"],
    "unsafe": ["explicit nudity", "pornographic content", "graphic violence with blood", "gore"],
}


class ClipScoring(ScoringEngine):
    uses_weights = True
    can_compare = True
    can_check_safety = True
    engine = "open_clip"

    def __init__(self, model: str, revision: str | None = None, arch: str | None = None, device: str = "cpu",
                 local_files_only: bool = True, cache_dir: str | None = None, manager: ModelManager | None = None,
                 unsafe_threshold: float = 0.5, profile: str = "") -> None:
        self.ref = ModelRef(model, revision)
        self.arch, self.device = arch, device
        self.local_files_only, self.cache_dir = local_files_only, cache_dir
        self.manager = manager or ModelManager()
        self.unsafe_threshold = unsafe_threshold
        self.profile = profile

    @property
    def settings(self) -> dict:
        return {"model": self.ref.repo, "revision": self.ref.revision, "arch": self.arch}

    def check(self) -> None:
        self._path()

    def _path(self) -> Path:
        return locate(self.ref, stage="scoring", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
                      profile=self.profile)

    def _load(self):
        try:
            import open_clip
        except ImportError:
            raise EngineUnavailable("open_clip is not installed.", "pip install -r requirements.txt") from None
        path = self._path()
        try:
            if path.is_dir():  # Hub layout: open_clip_config.json + weights
                name = f"local-dir:{path}"
                model, _, preprocess = open_clip.create_model_and_transforms(name, device=self.device)
                tokenizer = open_clip.get_tokenizer(name)
            else:  # a checkpoint file for a named architecture
                if not self.arch:
                    raise EngineUnavailable("A CLIP checkpoint file needs its architecture name (arch: ViT-B-32).")
                model, _, preprocess = open_clip.create_model_and_transforms(self.arch, pretrained=str(path),
                                                                             device=self.device)
                tokenizer = open_clip.get_tokenizer(self.arch)
        except (RuntimeError, ValueError, OSError, KeyError) as exc:
            raise EngineUnavailable(f"The CLIP model {self.ref.repo} could not be loaded: {exc}",
                                    "The download may be incomplete or corrupt: pull it again.") from None
        return model.eval(), preprocess, tokenizer

    def _parts(self):
        return self.manager.get(("open_clip", str(self.ref), self.arch, self.device), self._load,
                                size=lambda parts: _size(parts[0]))

    def _embed_images(self, paths: list[Path]):
        import torch
        from PIL import Image

        model, preprocess, _ = self._parts()
        with torch.inference_mode():
            batch = torch.stack([preprocess(Image.open(p).convert("RGB")) for p in paths]).to(self.device)
            feats = model.encode_image(batch)
        return feats / feats.norm(dim=-1, keepdim=True)

    def _embed_texts(self, texts: list[str]):
        import torch

        model, _, tokenizer = self._parts()
        with torch.inference_mode():
            feats = model.encode_text(tokenizer(texts).to(self.device))
        return feats / feats.norm(dim=-1, keepdim=True)

    def similarity(self, images: list[Path], texts: list[str]) -> list[list[float]]:
        """Cosine similarity, images × texts."""
        return (self._embed_images(images) @ self._embed_texts(texts).T).tolist()

    def score(self, path: Path) -> float:
        """Thumbnail appeal: how much more the image looks like a striking photo than a dull one (0..1)."""
        sims = self.similarity([path], ["a vivid, sharp, eye-catching photo", "a blurry, dull, dark photo"])[0]
        import math

        return round(1 / (1 + math.exp(-(sims[0] - sims[1]) * 100)), 4)

    def unsafe(self, paths: list[Path]) -> list[float]:
        """Probability mass on the unsafe labels, per image (zero-shot)."""
        import torch

        labels = SAFETY_LABELS["safe"] + SAFETY_LABELS["unsafe"]
        logits = torch.tensor(self.similarity(paths, labels)) * 100
        probs = logits.softmax(dim=-1)
        return probs[:, len(SAFETY_LABELS["safe"]):].sum(dim=-1).tolist()


def _size(model) -> int:
    from models.manager import param_bytes

    return param_bytes(model)
