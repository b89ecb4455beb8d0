"""LLM script writers: a local ``transformers`` instruct model, or any OpenAI-compatible server.

Both share the prompt, the repair of almost-valid JSON and the retry loop; an
answer that cannot be repaired is retried with the reason, then refused.
"""

from __future__ import annotations

from models.base import EngineContext, ScriptEngine
from models.errors import EngineFailed, EngineUnavailable, Remedy
from models.hub import ModelRef, locate
from models.manager import ModelManager
from models.script.parse import ScriptFormatError, parse_script
from models.types import Script

SYSTEM = ("You write scripts for vertical short videos (Reels, Shorts, TikTok). "
          "Answer with one JSON object and nothing else.")
PROMPT = """Write a short video script about: {topic}
Language: {language}. About {words} spoken words in total, in {scenes} scenes.
Start with a hook that stops the scroll; end with a call to action.
JSON keys: "hook" (string), "scenes" (list of objects with "text" (spoken words), "visual_prompt" (what is on
screen, for an image model), "seconds" (number)), "call_to_action" (string), "title" (at most 100 characters),
"caption" (string), "hashtags" (list of strings starting with #)."""


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


class TransformersWriter(_LLMWriter):
    uses_weights = True
    engine = "transformers"

    def __init__(self, model: str, revision: str | None = None, device: str = "cpu", dtype: str = "auto",
                 max_new_tokens: int = 512, local_files_only: bool = True, cache_dir: str | None = None,
                 manager: ModelManager | None = None, profile: str = "") -> None:
        self.ref = ModelRef(model, revision)
        self.device, self.dtype, self.max_new_tokens = device, dtype, max_new_tokens
        self.local_files_only, self.cache_dir = local_files_only, cache_dir
        self.manager = manager or ModelManager()
        self.profile = profile

    @property
    def settings(self) -> dict:
        return {"model": self.ref.repo, "revision": self.ref.revision, "max_new_tokens": self.max_new_tokens}

    def check(self) -> None:
        locate(self.ref, stage="script", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
               profile=self.profile)

    def _load(self):
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise EngineUnavailable("transformers and torch are not installed.",
                                    "pip install -r requirements.txt") from None
        path = locate(self.ref, stage="script", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
                      profile=self.profile)
        try:
            tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=self.dtype, local_files_only=True).to(self.device)
        except (OSError, ValueError, RuntimeError) as exc:
            raise EngineUnavailable(f"The script model in {path} could not be loaded: {exc}",
                                    "The download may be incomplete or corrupt: pull it again.") from None
        return tok, model.eval()

    def _complete(self, messages: list[dict], seed: int) -> str:
        import torch

        tok, model = self.manager.get(("llm", str(self.ref), self.device, self.dtype), self._load,
                                      size=lambda pair: _param_bytes(pair[1]))
        enc = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        torch.manual_seed(seed)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=True, temperature=0.7,
                                 top_p=0.9, pad_token_id=tok.pad_token_id)
        return tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)


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
                "max_tokens": self.max_tokens}
        try:
            r = httpx.post(f"{self.base_url}/chat/completions", json=body, timeout=self.timeout,
                           headers=self._headers())
            r.raise_for_status()
            return r.json()["choices"][0]["message"]["content"] or ""
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise EngineFailed(f"The script server at {self.base_url} failed: {exc}") from None
