"""Coqui TTS (the maintained ``coqui-tts`` fork): VITS voices on CPU, XTTS-v2 with voice cloning on GPU.

A model is a folder with ``model.pth`` + ``config.json`` (the Coqui checkpoint layout, e.g. a Hub snapshot of
coqui/XTTS-v2) or a Coqui model name such as ``tts_models/en/ljspeech/vits``. Coqui gives no word events:
word timings come from the timing stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np

from models.base import EngineContext, VoiceEngine
from models.errors import EngineFailed, EngineUnavailable, Remedy, StudioError
from models.hub import ModelRef, locate
from models.manager import ModelManager
from models.types import VoiceClip
from models.wavio import write_pcm16

_HINT = "pip install -r requirements.txt  (coqui-tts needs torch, torchaudio, torchcodec and six)"


class CoquiVoice(VoiceEngine):
    uses_weights = True
    can_clone = True  # XTTS-v2 speaks in the voice of speaker_wav

    @classmethod
    def create(cls, options: dict, context: EngineContext) -> CoquiVoice:
        options = {"language": context.language, "speaker": context.voice_speaker, **options,
                   "seed": context.seed, "speaker_wav": context.speaker_wav}
        return cast(CoquiVoice, super().create(options, context))

    @classmethod
    def weights_present(cls, stage: str, model: str, revision: str | None) -> bool:
        if not model.startswith("tts_models/"):  # a Hub repo or a folder
            return super().weights_present(stage, model, revision)
        try:
            cls(model).check()
            return True
        except StudioError:
            return False

    @classmethod
    def fetch_weights(cls, model: str, revision: str | None, *, on_bytes: Any = None, cancel: Any = None) -> str:
        if not model.startswith("tts_models/"):
            return super().fetch_weights(model, revision, on_bytes=on_bytes, cancel=cancel)
        from TTS.utils.manage import ModelManager as CoquiModels

        CoquiModels(progress_bar=True).download_model(model)
        return f"{model} from Coqui's model list"
    engine = "coqui"

    def __init__(self, model: str, revision: str | None = None, device: str = "cpu", speaker: str | None = None,
                 language: str | None = None, speaker_wav: str | None = None, local_files_only: bool = True,
                 cache_dir: str | None = None, manager: ModelManager | None = None, profile: str = "",
                 seed: int = 0) -> None:
        self.ref = ModelRef(model, revision)
        self.seed = seed
        self.device, self.speaker, self.language = device, speaker, language
        self.speaker_wav = speaker_wav
        self.local_files_only, self.cache_dir = local_files_only, cache_dir
        self.manager = manager or ModelManager()
        self.profile = profile

    @property
    def settings(self) -> dict:
        ref_digest = None
        if self.speaker_wav:
            import hashlib

            ref_digest = hashlib.sha256(Path(self.speaker_wav).read_bytes()).hexdigest()[:16]
        return {"model": self.ref.repo, "revision": self.ref.revision, "speaker": self.speaker,
                "language": self.language, "clone": ref_digest, "seed": self.seed}

    def _files(self) -> tuple[Path, Path]:
        if self.ref.repo.startswith("tts_models/"):  # a Coqui catalogue name: Coqui's own download folder
            root = _coqui_home() / self.ref.repo.replace("/", "--")
            if not root.is_dir():
                raise EngineUnavailable(f"The Coqui voice {self.ref.repo} is not downloaded.",
                                        "Fetch it ahead of time.", Remedy("pull_weights", profile=self.profile or None,
                                                                          stage="voice", repo=self.ref.repo))
        else:
            root = locate(self.ref, stage="voice", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
                          profile=self.profile)
        model, config = root / "model.pth", root / "config.json"
        if not (model.is_file() and config.is_file()):
            raise EngineUnavailable(f"{root} is not a Coqui model folder (needs model.pth and config.json).",
                                    "Give the voice stage a Coqui checkpoint folder.",
                                    Remedy("set_field", field="models", value="voice=FOLDER"))
        return model, config

    def check(self) -> None:
        self._files()

    def _load(self):
        try:
            from TTS.api import TTS
        except ImportError:
            raise EngineUnavailable("Coqui TTS (coqui-tts) is not installed.", _HINT) from None
        files = self._files()
        try:
            tts = TTS(model_path=str(files[0]), config_path=str(files[1]), progress_bar=False)
            return tts.to(self.device)
        except (RuntimeError, KeyError, ValueError, OSError, EOFError) as exc:
            raise EngineUnavailable(f"The Coqui model {self.ref.repo} could not be loaded: {exc}",
                                    "The checkpoint may be incomplete or corrupt: pull it again.") from None

    def tts(self):
        return self.manager.get(("coqui", str(self.ref), self.device), self._load,
                                size=lambda t: _size(t))

    def synthesize(self, text: str, *, voice: str, out_path: Path) -> VoiceClip:
        tts = self.tts()
        kwargs = {}
        if getattr(tts, "is_multi_speaker", False):
            speakers = list(getattr(tts, "speakers", None) or [])
            kwargs["speaker"] = self.speaker if self.speaker in speakers else (speakers[0] if speakers else None)
        if getattr(tts, "is_multi_lingual", False):
            kwargs["language"] = _model_language(self.language or "en", list(getattr(tts, "languages", None) or []),
                                                 self.ref.repo)
        if self.speaker_wav:
            kwargs["speaker_wav"] = self.speaker_wav
            kwargs.pop("speaker", None)
        import torch

        torch.manual_seed(self.seed)  # VITS samples durations and noise: a fixed seed makes runs reproducible
        try:
            wav = np.asarray(tts.tts(text=text, **kwargs), dtype=np.float32)
        except (RuntimeError, ValueError, KeyError) as exc:
            raise EngineFailed(f"Coqui could not speak {text[:40]!r}: {exc}") from None
        except ImportError as exc:  # XTTS's Japanese and Chinese text front-ends are optional extras of coqui-tts
            lang = str(kwargs.get("language", "")).split("-")[0]
            hint = f'pip install "coqui-tts[{lang}]"' if lang in ("ja", "zh", "ko") else f"pip install {exc.name}"
            raise EngineUnavailable(f"Coqui cannot speak {lang!r} without an optional package ({exc}).", hint) from None
        if wav.size == 0 or not np.isfinite(wav).all():
            raise EngineFailed(f"Coqui produced no usable audio for {text[:40]!r}.")
        peak = float(np.abs(wav).max())
        if peak > 1.0:
            wav = wav / peak
        rate = int(tts.synthesizer.output_sample_rate)
        write_pcm16(Path(out_path), wav, rate)
        return VoiceClip(Path(out_path), rate, len(wav) / rate, ())


def _model_language(code: str, names: list[str], model: str) -> str:
    """The model's own name for a language: XTTS-v2 calls Chinese ``zh-cn`` (YourTTS: ``fr-fr``, ``pt-br``)."""
    if not names or code in names:
        return code
    for name in names:
        if name.split("-")[0] == code.split("-")[0]:
            return name
    raise EngineUnavailable(f"The Coqui voice {model} does not speak {code!r}.",
                            f"Choose one of its languages ({', '.join(names)}) or another voice model.")


def _coqui_home() -> Path:
    import os

    base = os.environ.get("TTS_HOME") or os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tts"


def _size(tts) -> int:
    from models.manager import param_bytes

    model = getattr(getattr(tts, "synthesizer", None), "tts_model", None)
    return param_bytes(model) if model is not None else 0
