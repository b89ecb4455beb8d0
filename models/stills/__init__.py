"""Stills engines: one image per scene."""

from models.registry import ENGINES


@ENGINES["stills"].register("procedural")
def _procedural(**options):
    from models.stills.procedural import ProceduralStills

    return ProceduralStills(**options)


@ENGINES["stills"].register("diffusers")
def _diffusers(**options):
    from models.stills.diffusion import DiffusionStills

    return DiffusionStills(**options)
