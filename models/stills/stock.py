"""Stock photos for each scene from Pexels and Pixabay, for creators without a GPU.

A scene's visual prompt is cut down to a few search words, the provider is asked for vertical photos, and of
the results the one whose shape is closest to the frame's is downloaded, checked as a real image and credited
(provider, photo page, author, licence). Both providers ask that searches be kept for 24 hours, so searches
and downloads are cached on disk by query and photo id.

Anything that stops a provider from giving a photo (its key refused, a rate limit, nothing found, a body that
is not an image) is noted and the next provider is tried; when none gives one, EngineFailed names every
reason, so the caller can use its next engine for that scene and say why.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image, ImageOps

from models.base import EngineContext, StillsEngine
from models.errors import EngineFailed, EngineUnavailable
from models.types import Credit, StillSpec

T = TypeVar("T")

PEXELS_URL = "https://api.pexels.com/v1/search"
PIXABAY_URL = "https://pixabay.com/api/"
LABELS = {"pexels": "Pexels", "pixabay": "Pixabay"}
LICENCES = {"pexels": ("Pexels License", "https://www.pexels.com/license/"),
            "pixabay": ("Pixabay Content License", "https://pixabay.com/service/license-summary/")}
# the locales each provider documents, for our languages (others search in English)
PEXELS_LOCALES = {"en": "en-US", "es": "es-ES", "fr": "fr-FR", "de": "de-DE", "pt": "pt-BR", "it": "it-IT",
                  "zh": "zh-CN", "ja": "ja-JP"}
PIXABAY_LANGS = {"en", "es", "fr", "de", "pt", "it", "zh", "ja"}
SEARCH_TTL_S = 24 * 3600  # both providers ask API users to cache searches for 24 h
MAX_BYTES = 25 * 2**20
MAX_PIXELS = 50_000_000
PICK_SPREAD = 0.15  # results this close in log-aspect to the best one are equally good: the scene's seed chooses
VERSION = 1

# words that describe the picture's style or the prompt's own template, not what is in it
STYLE_WORDS = frozenset("""
vertical horizontal portrait landscape cinematic cinematographic cinematográfico cinematografico cinematique
vibrant vivid photo photos photograph photography photorealistic realistic hyperrealistic image picture shot
scene escena scène szene cena close closeup up wide angle aerial view lighting light lit style styled aesthetic
beautiful stunning detailed highly high quality resolution sharp focus bokeh depth field hd uhd background
render rendering illustration art artistic composition dramatic moody soft warm cool golden hour colour color
colorful colourful mood film movie still frame format ratio aspect
""".split())
STOPWORDS = frozenset("""
a an the and or but of in on at to for from by with without into onto over under about as is are was were be
been being this that these those it its their his her our your my who what which when where how than then so
very just some any each every all more most other such no not only own same too can will do does did has have
had one two three four five first second third next last new
el la los las un una unos unas y o de del al en con sin por para que es son su sus lo como más muy sobre entre
le les des du et ou une dans avec pour sur der die das ein eine und oder mit für auf im o os um uma e da do em
""".split())


def search_terms(prompt: str, words: int = 4) -> str:
    """The prompt's first few content words: style words ("vertical, cinematic"), stopwords and numbers dropped."""
    out: list[str] = []
    for token in re.findall(r"[^\W_]+(?:['’-][^\W_]+)*", prompt.lower()):
        if any(c.isdigit() for c in token) or len(token) < 2 or token in STYLE_WORDS or token in STOPWORDS:
            continue
        if token not in out:
            out.append(token)
        if len(out) == words:
            break
    return " ".join(out)


@dataclass(frozen=True)
class Photo:
    """One search result: its shape, where to download it at a size that fits the frame, and its credit."""

    provider: str
    id: str
    width: int
    height: int
    image_url: str
    credit: Credit


def pexels_photos(data: Any, height: int) -> list[Photo]:
    """Photos of a Pexels search answer (``photos[]``); malformed items are skipped."""
    out = []
    for p in (data.get("photos") if isinstance(data, dict) else None) or []:
        try:
            original = str(p["src"]["original"])
            # Pexels resizes on the fly with the parameters its own src sizes use: the frame's height is enough
            url = original if "?" in original else f"{original}?auto=compress&cs=tinysrgb&h={min(height, int(p['height']))}"
            out.append(Photo("pexels", str(p["id"]), int(p["width"]), int(p["height"]), url, Credit(
                "pexels", str(p["url"]), str(p.get("photographer") or "unknown"), str(p.get("photographer_url") or ""),
                *LICENCES["pexels"])))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def pixabay_photos(data: Any, _height: int) -> list[Photo]:
    """Photos of a Pixabay search answer (``hits[]``). ``largeImageURL`` is at most 1280 px on its long side (the
    full size needs approved access); its shape is the original's (``imageWidth`` × ``imageHeight``)."""
    out = []
    for h in (data.get("hits") if isinstance(data, dict) else None) or []:
        try:
            url = str(h.get("largeImageURL") or h["webformatURL"])
            user = str(h.get("user") or "unknown")
            author_url = f"https://pixabay.com/users/{user}-{h['user_id']}/" if h.get("user_id") else ""
            out.append(Photo("pixabay", str(h["id"]), int(h["imageWidth"]), int(h["imageHeight"]), url, Credit(
                "pixabay", str(h["pageURL"]), user, author_url, *LICENCES["pixabay"])))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def pick(photos: list[Photo], width: int, height: int, seed: int) -> Photo:
    """The result shaped most like the frame (the frame's orientation first); among results about as close as the
    best, the scene's seed chooses, so scenes searching the same words do not all show one photo."""
    frame = math.log(width / height)

    def rank(p: Photo) -> tuple[bool, float]:
        return (p.width > p.height) != (width > height), abs(math.log(p.width / p.height) - frame)

    ranked = sorted((p for p in photos if p.width > 0 and p.height > 0), key=rank)
    best = rank(ranked[0])
    close = [p for p in ranked if rank(p)[0] == best[0] and rank(p)[1] <= best[1] + PICK_SPREAD][:5]
    return close[seed % len(close)]


class _Refused(Exception):
    """One provider gave no photo for this scene (the reason is the message)."""


class _Transient(Exception):
    """A 5xx or a dropped connection: worth another try."""


def image_from_bytes(data: bytes, what: str) -> Image.Image:
    """``data`` decoded, when it really is a JPEG, PNG or WebP image of a sane size."""
    if not (data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")):
        raise _Refused(f"{what} is not a JPEG, PNG or WebP image (it starts {data[:12]!r})")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise _Refused(f"{what} is {image.width}×{image.height}, larger than {MAX_PIXELS // 10**6} MP")
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise _Refused(f"{what} could not be decoded as an image ({exc})") from None
    return image


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class StockStills(StillsEngine):
    """Photos from Pexels and/or Pixabay (tried in that order, each only when its key is given)."""

    engine = "stock"
    gives_credit = True

    def __init__(self, pexels_key: str | None = None, pixabay_key: str | None = None, cache_dir: str | None = None,
                 language: str = "en", words: int = 4, per_page: int = 15, timeout: float = 20.0,
                 max_bytes: int = MAX_BYTES, attempts: int = 3, retry_wait: float = 0.5) -> None:
        self._keys = {name: key for name, key in (("pexels", pexels_key), ("pixabay", pixabay_key)) if key}
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.language, self.words, self.per_page = language, words, per_page
        self.timeout, self.max_bytes, self.attempts, self.retry_wait = timeout, max_bytes, attempts, retry_wait
        self._blocked: dict[str, tuple[float, str]] = {}  # provider → (until when, why): not asked again meanwhile
        self._pexels_reset: float | None = None  # Pexels names its reset on 2xx answers only, not on its 429s

    @classmethod
    def create(cls, options: dict[str, Any], context: EngineContext) -> StockStills:
        return cls(**{"language": context.language, **options})

    def __repr__(self) -> str:  # never the keys
        return f"StockStills(providers={self.providers})"

    @property
    def providers(self) -> list[str]:
        return list(self._keys)

    @property
    def settings(self) -> dict:
        return {"version": VERSION, "providers": self.providers, "language": self.language, "words": self.words,
                "per_page": self.per_page}

    def check(self) -> None:
        if not self._keys:
            raise EngineUnavailable("The stock engine has no Pexels or Pixabay API key.",
                                    "Give it pexels_key or pixabay_key (free keys: https://www.pexels.com/api/, "
                                    "https://pixabay.com/api/docs/).")

    def generate(self, spec: StillSpec, out_path: Path) -> Path:
        return self.generate_credited(spec, out_path)[0]

    def generate_credited(self, spec: StillSpec, out_path: Path) -> tuple[Path, Credit | None]:
        import httpx

        query = search_terms(spec.prompt, self.words)
        if not query:
            raise EngineFailed(f"The visual prompt {spec.prompt[:60]!r} has no words to search stock photos for.")
        reasons = []
        with httpx.Client(timeout=self.timeout, follow_redirects=True,
                          headers={"User-Agent": "viral-ai-studio (stock stills)"}) as client:
            for provider in self._keys:
                try:
                    photos = self._search(client, provider, query, spec.height)
                    if not photos:
                        raise _Refused(f"{LABELS[provider]} found no photos for {query!r}")
                    photo = pick(photos, spec.width, spec.height, spec.seed)
                    image = self._image(client, photo)
                except _Refused as exc:
                    reasons.append(str(exc))
                    continue
                out_path = Path(out_path)
                out_path.parent.mkdir(parents=True, exist_ok=True)
                ImageOps.exif_transpose(image).convert("RGB").save(out_path, "JPEG", quality=95)
                return out_path, photo.credit
        raise EngineFailed(f"No stock photo: {'; '.join(reasons)}.")

    # -- searching -------------------------------------------------------------------------------------------------

    def _search(self, client, provider: str, query: str, height: int) -> list[Photo]:
        parse = pexels_photos if provider == "pexels" else pixabay_photos
        digest = hashlib.sha256(json.dumps([provider, query, self.language, self.per_page]).encode()).hexdigest()[:32]
        cached = self.cache_dir / provider / "search" / f"{digest}.json" if self.cache_dir else None
        if cached is not None and cached.is_file() and time.time() - cached.stat().st_mtime < SEARCH_TTL_S:
            try:
                return parse(json.loads(cached.read_text(encoding="utf-8")), height)
            except ValueError:
                pass  # a damaged entry is searched again
        until, why = self._blocked.get(provider, (0.0, ""))
        if time.time() < until:
            raise _Refused(why)
        if provider == "pexels":
            params: dict[str, Any] = {"query": query, "orientation": "portrait", "per_page": self.per_page}
            if self.language in PEXELS_LOCALES:
                params["locale"] = PEXELS_LOCALES[self.language]
            response = self._retry(provider, lambda: client.get(
                PEXELS_URL, params=params, headers={"Authorization": self._keys[provider]}))
        else:
            params = {"key": self._keys[provider], "q": query[:100], "image_type": "photo", "orientation": "vertical",
                      "per_page": max(3, min(self.per_page, 200)), "safesearch": "true"}
            if self.language in PIXABAY_LANGS:
                params["lang"] = self.language
            response = self._retry(provider, lambda: client.get(PIXABAY_URL, params=params))
        if provider == "pexels" and response.status_code == 200:
            self._pexels_reset = _number(response.headers.get("X-Ratelimit-Reset")) or self._pexels_reset
        self._raise_for(provider, response)
        try:
            data = response.json()
        except ValueError:
            raise _Refused(f"{LABELS[provider]} answered with something that is not JSON") from None
        if cached is not None:
            _write_atomic(cached, json.dumps(data).encode())
        return parse(data, height)

    def _raise_for(self, provider: str, response) -> None:
        label, status = LABELS[provider], response.status_code
        if status == 200:
            return
        if status == 429:
            why = f"{label} rate limit reached (HTTP 429); {self._reset_text(provider, response)}"
            reset = self._reset_at(provider, response)
            self._blocked[provider] = (reset if reset is not None else time.time() + 60.0, why)
            raise _Refused(why)
        if status in (401, 403):
            raise _Refused(f"{label} refused the API key (HTTP {status}); check that it is the key {label} gave you")
        raise _Refused(f"{label} answered HTTP {status}: {response.text[:120].strip()!r}")

    def _reset_at(self, provider: str, response) -> float | None:
        """When the provider takes requests again: Pexels' X-Ratelimit-Reset is a UNIX time (its 429s may omit it:
        then the last one a 2xx answer named), Pixabay's X-RateLimit-Reset is seconds from now."""
        value = _number(response.headers.get("X-Ratelimit-Reset"))
        if provider == "pexels":
            return value if value is not None else self._pexels_reset
        return time.time() + value if value is not None else None

    def _reset_text(self, provider: str, response) -> str:
        at = self._reset_at(provider, response)
        if at is None:
            return f"{LABELS[provider]} did not say when it resets"
        wait = max(at - time.time(), 0.0)
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))
        return f"it resets at {when} (in {_duration(wait)})"

    # -- downloading -----------------------------------------------------------------------------------------------

    def _image(self, client, photo: Photo) -> Image.Image:
        what = f"{LABELS[photo.provider]} photo {photo.id}"
        cached = self.cache_dir / photo.provider / "images" / f"{photo.id}.img" if self.cache_dir else None
        if cached is not None and cached.is_file():
            try:
                return image_from_bytes(cached.read_bytes(), what)
            except _Refused:
                cached.unlink(missing_ok=True)  # damaged on disk: fetched again
        data = self._retry(photo.provider, lambda: self._download(client, photo.image_url, what))
        image = image_from_bytes(data, what)
        if cached is not None:
            _write_atomic(cached, data)
        return image

    def _download(self, client, url: str, what: str) -> bytes:
        with client.stream("GET", url) as response:
            if response.status_code >= 500:
                raise _Transient(f"HTTP {response.status_code}")
            if response.status_code != 200:
                raise _Refused(f"{what} could not be downloaded (HTTP {response.status_code})")
            declared = _number(response.headers.get("Content-Length"))
            if declared is not None and declared > self.max_bytes:
                raise _Refused(f"{what} is {declared / 2**20:.1f} MiB, over the {self.max_bytes / 2**20:.0f} MiB limit")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise _Refused(f"{what} is over the {self.max_bytes / 2**20:.0f} MiB limit")
                chunks.append(chunk)
        return b"".join(chunks)

    def _retry(self, provider: str, call: Callable[[], T]) -> T:
        """``call`` again after a dropped connection or a 5xx (exponential waits), then a plain refusal."""
        import httpx
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

        def attempt() -> T:
            try:
                result = call()
            except httpx.TransportError as exc:
                raise _Transient(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
            status = getattr(result, "status_code", 200)
            if isinstance(status, int) and status >= 500:
                raise _Transient(f"HTTP {status}")
            return result

        retrying = Retrying(stop=stop_after_attempt(self.attempts), wait=wait_exponential(multiplier=self.retry_wait, max=4),
                            retry=retry_if_exception_type(_Transient), reraise=True)
        try:
            return retrying(attempt)
        except _Transient as exc:
            raise _Refused(f"{LABELS[provider]} could not be reached ({exc}) after {self.attempts} tries") from None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"
