"""Scoring engines: how good an image is, and which frame makes the thumbnail."""

from models.registry import ENGINES


@ENGINES["scoring"].register("image-stats")
def _image_stats(**options):
    from models.scoring.image_stats import ImageStats

    return ImageStats(**options)


@ENGINES["scoring"].register("open_clip")
def _clip(**options):
    from models.scoring.clip import ClipScoring

    return ClipScoring(**options)
