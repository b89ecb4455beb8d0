"""Editing the text a short is posted with (``post.json``): a title, a caption and hashtags per platform.

``check_post_edit`` holds an edit to each platform's limits (configs/platforms.yaml, through the settings) and
refuses what no platform would take: text with invisible control characters, oversized fields, malformed hashtags.
``save_post`` writes the checked text into the caller's own short (anyone else's is not found).
"""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from models.errors import InvalidRequest
from studio.settings import Settings

__all__ = ["PostEdit", "check_post_edit", "parse_hashtags", "save_post"]

HASHTAG = re.compile(r"#[^\s#]{1,100}")
MAX_FIELD_CHARS = 10_000  # before any per-platform limit: what the server reads at all
_ALLOWED_FORMAT = {"\u200d", "\u200c", "\ufe0f"}  # joiners and the emoji presentation selector: emoji need them


@dataclass(frozen=True)
class PostEdit:
    """One platform's post text as the creator typed it."""

    title: str
    caption: str
    hashtags: str  # "#one #two", as shown in the box


def parse_hashtags(text: str) -> list[str]:
    """``"#one #two"`` (or commas between) → ["#one", "#two"]; a word without its # is refused, not guessed."""
    out = []
    for word in text.replace(",", " ").split():
        if not HASHTAG.fullmatch(word):
            raise InvalidRequest(f"{word[:40]!r} is not a hashtag.", "Write each hashtag as # and a word, like #sleep.")
        out.append(word)
    return out


def _clean(text: str, what: str, limit: int, lines: bool) -> str:
    if len(text) > MAX_FIELD_CHARS:
        raise InvalidRequest(f"The {what} is {len(text):,} characters; the limit is {limit:,}.", f"Shorten the {what}.")
    for ch in text:
        if ch in "\n\r\t" and lines or ch in _ALLOWED_FORMAT:
            continue
        if unicodedata.category(ch)[0] == "C":
            raise InvalidRequest(f"The {what} contains an invisible control character (U+{ord(ch):04X}).",
                                 f"Retype the {what} without it.")
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()
    if len(text) > limit:
        raise InvalidRequest(f"The {what} is {len(text):,} characters; the limit is {limit:,}.", f"Shorten the {what}.")
    return text


def check_post_edit(settings: Settings, edits: dict[str, PostEdit]) -> dict[str, dict]:
    """Each platform's edit within that platform's limits → post.json's form ({title, caption, hashtags})."""
    out = {}
    for name, edit in edits.items():
        if name not in settings.platforms:
            raise InvalidRequest(f"Unknown platform {name!r}.", f"Choose one of: {', '.join(settings.platforms)}.")
        p = settings.platform(name)
        title = _clean(edit.title, f"{p.label} title", p.title_max_chars, lines=False)
        if not title:
            raise InvalidRequest(f"The {p.label} title is empty.", "Type a title.")
        caption = _clean(edit.caption, f"{p.label} caption", p.caption_max_chars, lines=True)
        tags = parse_hashtags(_clean(edit.hashtags, f"{p.label} hashtags", p.caption_max_chars, lines=True))
        if len(tags) > p.hashtags_max:
            raise InvalidRequest(f"{p.label} takes at most {p.hashtags_max} hashtags; there are {len(tags)}.",
                                 "Remove some hashtags.")
        out[name] = {"title": title, "caption": caption, "hashtags": tags}
    return out


def save_post(hosted, owner: str, short_id: str, edits: dict[str, PostEdit]) -> dict:
    """Write the checked edits into ``owner``'s short ``short_id`` (its current version's ``post.json``); answers
    the new post.json. The short's own platform's text stays at the top level too, as post.json always had it."""
    from studio.db import owned
    from studio.tables import Short, ShortVersion

    checked = check_post_edit(hosted.studio.settings, edits)
    with hosted.db.session() as db:
        short = owned(db, Short, short_id, owner, "short")
        files, own = dict(short.files), (short.draft or {}).get("platform")
    if "post.json" not in files:
        raise InvalidRequest("This short has no post text to edit.")
    old_key = files["post.json"]["key"]
    with tempfile.TemporaryDirectory(prefix="studio-post-") as tmp:
        doc = json.loads(hosted.storage.download(old_key, Path(tmp) / "old.json").read_text(encoding="utf-8"))
        platforms = {**doc.get("platforms", {}), **checked}
        doc["platforms"] = platforms
        if own in checked:
            doc.update(checked[own])
        path = Path(tmp) / "post.json"
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
        files.update(hosted.store_files(owner, [path]))
    with hosted.db.session() as db:
        short = owned(db, Short, short_id, owner, "short")
        short.files = {**short.files, "post.json": files["post.json"]}
        if "title" in doc:
            short.title = str(doc["title"])[:300]
        version = db.query(ShortVersion).filter_by(short_id=short_id, number=short.version).one_or_none()
        if version is not None and version.files.get("post.json", {}).get("key") == old_key:
            version.files = {**version.files, "post.json": files["post.json"]}
    if files["post.json"]["key"] != old_key:
        hosted.delete_object_if_unused(old_key)
    return doc
