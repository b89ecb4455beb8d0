"""MusicGen through ``transformers``: a text prompt from the template's mood and tempo, generated window by window.

MusicGen writes at most one window at a time (musicgen-small: 1,500 tokens at 50 a second, about 30 s). A longer
bed is generated as several equal pieces, each seeded from the short's seed, joined with equal-power crossfades
(models/audiojoin.py) and cut to exactly the length asked for, with a fade-out at the end.

Its weights are licensed CC-BY-NC-4.0: music made with them is for non-commercial use only, so the engine is
refused until the user has accepted that licence (``EngineContext.licences_accepted``).
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from models.audiojoin import crossfade_join, fit_length
from models.base import Engine, EngineContext, MusicEngine
from models.errors import EngineFailed, EngineUnavailable, InvalidRequest, Remedy
from models.hub import ModelRef, locate
from models.manager import ModelManager, param_bytes
from models.wavio import write_pcm16

__all__ = ["LICENCE_NAME", "MODEL", "REVISION", "MusicGenMusic", "piece_lengths", "prompt_for"]

MODEL = "facebook/musicgen-small"
# A commit of facebook/musicgen-small, taken from the snapshot folder names of Hub caches quoted in public code; it
# could not be checked against the Hub from this offline machine. A profile's own ``revision`` overrides it.
REVISION = "4c8334b02c6ec4e8664a91979669a501ec497792"
_TORCH_RNG = threading.Lock()
LICENCE_NAME = "musicgen"  # what ``studio models accept`` records in EngineContext.licences_accepted
_HINT = "pip install -r requirements.txt  (transformers, torch)"
# how a template's mood reads to MusicGen; any other mood is passed through as written
MOOD_STYLE = {"calm": "calm lo-fi", "upbeat": "upbeat pop"}
PROMPT = "{style} instrumental, {bpm} bpm, no vocals"


def prompt_for(mood: str, bpm: float, template: str = PROMPT) -> str:
    """The text MusicGen is conditioned on, e.g. ``calm lo-fi instrumental, 90 bpm, no vocals``."""
    style = MOOD_STYLE.get(mood, mood.strip() or "background")
    return template.format(style=style, mood=mood, bpm=f"{bpm:g}")


def piece_lengths(seconds: float, window_s: float, crossfade_s: float) -> list[float]:
    """As few equal pieces, none longer than ``window_s``, as cover ``seconds`` once each seam overlaps its
    neighbours by ``crossfade_s``."""
    if seconds <= window_s:
        return [seconds]
    if window_s <= crossfade_s:
        raise ValueError(f"Pieces of {window_s:g} s cannot overlap by {crossfade_s:g} s.")
    count = math.ceil((seconds - crossfade_s) / (window_s - crossfade_s))
    return [(seconds - crossfade_s) / count + crossfade_s] * count


class MusicGenMusic(MusicEngine):
    uses_weights = True
    engine = "musicgen"
    requires_licence = LICENCE_NAME
    licence = "CC-BY-NC-4.0 (MusicGen weights; non-commercial use only)"

    @classmethod
    def create(cls, options: dict[str, Any], context: EngineContext) -> Engine:
        """Refused, before anything is imported or loaded, unless the user accepted the weights' licence."""
        if LICENCE_NAME not in context.licences_accepted:
            raise EngineUnavailable("MusicGen's weights are licensed CC-BY-NC-4.0: music made with them may be used "
                                    "for non-commercial purposes only.", "Its licence has not been accepted.",
                                    Remedy("accept_licence", repo=LICENCE_NAME))
        return super().create(options, context)

    def __init__(self, model: str = MODEL, revision: str | None = REVISION, device: str = "cpu",
                 piece_seconds: float | None = None, crossfade_s: float = 1.0, guidance_scale: float | None = None,
                 prompt: str = PROMPT, local_files_only: bool = True, cache_dir: str | None = None,
                 manager: ModelManager | None = None, profile: str = "") -> None:
        if piece_seconds is not None and not (math.isfinite(piece_seconds) and piece_seconds > 0):
            raise EngineUnavailable(f"MusicGen's piece_seconds must be positive, not {piece_seconds}.",
                                    "Leave it out to use the model's own window.")
        if not 0 <= crossfade_s < (piece_seconds or math.inf) / 2:
            raise EngineUnavailable(f"MusicGen's crossfade_s ({crossfade_s}) must be at least 0 and under half a "
                                    f"piece ({piece_seconds} s).", "Shorten crossfade_s or lengthen piece_seconds.")
        self.ref = ModelRef(model, revision)
        self.device = device
        self.piece_seconds, self.crossfade_s, self.guidance_scale = piece_seconds, crossfade_s, guidance_scale
        self.prompt = prompt
        self.local_files_only, self.cache_dir = local_files_only, cache_dir
        self.manager = manager or ModelManager()
        self.profile = profile

    @property
    def settings(self) -> dict:
        return {"version": 1, "model": self.ref.repo, "revision": self.ref.revision,
                "piece_seconds": self.piece_seconds, "crossfade_s": self.crossfade_s,
                "guidance_scale": self.guidance_scale, "prompt": self.prompt}

    def check(self) -> None:
        locate(self.ref, stage="music", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
               profile=self.profile)

    def _load(self):
        try:
            import torch  # noqa: F401
            from transformers import AutoProcessor, MusicgenForConditionalGeneration
        except ImportError:
            raise EngineUnavailable("transformers and torch are not installed.", _HINT) from None
        path = locate(self.ref, stage="music", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
                      profile=self.profile)
        try:
            processor = AutoProcessor.from_pretrained(path, local_files_only=True)
            model = MusicgenForConditionalGeneration.from_pretrained(path, local_files_only=True).to(self.device)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise EngineUnavailable(f"The music model in {path} could not be loaded: {exc}",
                                    "The download may be incomplete or corrupt: pull it again.") from None
        return processor, model.eval()

    def compose(self, seconds: float, *, bpm: float, mood: str, seed: int, out_path: Path) -> Path:
        import torch

        if not (math.isfinite(seconds) and seconds > 0):
            raise InvalidRequest(f"Music must last a positive number of seconds, not {seconds}.")
        # 1. the model, resident across shorts
        processor, model = self.manager.get(("musicgen", str(self.ref), self.device), self._load,
                                            size=lambda pair: param_bytes(pair[1]))
        # 2. its clock: samples and tokens a second, the window it writes in one go
        rate = int(model.config.audio_encoder.sampling_rate)
        frame_rate, delay, window_s = _timing(model)
        piece_s = self.piece_seconds or window_s
        if piece_s > window_s:
            raise EngineUnavailable(f"MusicGen pieces of {piece_s:g} s exceed the model's {window_s:g} s window.",
                                    f"Set piece_seconds to {window_s:g} or less, or leave it out.")
        if self.crossfade_s >= piece_s / 2:
            raise EngineUnavailable(f"MusicGen's crossfade_s ({self.crossfade_s:g}) must be under half a piece "
                                    f"({piece_s:g} s, the model's window).", "Shorten crossfade_s.")
        # 3. one prompt for every piece; each piece gets its own seed, derived from the short's
        inputs = processor(text=[prompt_for(mood, bpm, self.prompt)], padding=True, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        options = {} if self.guidance_scale is None else {"guidance_scale": self.guidance_scale}
        pieces = []
        # each piece gets one frame more than it needs, so the join is never short (fit_length cuts the surplus);
        # planning a frame under the window keeps that frame inside it
        for i, length in enumerate(piece_lengths(seconds, min(piece_s, window_s - 1 / frame_rate), self.crossfade_s)):
            tokens = math.floor(length * frame_rate) + 1 + delay
            try:
                # torch's generator is process-wide: seed and sample under one lock, so another thread's torch
                # work cannot draw from it in between (the same seed must give the same bed)
                with _TORCH_RNG, torch.inference_mode():
                    torch.manual_seed(_piece_seed(seed, i))
                    audio = model.generate(**inputs, do_sample=True, max_new_tokens=tokens, **options)
            except (RuntimeError, ValueError) as exc:
                raise EngineFailed(f"MusicGen failed on piece {i + 1}: {exc}") from None
            pieces.append(audio[0].float().cpu().numpy().T)  # (channels, n) → (n, channels)
        # 4. joined without clicks, cut to exactly the length asked for
        joined = crossfade_join(pieces, rate, self.crossfade_s)
        track = fit_length(joined, round(seconds * rate), rate, self.crossfade_s)
        if not np.isfinite(track).all():
            raise EngineFailed("MusicGen produced invalid samples (NaN or infinity).",
                               "Try another seed, or the procedural music engine.")
        return write_pcm16(Path(out_path), track, rate)


def _timing(model) -> tuple[float, int, float]:
    """Tokens a second, the delay-pattern tokens a generation spends before its first whole frame, and the longest
    piece in seconds (what the model's own ``max_length`` yields, e.g. 1,497 frames: 29.94 s for musicgen-small)."""
    codec = model.config.audio_encoder
    frame_rate = float(getattr(codec, "frame_rate", 0) or codec.sampling_rate / np.prod(codec.upsampling_ratios))
    decoder = model.config.decoder
    delay = decoder.num_codebooks // decoder.audio_channels - 1  # stereo models interleave two sets of codebooks
    max_length = model.generation_config.max_length or decoder.max_position_embeddings
    return frame_rate, delay, (max_length - delay) / frame_rate


def _piece_seed(seed: int, piece: int) -> int:
    """A seed per piece: distinct for every (seed, piece) pair, the same on every run."""
    return int(np.random.SeedSequence([seed & (2**64 - 1), piece]).generate_state(1)[0])
