"""Timing engines: when each word is heard."""

from models.registry import ENGINES


@ENGINES["timing"].register("faster-whisper")
def _whisper(**options):
    from models.timing.whisper import WhisperTiming

    return WhisperTiming(**options)
