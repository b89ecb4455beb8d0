"""What a run would have cost on the paid APIs this studio replaces.

Three steps, each small: ``load_prices`` reads configs/prices.yaml (every price with its source and date),
``units_of`` counts what one run made from its report.json (and its timeline, for the words), and ``paid_usd``
multiplies the two, line by line, saying which vendor each line is priced at and whether that price is verified.

Counts follow the work the run did, not the short's size: results served from the content cache cost nothing on
a paid API either (a paid user would keep their files too), so a re-render that reused every voice clip counts
no voice characters.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from models.errors import StudioError

__all__ = ["Cost", "CostLine", "Price", "Prices", "PricesError", "Units", "load_prices", "paid_usd", "units_of",
           "UNITS", "PRICES_PATH"]

PRICES_PATH = Path(__file__).resolve().parents[2] / "configs" / "prices.yaml"
CHARS_PER_TOKEN = 4  # the usual rule of thumb for English with OpenAI's tokenizers; no tokenizer is loaded
CAMERA_ENGINES = frozenset({"kenburns"})  # motion engines that only move a camera over the still (no video made)

# Units field → (price unit in prices.yaml, how many of the field make one billed unit)
UNITS: dict[str, tuple[str, float]] = {
    "voice_chars": ("voice_1k_chars", 1000.0),
    "images": ("image", 1.0),
    "video_seconds": ("video_second", 1.0),
    "transcribe_seconds": ("transcribe_hour", 3600.0),
    "llm_prompt_tokens": ("llm_1k_input_tokens", 1000.0),
    "llm_tokens": ("llm_1k_output_tokens", 1000.0),
    "music_seconds": ("music_minute", 60.0),
}
_PRICE_KEYS = {"id", "service", "vendor", "product", "unit", "usd", "source", "source_date", "verified", "note"}
_REQUIRED = ("id", "service", "vendor", "unit", "usd", "source", "source_date", "verified")
_DATE = re.compile(r"\d{4}-\d{2}(-\d{2})?")


class PricesError(StudioError):
    """configs/prices.yaml (or the file given) is malformed; the message names the file and the key."""

    code = "invalid_prices"


# -- prices ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    id: str
    service: str  # voice | image | video | transcription | llm | music
    vendor: str
    unit: str  # a key of units: in prices.yaml (voice_1k_chars, image, ...)
    usd: float
    source: str  # a URL
    source_date: str  # YYYY-MM-DD, YYYY-MM (the source gives a month only) or "unknown"
    verified: bool
    product: str = ""
    note: str = ""


@dataclass(frozen=True)
class Prices:
    entries: tuple[Price, ...]
    defaults: Mapping[str, str]  # unit → the id of the price the savings figure uses
    labels: Mapping[str, str]
    path: Path

    def get(self, price_id: str) -> Price:
        for p in self.entries:
            if p.id == price_id:
                return p
        raise PricesError(f"{self.path}: no price with id {price_id!r}.",
                          f"Choose one of: {', '.join(p.id for p in self.entries)}.")

    def default(self, unit: str) -> Price:
        return self.get(self.defaults[unit])


def load_prices(path: Path | str | None = None) -> Prices:
    """Read and check a prices file (default: configs/prices.yaml). Every problem names the file and the key."""
    path = Path(path) if path is not None else PRICES_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PricesError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    except yaml.YAMLError as exc:
        raise PricesError(f"{path}: not valid YAML ({exc}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("units"), dict) or not isinstance(data.get("prices"), list):
        raise PricesError(f"{path}: expected a mapping with 'units' (a mapping) and 'prices' (a list).")
    entries = tuple(_price(path, i, raw) for i, raw in enumerate(data["prices"]))
    seen: set[str] = set()
    for i, p in enumerate(entries):
        if p.id in seen:
            raise PricesError(f"{path}: prices[{i}].id: {p.id!r} appears twice.")
        seen.add(p.id)
    units = data["units"]
    wanted = {unit for unit, _ in UNITS.values()}
    for unit in units:
        if unit not in wanted:
            raise PricesError(f"{path}: units.{unit}: unknown unit.", f"Known units: {', '.join(sorted(wanted))}.")
    defaults, labels = {}, {}
    for unit in sorted(wanted):
        spec = units.get(unit)
        if not isinstance(spec, dict) or not isinstance(spec.get("default"), str):
            raise PricesError(f"{path}: units.{unit}.default: missing; name the price the savings figure uses.")
        match = [p for p in entries if p.id == spec["default"]]
        if not match:
            raise PricesError(f"{path}: units.{unit}.default: no price has id {spec['default']!r}.")
        if match[0].unit != unit:
            raise PricesError(f"{path}: units.{unit}.default: {spec['default']!r} is priced per {match[0].unit}, "
                              f"not per {unit}.")
        defaults[unit], labels[unit] = spec["default"], str(spec.get("label", unit))
    return Prices(entries, defaults, labels, path)


def _price(path: Path, i: int, raw: Any) -> Price:
    where = f"{path}: prices[{i}]"
    if not isinstance(raw, dict):
        raise PricesError(f"{where}: expected a mapping, got {type(raw).__name__}.")
    if isinstance(raw.get("id"), str):
        where += f" ({raw['id']})"
    for key in _REQUIRED:
        if key not in raw or raw[key] is None or raw[key] == "":
            raise PricesError(f"{where}.{key}: missing.")
    unknown = set(raw) - _PRICE_KEYS
    if unknown:
        raise PricesError(f"{where}.{sorted(unknown)[0]}: unknown key.", f"Keys: {', '.join(sorted(_PRICE_KEYS))}.")
    for key in ("id", "service", "vendor", "unit", "source", "product", "note"):
        if key in raw and not isinstance(raw[key], str):
            raise PricesError(f"{where}.{key}: must be text, got {raw[key]!r}.")
    if raw["unit"] not in {u for u, _ in UNITS.values()}:
        raise PricesError(f"{where}.unit: unknown unit {raw['unit']!r}.")
    usd = raw["usd"]
    if isinstance(usd, bool) or not isinstance(usd, int | float) or not math.isfinite(usd) or usd <= 0:
        raise PricesError(f"{where}.usd: must be a positive number of US dollars, got {usd!r}.")
    if not re.match(r"https?://\S+$", raw["source"]):
        raise PricesError(f"{where}.source: must be the URL the price was read from, got {raw['source']!r}.")
    if not isinstance(raw["verified"], bool):
        raise PricesError(f"{where}.verified: must be true or false, got {raw['verified']!r}.")
    date = _source_date(where, raw["source_date"])
    note = str(raw.get("note") or "").strip()
    if raw["verified"] and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise PricesError(f"{where}.verified: true needs the full date the source states (source_date "
                          f"YYYY-MM-DD), got {date!r}.")
    if not raw["verified"] and not note:
        raise PricesError(f"{where}.note: an unverified price must say why it is unverified.")
    return Price(raw["id"], raw["service"], raw["vendor"], raw["unit"], float(usd), raw["source"], date,
                 raw["verified"], str(raw.get("product") or ""), note)


def _source_date(where: str, value: Any) -> str:
    if isinstance(value, datetime.date):  # an unquoted YAML date
        return value.isoformat()[:10]
    text = str(value).strip()
    if text == "unknown":
        return text
    if _DATE.fullmatch(text):
        try:
            datetime.date.fromisoformat(text if len(text) == 10 else text + "-01")
            return text
        except ValueError:
            pass
    raise PricesError(f"{where}.source_date: must be YYYY-MM-DD, YYYY-MM or unknown, got {value!r}.")


# -- units -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Units:
    """What one run made that a paid API would have billed. ``notes`` say which numbers are estimates, and how."""

    voice_chars: int = 0  # characters voiced
    images: int = 0  # scenes whose still was generated
    video_seconds: float = 0.0  # seconds of generated motion
    transcribe_seconds: float = 0.0  # seconds of speech a recogniser (Whisper) listened to
    llm_prompt_tokens: int = 0  # the script model's prompt (an estimate)
    llm_tokens: int = 0  # the script the model wrote (an estimate)
    music_seconds: float = 0.0  # seconds of music composed
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The ``units`` of a run event (docs/analytics.md)."""
        return {f: getattr(self, f) for f in UNITS} | {"notes": list(self.notes)}


def units_of(report: dict, *, timeline: dict | None = None, narration: str | None = None,
             topic: str | None = None) -> Units:
    """Count a run's paid-API units from its ``report.json`` (pipelines/report.py ``to_dict``).

    report.json does not hold the words spoken: pass the run's ``timeline`` (timeline.json as a dict: scene texts,
    prompts, motion) or the ``narration`` text. ``topic`` sharpens the prompt estimate of a short written from one.
    """
    stages = {s.get("stage"): s for s in report.get("stages") or () if isinstance(s, dict)}
    durations = {s.get("id"): float(s.get("duration") or 0.0) for s in report.get("scenes") or ()}
    notes: list[str] = []
    t_scenes = [s for s in (timeline or {}).get("scenes") or () if isinstance(s, dict)]

    # 1. Voice: the words each scene says; cache hits were not spoken again.
    if t_scenes:
        voiced = [s for s in t_scenes if str(s.get("text") or "").strip()]
        said = [str(s["text"]) for s in voiced]
    elif narration is not None:
        voiced, said = list(report.get("scenes") or ()), [narration]
    else:
        voiced, said = [], []
        notes.append("voice: no narration text given (report.json holds none); voice characters not counted")
    voice_share = _share(stages.get("voice"), len(voiced))
    voice_chars = round(sum(len(t) for t in said) * voice_share)

    # 2. Stills: scenes whose visual was generated (a stock photo is its author's work, free from its library).
    if t_scenes:
        generated = [s.get("id") for s in t_scenes if (s.get("visual") or {}).get("kind") == "generated"]
        stocked = {s.get("id") for s in report.get("scenes") or () if s.get("credit")}
        generated = [g for g in generated if g not in stocked]
    else:
        generated = [s.get("id") for s in report.get("scenes") or ()
                     if str(s.get("visual", "")).startswith("generated:") and not s.get("credit")]
    stills = stages.get("stills")
    images = len(generated) if stills is None else min(len(generated), int(stills.get("calls") or 0))

    # 3. Motion: seconds of scenes animated by a generative engine (a camera move over a still is not video).
    motion = stages.get("motion") or {}
    engine = str(motion.get("engine") or "")
    refused = any("cannot make them" in w for w in report.get("warnings") or () if str(w).startswith("motion:"))
    if not engine or engine in CAMERA_ENGINES or refused:
        moving: list = []
    elif t_scenes:
        moving = [s.get("id") for s in t_scenes if (s.get("motion") or {}).get("kind") == "generated"]
    else:
        moving = list(generated)
        notes.append("video: no timeline given; every generated still is taken to have been animated")
    video_seconds = sum(durations.get(i, 0.0) for i in moving) * _share(motion, len(moving))

    # 4. Transcription: when a recogniser timed the words, it listened to each voiced scene.
    timing = stages.get("timing") or {}
    transcribe_seconds = 0.0
    if "whisper" in str(timing.get("engine") or "").lower():
        heard = [durations.get(s.get("id"), 0.0) for s in voiced] if t_scenes else list(durations.values())
        transcribe_seconds = sum(heard) * _share(timing, len(heard))
        notes.append("transcription: scene lengths, pauses included (an upper bound on the speech heard)")

    # 5. Script: written by a model unless the creator wrote it; tokens estimated at ~4 characters each.
    script = stages.get("script") or {}
    llm_prompt = llm_out = 0
    if script and script.get("engine") != "creator":
        written = _script_text(timeline, said, report)
        llm_out = math.ceil(len(written) / CHARS_PER_TOKEN)
        llm_prompt = math.ceil((_prompt_chars() + len(topic or "")) / CHARS_PER_TOKEN)
        notes.append(f"llm: tokens estimated at {CHARS_PER_TOKEN} characters each (no tokenizer loaded); a retry "
                     "or a refit of the script to its length is not counted")

    # 6. Music: a bed composed for the short (the creator's own track is not).
    music = stages.get("music") or {}
    music_seconds = 0.0
    if music and music.get("engine") != "creator-track" and int(music.get("calls") or 0) > 0:
        music_seconds = float(report.get("duration") or 0.0)

    return Units(voice_chars, images, round(video_seconds, 3), round(transcribe_seconds, 3), llm_prompt, llm_out,
                 round(music_seconds, 3), tuple(notes))


def _share(stage: dict | None, items: int) -> float:
    """The part of a stage's items made by this run: its engine calls (cache misses) over the items, at most all.
    A report without the stage says nothing about the cache: count everything."""
    if items <= 0:
        return 0.0
    if stage is None:
        return 1.0
    return min(1.0, int(stage.get("calls") or 0) / items)


def _script_text(timeline: dict | None, said: list[str], report: dict) -> str:
    """Everything the script model writes: hook, scenes (words and visual prompts), title, caption, hashtags."""
    if timeline:
        parts = [timeline.get("hook"), timeline.get("title"), timeline.get("caption"), timeline.get("call_to_action"),
                 *(timeline.get("hashtags") or ())]
        for s in timeline.get("scenes") or ():
            parts += [s.get("text"), (s.get("visual") or {}).get("prompt")]
        return " ".join(str(p) for p in parts if p)
    return " ".join([str((report.get("hook") or {}).get("text") or ""), *said]).strip()


def _prompt_chars() -> int:
    from models.script.llm import PROMPT, SYSTEM  # the real prompt the studio's script models are sent

    return len(SYSTEM) + len(PROMPT)


# -- cost ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostLine:
    field: str  # the Units field (voice_chars, images, ...)
    amount: float  # in the field's own measure (characters, images, seconds, tokens)
    quantity: float  # in the price's unit (thousands of characters, hours, ...)
    price: Price
    usd: float

    @property
    def vendor(self) -> str:
        return self.price.vendor

    @property
    def verified(self) -> bool:
        return self.price.verified


@dataclass(frozen=True)
class Cost:
    """What the run would have cost on paid APIs: a line per unit, its vendor, and whether its price is verified."""

    total_usd: float
    lines: tuple[CostLine, ...]

    @property
    def verified(self) -> bool:
        """True only when every line with an amount is priced from a verified source."""
        return all(line.verified for line in self.lines if line.amount)

    def as_dict(self) -> dict[str, Any]:
        return {"total_usd": round(self.total_usd, 6), "verified": self.verified, "lines": [
            {"field": ln.field, "amount": ln.amount, "unit": ln.price.unit, "quantity": ln.quantity,
             "price_id": ln.price.id, "vendor": ln.vendor, "usd_per_unit": ln.price.usd, "usd": round(ln.usd, 6),
             "verified": ln.verified, "source": ln.price.source, "source_date": ln.price.source_date}
            for ln in self.lines]}


def paid_usd(units: Units, prices: Prices, *, choose: Mapping[str, str] | None = None) -> Cost:
    """Price ``units`` at each unit's default price, or at the price ids in ``choose`` (unit → price id)."""
    lines = []
    for field, (unit, per) in UNITS.items():
        price = prices.get(choose[unit]) if choose and unit in choose else prices.default(unit)
        if price.unit != unit:
            raise PricesError(f"{prices.path}: {price.id!r} is priced per {price.unit}, not per {unit}.")
        amount = float(getattr(units, field))
        quantity = amount / per
        lines.append(CostLine(field, amount, quantity, price, quantity * price.usd))
    return Cost(sum(line.usd for line in lines), tuple(lines))
