"""Voice engines: text → speech with word events."""

from models.registry import ENGINES


@ENGINES["voice"].register("espeak-ng")
def _espeak(**options):
    from models.voice.espeak import EspeakVoice

    return EspeakVoice(**options)


@ENGINES["voice"].register("coqui")
def _coqui(**options):
    from models.voice.coqui import CoquiVoice

    return CoquiVoice(**options)
