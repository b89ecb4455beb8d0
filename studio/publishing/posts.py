"""Scheduled posts: what the API's /api/posts routes and the Calendar tab call. A post is a short, a connected
account and a wall-clock time in the creator's own time zone; the text defaults to that platform's entry in the
short's ``post.json`` and may be edited. The dispatcher (studio/publishing/dispatch.py) posts it."""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from models.errors import InvalidRequest
from studio.db import owned
from studio.errors import Conflict
from studio.publishing.platforms import platform
from studio.settings import PublishSettings
from studio.tables import Connection, Post, Short

# the platform's entry in post.json (pipelines/post.py writes one per feed preset)
POST_TEXT_OF = {"youtube": "shorts", "instagram": "reels", "facebook": "reels", "tiktok": "tiktok"}
EDITABLE = ("scheduled", "failed")  # a post being posted, posted, unconfirmed or cancelled is not rescheduled
_NO_SETTINGS = PublishSettings()  # a platform's fixed traits (can it move a held post?) need no settings
LATE_S = 15 * 60  # a time this far in the past is refused as a mistake; nearer, the post goes out at once


@dataclass(frozen=True)
class PostSpec:
    """A post as the creator asks for it (the API body, the Calendar's form)."""

    short_id: str
    connection_id: str
    local_time: str  # "2026-12-24T09:00", wall-clock time in ``timezone``
    timezone: str  # IANA name, e.g. "Europe/Berlin"
    text: dict | None = None  # {"title", "caption", "hashtags"}; None = the short's post.json for that platform
    options: dict = field(default_factory=dict)  # each platform's own (its check_options): privacy, made_for_kids, ...


def utc_of(local_time: str, timezone: str) -> datetime:
    """The UTC instant of a wall-clock time in ``timezone``. A time the clocks skip (spring forward) is refused; a
    time they pass twice (fall back) is its first occurrence."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(f"Unknown time zone {timezone!r}.", "Use an IANA name such as Europe/Berlin.") from None
    try:
        wall = datetime.fromisoformat(local_time)
    except ValueError:
        raise InvalidRequest(f"{local_time!r} is not a date and time.", "Write it as 2026-12-24T09:00.") from None
    if wall.tzinfo is not None:
        raise InvalidRequest("Give the local time without an offset, and its time zone apart.",
                             "Write it as 2026-12-24T09:00 with timezone Europe/Berlin.")
    placed = wall.replace(tzinfo=zone, fold=0)
    instant = placed.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        raise InvalidRequest(f"{wall:%H:%M} does not exist on {wall:%d %b %Y} in {timezone}: the clocks skip it.",
                             "Choose a time an hour later.")
    return instant


def local_label(post: Post) -> str:
    return post.local_time.replace("T", " ")


class Posts:
    def __init__(self, hosted) -> None:
        self.hosted = hosted
        self.db = hosted.db
        self.settings = hosted.server.publish

    # 1. scheduling
    def schedule(self, owner: str, spec: PostSpec, idempotency_key: str | None = None) -> tuple[dict, bool]:
        """Record a post; answers (its view, made now). The same ``idempotency_key`` with the same request answers
        the post made the first time; with another request it is a Conflict."""
        digest = _digest(spec)
        if idempotency_key:
            earlier = self._by_key(owner, idempotency_key, digest)
            if earlier is not None:
                return earlier, False
        publish_at = self._check_time(spec.local_time, spec.timezone)
        with self.db.session() as s:
            short = owned(s, Short, spec.short_id, owner, "short")
            conn = owned(s, Connection, spec.connection_id, owner, "connection")
            platform, files = conn.platform, dict(short.files)
        text = _check_text(spec.text) if spec.text is not None else self.default_text(files, platform)
        options = self._options(platform, spec.connection_id, spec.options)
        try:
            with self.db.session() as s:
                post = Post(owner_id=owner, short_id=spec.short_id, connection_id=spec.connection_id, platform=platform,
                            publish_at=publish_at, local_time=spec.local_time, timezone=spec.timezone, text=text,
                            options=options, idempotency_key=idempotency_key, request_hash=digest)
                s.add(post)
                s.flush()
                return view(post), True
        except IntegrityError:  # the same key at the same moment: the first one made it
            earlier = self._by_key(owner, idempotency_key or "", digest)
            if earlier is None:
                raise
            return earlier, False

    def _options(self, platform_name: str, connection_id: str | None, options: dict) -> dict:
        """The platform's options, checked by the platform (studio/publishing/<name>.py); where it has live posting
        options (TikTok's creator_info), against what the platform answers for this account now."""
        p = platform(platform_name, self.settings)
        info = self._posting_info(p, connection_id) if p.live_options and connection_id else {}
        return p.check_options(dict(options), info)

    def posting_info(self, owner: str, connection_id: str) -> dict:
        """What the post form offers for this account: the platform's live answer (TikTok: the creator's nickname,
        the privacy levels it allows, the longest video, which interactions are off) or {}."""
        with self.db.session() as s:
            conn = owned(s, Connection, connection_id, owner, "connection")
            name, account = conn.platform, conn.name
        p = platform(name, self.settings)
        info = self._posting_info(p, connection_id) if p.live_options else {}
        return {"connection_id": connection_id, "platform": name, "account": account, "live": p.live_options, **info}

    def _posting_info(self, p, connection_id: str) -> dict:
        from studio.errors import UpstreamUnavailable
        from studio.publishing.base import AuthRevoked, Transient

        try:
            return p.posting_info(self.hosted.connections.access_token(connection_id))
        except AuthRevoked as exc:
            self.hosted.connections.mark_needs_reconnect(connection_id, exc.message)
            raise Conflict(exc.message, exc.hint, code="needs_reconnect") from None
        except Transient as exc:
            raise UpstreamUnavailable(exc.message, exc.hint, code="platform_unavailable") from None

    def _by_key(self, owner: str, key: str, digest: str) -> dict | None:
        with self.db.session() as s:
            post = s.scalar(select(Post).where(Post.owner_id == owner, Post.idempotency_key == key))
            if post is None:
                return None
            if post.request_hash != digest:
                raise Conflict("This Idempotency-Key was used for a different post.",
                               "Send a new key for a new post.", code="idempotency_key_reused")
            return view(post)

    def _check_time(self, local_time: str, timezone: str) -> datetime:
        at = utc_of(local_time, timezone)
        if at < datetime.now(UTC) - timedelta(seconds=LATE_S):
            raise InvalidRequest(f"{local_time.replace('T', ' ')} ({timezone}) has passed.",
                                 "Choose a time from now on.")
        return at

    def default_text(self, files: dict, platform: str) -> dict:
        """That platform's title, caption and hashtags from the short's post.json."""
        entry = files.get("post.json")
        if not entry:
            return {"title": "", "caption": "", "hashtags": []}
        with tempfile.TemporaryDirectory() as tmp:
            doc = json.loads(self.hosted.storage.download(entry["key"], Path(tmp) / "post.json").read_text("utf-8"))
        text = (doc.get("platforms") or {}).get(POST_TEXT_OF.get(platform, ""), doc)
        return {"title": str(text.get("title", "")), "caption": str(text.get("caption", "")),
                "hashtags": [str(t) for t in text.get("hashtags", [])]}

    # 2. the calendar's reads
    def list(self, owner: str, start: datetime | None = None, end: datetime | None = None,
             status: str | None = None, post_id: str | None = None) -> list[dict]:
        with self.db.session() as s:
            q = select(Post, Connection.name, Connection.status, Short.title).join(Short, Short.id == Post.short_id) \
                .outerjoin(Connection, Connection.id == Post.connection_id).where(Post.owner_id == owner)
            if start is not None:
                q = q.where(Post.publish_at >= start)
            if end is not None:
                q = q.where(Post.publish_at < end)
            if status:
                q = q.where(Post.status == status)
            if post_id:
                q = q.where(Post.id == post_id)
            rows = s.execute(q.order_by(Post.publish_at)).all()
            return [view(p, account=name or "", short_title=title, account_status=status or "gone")
                    for p, name, status, title in rows]

    def get(self, owner: str, post_id: str) -> dict:
        with self.db.session() as s:
            owned(s, Post, post_id, owner, "post")
        return self.list(owner, post_id=post_id)[0]

    # 3. changes
    def reschedule(self, owner: str, post_id: str, *, local_time: str | None = None, timezone: str | None = None,
                   text: dict | None = None, options: dict | None = None) -> dict:
        """Move a post (and/or change its text or options) while it waits. A failed post moved is tried again (from
        its saved handle if it had one: it is checked there before anything is sent)."""
        with self.db.session() as s:
            post = owned(s, Post, post_id, owner, "post")
            if held(post) and (local_time or timezone):
                if text is not None or options is not None:
                    raise Conflict("The video is uploaded: only its time can be moved here.",
                                   "Change its text in the platform's own studio.", code="post_not_editable")
                return self._move_held(owner, post, local_time or post.local_time, timezone or post.timezone)
            if post.status not in EDITABLE:
                raise Conflict(_not_editable(post), code="post_not_editable")
            tz = timezone or post.timezone
            wall = local_time or post.local_time
            changes: dict = {"updated_at": datetime.now(UTC)}
            if local_time or timezone:
                changes.update(publish_at=self._check_time(wall, tz), local_time=wall, timezone=tz)
            if text is not None:
                changes["text"] = _check_text(text)
            if options is not None:
                changes["options"] = self._options(post.platform, post.connection_id, {**post.options, **options})
            changes.update(status="scheduled", next_try_at=None, message="", error_code="")
            if post.status == "failed":
                # failed means not posted: a handle it left (a session refused, TikTok's FAILED publish_id) would
                # only answer "failed" again, so a moved failed post starts afresh
                changes.update(attempts=0, handle={})
            # conditional: a dispatcher that claimed it meanwhile wins, and this edit is refused
            done = s.execute(update(Post).where(Post.id == post_id, Post.status.in_(EDITABLE)).values(**changes))
            if done.rowcount != 1:
                raise Conflict("The post is being posted right now.", code="post_not_editable")
        return self.get(owner, post_id)

    def _move_held(self, owner: str, post: Post, wall: str, tz: str) -> dict:
        """A post the platform holds until its time (uploaded private with YouTube's publishAt): move that time at
        the platform, then here."""
        from studio.errors import UpstreamUnavailable
        from studio.publishing.base import AuthRevoked, Delivery, PostFiles, PostText, Transient

        at = self._check_time(wall, tz)
        publisher = platform(post.platform, self.settings).publisher()
        if not publisher.can_reschedule or not post.connection_id:
            raise Conflict(_not_editable(post), code="post_not_editable")
        delivery = Delivery(post_id=post.id, platform=post.platform, account_id="", text=PostText(
            post.text.get("title", ""), post.text.get("caption", "")), publish_at=at, options=dict(post.options),
            files=PostFiles(video=Path()))  # a move sends no file
        try:
            token = self.hosted.connections.access_token(post.connection_id)
            moved = publisher.reschedule(delivery, post.result["remote_id"], token)
        except AuthRevoked as exc:
            self.hosted.connections.mark_needs_reconnect(post.connection_id, exc.message)
            raise Conflict(f"{exc.message} The video stays at its old time.", exc.hint, code="needs_reconnect") from None
        except Transient as exc:
            raise UpstreamUnavailable(f"{exc.message} The video stays at its old time.", exc.hint) from None
        with self.db.session() as s:
            s.execute(update(Post).where(Post.id == post.id, Post.status == "posted").values(
                publish_at=at, local_time=wall, timezone=tz, updated_at=datetime.now(UTC),
                result={**post.result, "publish_at": moved.detail.get("publish_at")}))
        return self.get(owner, post.id)

    def cancel(self, owner: str, post_id: str) -> dict:
        with self.db.session() as s:
            post = owned(s, Post, post_id, owner, "post")
            if post.status == "cancelled":
                return view(post)
            done = s.execute(update(Post).where(Post.id == post_id, Post.status.in_(EDITABLE))
                             .values(status="cancelled", updated_at=datetime.now(UTC), message="Cancelled."))
            if done.rowcount != 1:
                raise Conflict(_not_editable(post), code="post_not_editable")
        return self.get(owner, post_id)

    def set_slots(self, owner: str, connection_id: str, slots: list[str]) -> list[str]:
        """A connection's preset posting times ("HH:MM", in the creator's zone), sorted, each once."""
        clean = sorted({_check_slot(x) for x in slots})
        if len(clean) > 24:
            raise InvalidRequest("At most 24 time slots per account.", "Remove some.")
        with self.db.session() as s:
            conn = owned(s, Connection, connection_id, owner, "connection")
            conn.slots = clean
        return clean


def view(post: Post, *, account: str = "", short_title: str = "", account_status: str = "") -> dict:
    return {"id": post.id, "short_id": post.short_id, "connection_id": post.connection_id, "platform": post.platform,
            "status": post.status, "local_time": post.local_time, "timezone": post.timezone,
            "publish_at": _iso(post.publish_at), "text": post.text, "options": post.options,
            "attempts": post.attempts, "message": post.message, "error_code": post.error_code or None,
            "result": post.result, "posted_at": _iso(post.posted_at) if post.posted_at else None,
            "account": account, "account_status": account_status, "short_title": short_title}


def held(post: Post) -> bool:
    """Posted, and held by the platform until a time still to come (YouTube: private with publishAt)."""
    return post.status == "posted" and still_to_come((post.result or {}).get("publish_at"))


def still_to_come(at: str | None) -> bool:
    """``at`` (a platform's ISO 8601 time, e.g. YouTube's publishAt) is later than now."""
    try:
        when = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError:
        return False
    return (when if when.tzinfo else when.replace(tzinfo=UTC)) > datetime.now(UTC)


def _iso(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _not_editable(post: Post) -> str:
    if held(post):
        if platform(post.platform, _NO_SETTINGS).publisher().can_reschedule:
            return ("The video is uploaded and waits for its time as a private video: move its time here, or delete "
                    "it in the platform's own studio.")
        return ("The video is uploaded and the platform publishes it at its time by itself; this studio cannot move "
                "it there. Delete or reschedule it in the platform's own app (Meta Business Suite for a Facebook "
                "Page), then schedule it again here if you like.")
    return {"claimed": "The post is being posted right now.", "publishing": "The post is being uploaded right now.",
            "posted": "The post is already posted.", "unconfirmed": "The post may already be posted: check the account.",
            "cancelled": "The post was cancelled."}.get(post.status, f"The post is {post.status}.")


def _digest(spec: PostSpec) -> str:
    body = json.dumps({"short_id": spec.short_id, "connection_id": spec.connection_id, "local_time": spec.local_time,
                       "timezone": spec.timezone, "text": spec.text, "options": spec.options}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _check_text(text: dict) -> dict:
    from studio.post_text import _clean, parse_hashtags

    unknown = set(text) - {"title", "caption", "hashtags"}
    if unknown:
        raise InvalidRequest(f"Unknown text field {sorted(unknown)[0]!r}.", "Send title, caption and hashtags.")
    tags = text.get("hashtags") or []
    return {"title": _clean(str(text.get("title", "")), "title", 100, False),
            "caption": _clean(str(text.get("caption", "")), "caption", 5000, True),
            "hashtags": parse_hashtags(" ".join(tags) if isinstance(tags, list) else str(tags))}


def _check_slot(text: str) -> str:
    try:
        t = datetime.strptime(text.strip(), "%H:%M")
    except ValueError:
        raise InvalidRequest(f"{text[:20]!r} is not a time of day.", "Write it as 09:00.") from None
    return f"{t:%H:%M}"
