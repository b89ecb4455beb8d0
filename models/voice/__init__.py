"""Voice engines: text → speech with word events."""

from models.registry import ENGINES


@ENGINES["voice"].register("espeak-ng")
def _espeak(**options):
    from models.voice.espeak import EspeakVoice

    return EspeakVoice(**options)
