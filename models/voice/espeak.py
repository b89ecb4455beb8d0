"""espeak-ng through its C library, so word timings come from the engine's own events.

The command-line tool only writes audio; the library's synthesis callback also
reports a WORD event with the audio position of every word, which is exactly
what the captions need.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from pathlib import Path

import numpy as np

from models.base import EngineContext, VoiceEngine
from models.errors import EngineFailed, EngineUnavailable
from models.types import VoiceClip, Word
from models.wavio import write_pcm16

_INSTALL_HINT = "Install it with: sudo apt-get install espeak-ng"
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED, _EVENT_WORD = 0, 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH = 1, 2, 3


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))

# The library keeps global state: one synthesis at a time per process.
_LOCK = threading.Lock()
_LIB: ctypes.CDLL | None = None
_RATE = 0


_INIT_LOCK = threading.Lock()  # espeak_Initialize run twice at once hangs inside the library (seen: a voice
# preview on page load and a job starting together)


def _library() -> tuple[ctypes.CDLL, int]:
    with _INIT_LOCK:
        return _load_library()


def _load_library() -> tuple[ctypes.CDLL, int]:
    global _LIB, _RATE
    if _LIB is None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            raise EngineUnavailable("The espeak-ng library (libespeak-ng) is not installed.", _INSTALL_HINT) from None
        lib.espeak_Initialize.restype = ctypes.c_int
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
        if rate <= 0:
            raise EngineUnavailable("espeak-ng failed to initialise (its voice data is missing?).", _INSTALL_HINT)
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        ]
        _LIB, _RATE = lib, rate
    return _LIB, _RATE


class EspeakVoice(VoiceEngine):
    """Offline text-to-speech. ``voice`` is an espeak-ng voice name such as ``en-us+m3``."""

    @classmethod
    def create(cls, options: dict, context: EngineContext) -> EspeakVoice:
        return cls(**{"rate_wpm": context.voice_rate_wpm, "pitch": context.voice_pitch, **options})
    reports_words = True

    engine = "espeak-ng"

    def __init__(self, rate_wpm: int = 165, pitch: int = 50) -> None:
        self.rate_wpm = rate_wpm
        self.pitch = pitch

    @property
    def settings(self) -> dict:
        return {"rate_wpm": self.rate_wpm, "pitch": self.pitch, "timing": 2}

    def synthesize(self, text: str, *, voice: str, out_path: Path) -> VoiceClip:
        lib, rate = _library()
        chunks: list[bytes] = []
        events: list[tuple[int, int, int]] = []  # (char position, length, audio ms)

        def on_audio(wav, numsamples, event_ptr):  # called from inside espeak_Synth
            if numsamples > 0:
                chunks.append(ctypes.string_at(wav, numsamples * 2))
            i = 0
            while event_ptr[i].type != _EVENT_LIST_TERMINATED:
                ev = event_ptr[i]
                if ev.type == _EVENT_WORD:
                    events.append((ev.text_position, ev.length, ev.audio_position))
                i += 1
            return 0

        callback = _CALLBACK(on_audio)
        data = text.encode("utf-8")
        buf = ctypes.create_string_buffer(data)
        with _LOCK:
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise EngineUnavailable(f"espeak-ng has no voice {voice!r}.", "List voices with: espeak-ng --voices")
            lib.espeak_SetSynthCallback(callback)
            lib.espeak_SetParameter(_PARAM_RATE, self.rate_wpm, 0)
            lib.espeak_SetParameter(_PARAM_PITCH, self.pitch, 0)
            status = lib.espeak_Synth(buf, len(data) + 1, 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None)
            lib.espeak_Synchronize()
        if status != 0 or not chunks:
            raise EngineFailed(f"espeak-ng produced no audio for {text[:40]!r}.")
        pcm = np.frombuffer(b"".join(chunks), dtype=np.int16)
        out_path = write_pcm16(Path(out_path), pcm, rate)
        duration = len(pcm) / rate
        return VoiceClip(out_path, rate, duration, _words_from_events(text, events, pcm, rate))


def _words_from_events(text: str, events: list[tuple[int, int, int]], pcm: np.ndarray, rate: int) -> tuple[Word, ...]:
    """Turn WORD events into timed words; a word ends where the next begins, the last at the end of speech."""
    chars = text  # espeak counts positions in characters, 1-based
    starts = [ms / 1000.0 for _, _, ms in events]
    speech_end = _speech_end(pcm, rate)
    words = []
    for i, (pos, length, _) in enumerate(events):
        token = chars[max(pos - 1, 0): max(pos - 1, 0) + max(length, 1)].strip()
        if not token:
            continue
        end = starts[i + 1] if i + 1 < len(starts) else max(speech_end, starts[i] + 0.05)
        start = _onset(pcm, rate, starts[i], end)
        words.append(Word(token, start, max(end, start + 0.01), char_start=max(pos - 1, 0)))
    return tuple(words)


def _onset(pcm: np.ndarray, rate: int, start: float, end: float) -> float:
    """Where sound actually begins after a WORD event.

    espeak fires the event where the word's slot begins, which includes any pause
    before it (after a comma, between sentences); captions should light up when
    the word is heard, so move to the first 5 ms window louder than about -27 dBFS.
    """
    hop = int(rate * 0.005)
    a, b = int(start * rate), int(min(end, start + 0.4) * rate)
    seg = pcm[a:b].astype(np.float32)
    if len(seg) < hop:
        return start
    frames = seg[: len(seg) // hop * hop].reshape(-1, hop)
    loud = np.flatnonzero(np.sqrt(np.mean(frames**2, axis=1)) > 1500)
    return start + (loud[0] * hop / rate if loud.size else 0.0)


def _speech_end(pcm: np.ndarray, rate: int) -> float:
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 300)
    return float((loud[-1] + 1) / rate) if loud.size else len(pcm) / rate
