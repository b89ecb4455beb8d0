"""Motion engines: how each still moves."""

from models.registry import ENGINES


@ENGINES["motion"].register("kenburns")
def _kenburns(**options):
    from models.motion.kenburns import KenBurns

    return KenBurns(**options)
