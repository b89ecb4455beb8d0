"""Script writers: topic → hook, scenes, call to action, post text."""

from models.registry import ENGINES


@ENGINES["script"].register("rules")
def _rules(**options):
    from models.script.rules import RuleScriptWriter

    return RuleScriptWriter(**options)
