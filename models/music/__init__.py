"""Music engines: a bed under the voice."""

from models.registry import ENGINES


@ENGINES["music"].register("procedural")
def _procedural(**options):
    from models.music.procedural import ProceduralMusic

    return ProceduralMusic(**options)
