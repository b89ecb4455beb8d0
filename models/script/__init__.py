"""Script writers: topic → hook, scenes, call to action, post text."""

from models.registry import ENGINES


@ENGINES["script"].register("rules")
def _rules(**options):
    from models.script.rules import RuleScriptWriter

    return RuleScriptWriter(**options)


@ENGINES["script"].register("transformers")
def _transformers(**options):
    from models.script.llm import TransformersWriter

    return TransformersWriter(**options)


@ENGINES["script"].register("openai-compatible")
def _openai(**options):
    from models.script.llm import OpenAICompatibleWriter

    return OpenAICompatibleWriter(**options)
