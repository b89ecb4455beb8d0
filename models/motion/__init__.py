"""Motion engines: how each still moves."""

from models.registry import ENGINES


@ENGINES["motion"].register("kenburns")
def _kenburns(**options):
    from models.motion.kenburns import KenBurns

    return KenBurns(**options)


@ENGINES["motion"].register("svd")
def _svd(**options):
    from models.motion.svd import SVDMotion

    return SVDMotion(**options)
