"""The export bundle: one zip with everything a creator needs to post a short by hand, with no connected account.

It holds the video in every feed format the short was rendered in, its thumbnails, its captions (SRT and VTT),
one ``post-<platform>.txt`` per platform laid out as that platform's upload form takes the text, ``post.json`` and a
``README.txt`` that says what each file is and what to tick when posting. ``write_bundle`` is the one function that
builds it; ``studio export --bundle``, ``GET /api/shorts/{id}/bundle`` and the UI's download button all call it.

Every name inside the zip is one of a fixed set (the platforms' names come from configs/platforms.yaml, never from
the short's text), and every entry has the same timestamp and mode, so the same short always gives the same bytes.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from models.errors import InvalidRequest
from pipelines.types import Platform
from studio.settings import Settings

if TYPE_CHECKING:  # the hosted studio is only needed by hosted_bundle's callers
    from studio.hosted import Hosted

__all__ = ["Bundle", "bundle_names", "download_name", "folder_files", "hosted_bundle", "write_bundle"]

VIDEO = re.compile(r"short(-\d+x\d+)?\.mp4")
THUMBNAIL = re.compile(r"thumbnail(-\d+x\d+)?\.jpg")
CAPTIONS = ("captions.srt", "captions.vtt")
_SAFE_PLATFORM = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_ALREADY_COMPRESSED = (".mp4", ".jpg")  # deflating them again only costs time
_WHEN = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can say: no clock reaches the bytes
_MODE = 0o100644 << 16  # a regular file, rw-r--r--, whoever unpacks it
_KEEP = {"\n", "\t", "\u200d", "\u200c", "\ufe0f"}  # line breaks, and the joiners and selector emoji need

# Which boxes each platform's upload form has, in order: (post.json field, the box's name on the platform).
# Instagram and TikTok take no title for a video: everything goes in the caption.
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "reels": (("caption", "Caption"),),
    "shorts": (("title", "Title"), ("caption", "Description")),
    "tiktok": (("caption", "Caption"),),
}
DEFAULT_FIELDS = (("title", "Title"), ("caption", "Caption"))

# What to tick when posting by hand, per platform ({video}, {cover}, {text}, {duration} are filled in).
CHECKLISTS: dict[str, tuple[str, ...]] = {
    "reels": (
        "Upload {video} as a Reel.",
        "Pick the cover: Edit cover, then Add from camera roll, and choose {cover} (otherwise Instagram uses a frame).",
        "Paste the caption from {text}; its hashtags are included (Instagram takes at most 5).",
        "If the voice or the pictures could pass for real, turn on Add AI label (Advanced settings).",
        "Share, or schedule it.",
    ),
    "shorts": (
        "Upload {video}. There is no Short checkbox: YouTube decides by shape and length (vertical or square, up "
        "to 3 minutes). {duration}",
        "Paste the title and the description from {text}; the first three hashtags show above the title.",
        "Answer the made-for-kids question (YouTube asks it of every video).",
        "Altered or synthetic content: answer Yes if the short shows realistic people, places or events made by AI.",
        "Subtitles (optional): upload captions.srt under Subtitles; the words are already burned into the video.",
        "Thumbnail: YouTube shows a frame of a Short; the YouTube app lets you choose which one.",
    ),
    "tiktok": (
        "Upload {video}.",
        "Paste the caption from {text}; its hashtags are included.",
        "Choose the cover (Edit cover); {cover} shows the frame the studio picked.",
        "Turn on AI-generated content (More options): TikTok asks for it on content made or largely edited by AI.",
        "Post, or schedule it.",
    ),
}
DEFAULT_CHECKLIST = ("Upload {video}.", "Paste the text from {text}.", "Choose {cover} as the cover if the app lets you.")


@dataclass(frozen=True)
class Bundle:
    """A written bundle: where it is, what it holds (in order) and the name to offer it under."""

    path: Path
    names: tuple[str, ...]
    filename: str


def bundle_names(names: Iterable[str], where: str = "This short") -> list[str]:
    """The short's files that go into a bundle, in the bundle's order; InvalidRequest naming what ``where`` is
    missing. Anything else among ``names`` (report.json, timeline.json, a name someone slipped in) is left out."""
    names = set(names)
    videos = sorted((n for n in names if VIDEO.fullmatch(n)), key=lambda n: (n != "short.mp4", n))
    thumbs = sorted((n for n in names if THUMBNAIL.fullmatch(n)), key=lambda n: (n != "thumbnail.jpg", n))
    missing = ([] if videos else ["short.mp4"]) + ([] if thumbs else ["thumbnail.jpg"])
    missing += [n for n in (*CAPTIONS, "post.json") if n not in names]
    if missing:
        raise InvalidRequest(f"{where} has no {', '.join(missing)}, so it is not a whole short.",
                             "A short's folder holds short.mp4, thumbnail.jpg, captions.srt, captions.vtt and "
                             "post.json, as studio make and studio render write them.")
    return [*videos, *thumbs, *CAPTIONS, "post.json"]


def folder_files(folder: Path) -> dict[str, Path]:
    """A short's folder (``studio make``'s output) → the files a bundle takes from it, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidRequest(f"{folder} is not a folder.", "Give the folder studio make wrote the short into.")
    present = [p.name for p in folder.iterdir() if p.is_file()]
    files = {name: folder / name for name in bundle_names(present, str(folder))}
    if (folder / "report.json").is_file():
        files["report.json"] = folder / "report.json"
    return files


def download_name(title: str) -> str:
    """A file name for the bundle from the short's title: ASCII letters, digits and dashes only."""
    ascii_title = unicodedata.normalize("NFKD", title or "").encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", ascii_title).strip("-")[:60].rstrip("-")
    return f"{stem or 'short'}.zip"


def write_bundle(files: Mapping[str, Path], dest: Path, settings: Settings) -> Bundle:
    """Write the bundle of a short whose files are ``files`` (name → local path, as ``folder_files`` answers)
    to ``dest``, whole or not at all."""
    # 1. what goes in, and the text it is built from
    names = bundle_names(files)
    post = _read_json(files["post.json"], "post.json")
    report = _read_json(files["report.json"], "report.json") if "report.json" in files else {}
    platforms = [settings.platform(n) for n in settings.platforms if _SAFE_PLATFORM.fullmatch(n)]

    # 2. one paste-ready text per platform, and the README that explains them
    texts = {f"post-{p.name}.txt": post_text_file(p, _post_of(post, p.name)) for p in platforms}
    readme = readme_text(str(post.get("title") or ""), names, list(texts), platforms, settings, report)

    # 3. the zip, written beside ``dest`` and moved into place once complete
    order = ("README.txt", *[n for n in names if n != "post.json"], *texts, "post.json")
    written = {"README.txt": readme, **texts}
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}.part")  # made as the umask says
    try:
        with zipfile.ZipFile(tmp, "x") as zf:
            for name in order:
                if name in written:
                    zf.writestr(_entry(name), written[name].encode("utf-8"))
                else:
                    _add_file(zf, name, files[name])
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Bundle(dest, order, download_name(_plain(str(post.get("title") or ""))))


def hosted_bundle(hosted: Hosted, owner: str, short_id: str, work: Path) -> Bundle:
    """The bundle of ``owner``'s stored short ``short_id``, written in the folder ``work`` (the caller removes it).
    Anyone else's short is not found, exactly as if it did not exist."""
    from studio.db import owned
    from studio.tables import Short

    with hosted.db.session() as db:
        stored = dict(owned(db, Short, short_id, owner, "short").files)
    wanted = bundle_names(stored) + (["report.json"] if "report.json" in stored else [])
    local = {name: hosted.storage.download(stored[name]["key"], Path(work) / name) for name in wanted}
    return write_bundle(local, Path(work) / "bundle.zip", hosted.studio.settings)


def post_text_file(platform: Platform, post: dict) -> str:
    """One platform's post text as its upload form takes it: each box under its own heading, with the hashtags at
    the end of the caption, and a warning where a box is over that platform's limit (nothing is cut here)."""
    title, caption, tags = _plain(post.get("title")), _plain(post.get("caption")), _tags(post.get("hashtags"))
    in_caption = {t.casefold() for t in re.findall(r"#[^\s#]+", caption)}
    missing = [t for t in tags if t.casefold() not in in_caption]  # an edited caption may have left them out
    caption = "\n\n".join(p for p in (caption, " ".join(missing)) if p)
    limits = {"title": platform.title_max_chars, "caption": platform.caption_max_chars}
    values = {"title": title, "caption": caption}
    fields = FIELDS.get(platform.name, DEFAULT_FIELDS)
    lines = [f"{platform.label}: post text", "Copy each part into the box it names."]
    if all(key != "title" for key, _ in fields):
        lines.append(f"{platform.label} takes no title for a video: the caption is all there is to paste.")
    for key, box in fields:
        text, limit = values[key], limits[key]
        count = f"{len(text):,} of {limit:,} characters"
        if key == "caption":
            count += f" · {len(tags)} of {platform.hashtags_max} hashtags"
        lines += ["", f"=== {box.upper()} ({count}) ===", text]
        if len(text) > limit:
            lines.append(f"!! {len(text) - limit:,} characters over {platform.label}'s limit: shorten it first.")
    if len(tags) > platform.hashtags_max:
        lines += ["", f"!! {len(tags)} hashtags; {platform.label} takes {platform.hashtags_max}: remove some first."]
    return "\n".join(lines) + "\n"


def readme_text(title: str, names: list[str], texts: list[str], platforms: list[Platform], settings: Settings,
                report: dict) -> str:
    """README.txt: what each file is, then a checklist per platform for posting by hand."""
    seconds = report.get("duration")
    duration = f"This one lasts {float(seconds):.1f} s." if isinstance(seconds, (int, float)) else ""
    about = _describe(names, texts, platforms, settings)
    width = max(len(n) for n in about) + 2
    lines = [f"{_plain(title) or 'Your short'}: ready to post by hand", "",
             "Made with Viral AI Studio. Nothing here is posted until you post it.", "", "WHAT EACH FILE IS", ""]
    lines += [f"  {name:<{width}}{what}" for name, what in about.items()]
    lines += ["", "POSTING BY HAND", ""]
    for p in platforms:
        fill = {"video": "short.mp4" if "short.mp4" in names else names[0],
                "cover": "thumbnail.jpg" if "thumbnail.jpg" in names else
                next(n for n in names if THUMBNAIL.fullmatch(n)),
                "text": f"post-{p.name}.txt", "duration": duration}
        lines.append(p.label)
        lines += [f"  [ ] {step.format(**fill)}".rstrip() for step in CHECKLISTS.get(p.name, DEFAULT_CHECKLIST)]
        lines.append("")
    return "\n".join(lines)


def _describe(names: list[str], texts: list[str], platforms: list[Platform], settings: Settings) -> dict[str, str]:
    formats = {"" if a == "9:16" else "-" + a.replace(":", "x"): f.get("label", a) for a, f in settings.formats.items()}
    labels = {f"post-{p.name}.txt": p.label for p in platforms}
    vertical = f": the one {_and([p.label for p in platforms])} take" if platforms else ""
    about = {"README.txt": "This file."}
    for name in names:
        if m := VIDEO.fullmatch(name):
            suffix = m.group(1) or ""
            about[name] = f"The video, {formats.get(suffix, 'another format')}{'' if suffix else vertical}."
        elif m := THUMBNAIL.fullmatch(name):
            video = f"short{m.group(1) or ''}.mp4"
            about[name] = f"The cover picture for {video}."
        elif name == "captions.srt":
            about[name] = ("The spoken words with their times, as a subtitle file (SubRip). The video already shows "
                           "them; upload this where a platform takes subtitle files.")
        elif name == "captions.vtt":
            about[name] = "The same subtitles as WebVTT, for web players."
    for name in texts:
        about[name] = f"{labels[name]}: the post text to paste, box by box."
    about["post.json"] = "All of the post text as data: title, caption and hashtags for each platform."
    return about


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _post_of(post: dict, name: str) -> dict:
    """One platform's text in post.json; a short made before ``platforms`` existed has one text for all of them
    (as the result page shows it)."""
    entries = post.get("platforms")
    chosen = entries.get(name) if isinstance(entries, dict) else None
    return chosen if isinstance(chosen, dict) else post


def _plain(value) -> str:
    """Text as a person can paste it: no control characters or invisible direction overrides, Unix line ends."""
    text = value if isinstance(value, str) else ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept = "".join(ch for ch in text if ch in _KEEP or unicodedata.category(ch)[0] != "C")
    return "\n".join(line.rstrip() for line in kept.split("\n")).strip()


def _tags(value) -> list[str]:
    items = value if isinstance(value, list) else []
    tags = ["".join(_plain(t).split()) for t in items]
    return [t for t in tags if len(t) > 1 and t.startswith("#")]


def _read_json(path: Path, name: str) -> dict:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest(f"{name} cannot be read: {exc}.", f"Render the short again to write a fresh {name}.") \
            from None
    if not isinstance(doc, dict):
        raise InvalidRequest(f"{name} is not a JSON object.", f"Render the short again to write a fresh {name}.")
    return doc


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_WHEN)
    info.create_system = 3  # Unix, so that the mode below is read as one wherever the zip was made
    info.external_attr = _MODE
    info.compress_type = zipfile.ZIP_STORED if name.endswith(_ALREADY_COMPRESSED) else zipfile.ZIP_DEFLATED
    return info


def _add_file(zf: zipfile.ZipFile, name: str, path: Path) -> None:
    info = _entry(name)
    info.file_size = Path(path).stat().st_size  # lets zipfile choose ZIP64 up front for a very long video
    with open(path, "rb") as src, zf.open(info, "w") as out:
        shutil.copyfileobj(src, out, 1 << 20)
