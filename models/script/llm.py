"""LLM script writers: a local ``transformers`` instruct model, or any OpenAI-compatible server.

Both share the prompt, the JSON Schema of the answer (models/script/schema.py), the repair of almost-valid
JSON and the retry loop. The local engine decodes under that schema, so its answer is valid by construction;
a server is sent the schema as ``response_format``, and the repair and retry remain for servers that ignore
it: an answer that cannot be repaired is retried with the reason, then refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.base import EngineContext, ScriptEngine
from models.errors import EngineFailed, EngineUnavailable, Remedy
from models.hub import ModelRef, locate
from models.manager import ModelManager
from models.script.parse import ScriptFormatError, parse_script
from models.script.schema import SCRIPT_SCHEMA, SCRIPT_SCHEMA_JSON
from models.types import Script

SYSTEM = ("You write scripts for vertical short videos (Reels, Shorts, TikTok). "
          "Answer with one JSON object and nothing else.")
PROMPT = """Write a short video script about: {topic}
Language: {language}. About {words} spoken words in total, in {scenes} scenes.
Start with a hook that stops the scroll; end with a call to action.
JSON keys: "hook" (string), "scenes" (list of objects with "text" (spoken words), "visual_prompt" (what is on
screen, for an image model), "seconds" (number)), "call_to_action" (string), "title" (at most 100 characters),
"caption" (string), "hashtags" (list of strings starting with #)."""


# OpenAI's structured-output form, which vLLM, Ollama and llama.cpp's server also honour
RESPONSE_FORMAT = {"type": "json_schema", "json_schema": {"name": "short_script", "schema": SCRIPT_SCHEMA, "strict": True}}


class _LLMWriter(ScriptEngine):
    engine = "llm"
    retries = 3

    def _complete(self, messages: list[dict], seed: int) -> str:
        raise NotImplementedError

    def write(self, topic: str, *, language: str, target_words: int, seed: int = 0) -> Script:
        words = max(target_words, 8)
        messages = [{"role": "system", "content": SYSTEM},
                    {"role": "user", "content": PROMPT.format(topic=topic, language=language, words=words,
                                                              scenes=max(2, min(8, words // 12)))}]
        reasons = []
        for attempt in range(self.retries):
            raw = self._complete(messages, seed + attempt)
            try:
                return parse_script(raw)
            except ScriptFormatError as exc:
                reasons.append(str(exc))
                messages = [*messages, {"role": "assistant", "content": raw[:2000]},
                            {"role": "user", "content": f"That was not valid: {exc}. Answer with the JSON object only."}]
        raise EngineFailed(f"The {self.engine} script model gave no usable script in {self.retries} tries "
                           f"({'; '.join(reasons)}).", "Try a larger model, or write the script yourself.",
                           Remedy("set_field", field="script"))


@dataclass(frozen=True)
class _Loaded:
    tokenizer: Any
    model: Any
    grammar: Any  # xgrammar's CompiledGrammar of SCRIPT_SCHEMA for this tokenizer, or None when unconstrained
    stop_ids: tuple[int, ...]


class TransformersWriter(_LLMWriter):
    """A local instruct model through ``transformers``, decoding under the script's JSON Schema.

    ``constrained`` (the default) masks, at every step, the tokens that would leave the schema (xgrammar's
    logits processor, no free whitespace), so even a 135M model answers with a schema-valid object.
    ``repetition_penalty`` curbs the loops small models fall into; ``no_repeat_ngram_size`` is not used
    because the schema's keys repeat in every scene and a ban on repeated n-grams would fight the grammar.
    """

    uses_weights = True
    engine = "transformers"

    def __init__(self, model: str, revision: str | None = None, device: str = "cpu", dtype: str = "auto",
                 max_new_tokens: int = 1024, local_files_only: bool = True, cache_dir: str | None = None,
                 manager: ModelManager | None = None, profile: str = "", constrained: bool = True,
                 temperature: float = 0.7, top_p: float = 0.9, repetition_penalty: float = 1.15) -> None:
        self.ref = ModelRef(model, revision)
        self.device, self.dtype, self.max_new_tokens = device, dtype, max_new_tokens
        self.local_files_only, self.cache_dir = local_files_only, cache_dir
        self.manager = manager or ModelManager()
        self.profile = profile
        self.constrained = constrained
        self.temperature, self.top_p, self.repetition_penalty = temperature, top_p, repetition_penalty

    @property
    def settings(self) -> dict:
        return {"model": self.ref.repo, "revision": self.ref.revision, "max_new_tokens": self.max_new_tokens,
                "constrained": self.constrained, "repetition_penalty": self.repetition_penalty}

    def check(self) -> None:
        locate(self.ref, stage="script", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
               profile=self.profile)

    def _load(self) -> _Loaded:
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise EngineUnavailable("transformers and torch are not installed.",
                                    "pip install -r requirements.txt") from None
        if self.constrained:
            _xgrammar()  # before the weights: a missing package is said at once, not after a long load
        path = locate(self.ref, stage="script", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
                      profile=self.profile)
        try:
            tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=self.dtype, local_files_only=True)
            model = model.to(self.device)
        except (OSError, ValueError, RuntimeError) as exc:
            raise EngineUnavailable(f"The script model in {path} could not be loaded: {exc}",
                                    "The download may be incomplete or corrupt: pull it again.") from None
        stop_ids = _stop_ids(tok, model)
        grammar = _compile_schema(tok, model, stop_ids) if self.constrained else None
        return _Loaded(tok, model.eval(), grammar, stop_ids)

    def _complete(self, messages: list[dict], seed: int) -> str:
        import torch

        loaded: _Loaded = self.manager.get(("llm", str(self.ref), self.device, self.dtype, self.constrained),
                                           self._load, size=lambda lm: _param_bytes(lm.model))
        tok, model = loaded.tokenizer, loaded.model
        enc = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        processors = []
        if loaded.grammar is not None:
            from xgrammar.contrib.hf import LogitsProcessor

            processors.append(LogitsProcessor(loaded.grammar))  # holds the decode's state: one per generate()
        torch.manual_seed(seed)
        with torch.inference_mode():
            # transformers applies our processor after the repetition penalty and before temperature/top-p, so
            # sampling only ever sees tokens the schema allows
            out = model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=True,
                                 temperature=self.temperature, top_p=self.top_p,
                                 repetition_penalty=self.repetition_penalty, logits_processor=processors,
                                 eos_token_id=list(loaded.stop_ids), pad_token_id=_pad_id(tok, loaded.stop_ids))
        return tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)


def _xgrammar():
    try:
        import xgrammar
    except ImportError:
        raise EngineUnavailable("xgrammar (the transformers script engine's JSON Schema decoder) is not installed.",
                                "pip install -r requirements.txt") from None
    return xgrammar


def _stop_ids(tok, model) -> tuple[int, ...]:
    """Every token that ends an answer: the generation config's (chat models often list several) and the
    tokenizer's. The grammar allows exactly these once the object is closed, and generate() stops on them."""
    ids: list[int] = []
    for value in (getattr(model.generation_config, "eos_token_id", None), tok.eos_token_id):
        ids += value if isinstance(value, list) else [] if value is None else [value]
    if not ids:
        raise EngineUnavailable("The script model names no end-of-answer token (eos_token_id).",
                                "Use an instruct (chat) model.")
    return tuple(dict.fromkeys(int(i) for i in ids))


def _pad_id(tok, stop_ids: tuple[int, ...]) -> int:
    return tok.pad_token_id if tok.pad_token_id is not None else stop_ids[0]


def _compile_schema(tok, model, stop_ids: tuple[int, ...]):
    xgr = _xgrammar()
    # the mask must cover the model's logits, which may be padded past the tokenizer's vocabulary
    vocab_size = model.get_output_embeddings().weight.shape[0]
    info = xgr.TokenizerInfo.from_huggingface(tok, vocab_size=vocab_size, stop_token_ids=list(stop_ids))
    # no free whitespace: a small model given the choice pads with newlines and spaces until the budget ends
    return xgr.GrammarCompiler(info).compile_json_schema(SCRIPT_SCHEMA_JSON, any_whitespace=False)


def _param_bytes(model) -> int:
    from models.manager import param_bytes

    return param_bytes(model)


class OpenAICompatibleWriter(_LLMWriter):
    """Ollama, vLLM, LM Studio, llama.cpp server: anything speaking ``/v1/chat/completions``."""

    @classmethod
    def create(cls, options: dict, context: EngineContext) -> OpenAICompatibleWriter:
        known = ("base_url", "model", "api_key", "timeout", "max_tokens")  # a profile may carry other keys
        return cls(**{k: v for k, v in options.items() if k in known})

    engine = "openai-compatible"

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 120.0,
                 max_tokens: int = 800) -> None:
        self.base_url = base_url.rstrip("/")
        self.model, self.api_key, self.timeout, self.max_tokens = model, api_key, timeout, max_tokens

    @property
    def settings(self) -> dict:
        return {"base_url": self.base_url, "model": self.model, "max_tokens": self.max_tokens}

    def check(self) -> None:
        import httpx

        try:
            httpx.get(f"{self.base_url}/models", timeout=5, headers=self._headers())
        except httpx.HTTPError as exc:
            raise EngineUnavailable(f"No OpenAI-compatible server answers at {self.base_url} ({exc}).",
                                    "Start it (e.g. `ollama serve`) or fix the base URL.") from None

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _complete(self, messages: list[dict], seed: int) -> str:
        import httpx

        body = {"model": self.model, "messages": messages, "temperature": 0.7, "seed": seed,
                "max_tokens": self.max_tokens, "response_format": RESPONSE_FORMAT}
        try:
            r = httpx.post(f"{self.base_url}/chat/completions", json=body, timeout=self.timeout,
                           headers=self._headers())
            if r.status_code in (400, 422) and "response_format" in r.text:
                # a server that refuses structured output outright: ask again without it; the repair path follows
                body.pop("response_format")
                r = httpx.post(f"{self.base_url}/chat/completions", json=body, timeout=self.timeout,
                               headers=self._headers())
            r.raise_for_status()
            return r.json()["choices"][0]["message"]["content"] or ""
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise EngineFailed(f"The script server at {self.base_url} failed: {exc}") from None
