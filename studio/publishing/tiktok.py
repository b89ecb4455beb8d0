"""TikTok: connect an account (Login Kit, OAuth 2 with PKCE) and post a short with the Content Posting API's Direct
Post, the file sent in chunks (``source: FILE_UPLOAD``).

The handle rule (base.py): the handle is TikTok's ``publish_id`` with its ``upload_url``, saved the moment
``video/init`` answers, before any byte is sent, and again, marked ``final_sent``, before the last chunk: the upload
completing is what makes TikTok post the video (the irreversible step). One publish_id is posted at most once, so it is
the exactly-once key. Given a handle, its status is fetched first: posted → Posted; failed → Refused; still
processing → wait for it; an upload whose last chunk never went can never complete, so it is never posted and a new
init is safe; a publish_id TikTok no longer knows after the last chunk went → Unconfirmed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from models.errors import InvalidRequest, StudioError
from studio.publishing.base import (
    AuthRevoked,
    Deferred,
    Delivery,
    NoReschedule,
    Posted,
    PostText,
    PublishError,
    Refused,
    Sink,
    Transient,
    Unconfirmed,
)
from studio.publishing.platforms import Account, OAuthSpec, PlatformBase, flag, no_options
from studio.settings import PublishSettings

SCOPES = ("user.info.basic", "video.publish", "video.list")
PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
OPTIONS = ("privacy_level", "allow_comment", "allow_duet", "allow_stitch", "brand_organic", "brand_content")
INTERACTIONS = (("allow_comment", "comment_disabled", "Comments"), ("allow_duet", "duet_disabled", "Duets"),
                ("allow_stitch", "stitch_disabled", "Stitches"))
# TikTok's chunk rules (Media Transfer Guide), MB read as 1024 * 1024 bytes. The plans below hold under either reading
# of "MB": a file is sent whole up to 20 MiB (so any file under 5 MB, decimal or binary, is whole), else in 10 MiB
# chunks, the last one taking the remainder (under 20 MiB), all well inside 5-64 MB and the final 128 MB.
MB = 1024 * 1024
WHOLE_BELOW = 5 * MB  # smaller files must go as one chunk
MIN_CHUNK, MAX_CHUNK, MAX_FINAL_CHUNK, MAX_CHUNKS = 5 * MB, 64 * MB, 128 * MB, 1000
CHUNK = 10 * MB
TITLE_MAX = 2200  # TikTok's limit on the caption ("title"), counted in UTF-16 code units
COVER_MS = 1000  # the cover frame: one second in, past a fade from black
HTTP_TIMEOUT_S = 60.0
POLL_FOR_S = 90.0  # TikTok processes 512 MB in under half a minute; longer, the next attempt asks again
DONE, FAILED = ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX"), "FAILED"
FAIL_REASONS = {  # TikTok's fail_reason values (Get Post Status), in plain words
    "file_format_check_failed": "TikTok could not read the video's format",
    "duration_check_failed": "the video is longer or shorter than TikTok allows for this account",
    "frame_rate_check_failed": "TikTok does not take the video's frame rate",
    "picture_size_check_failed": "TikTok does not take the video's picture size",
    "internal": "TikTok failed while processing it",
    "video_pull_failed": "TikTok could not fetch the video",
    "publish_cancelled": "the post was cancelled in TikTok",
    "auth_removed": "the studio's access to the account was removed",
    "spam_risk_too_many_posts": "the account has posted the most TikTok allows for today",
    "spam_risk_user_banned_from_posting": "TikTok has stopped this account from posting",
    "spam_risk_text": "TikTok took the caption for spam",
    "spam_risk": "TikTok took the post for spam",
}
# TikTok's own limits: the post waits this long and is tried again, not failed (base.Deferred)
LIMITS = {
    "spam_risk_too_many_posts": ("This TikTok account has posted the most TikTok allows for now.", timedelta(hours=1)),
    "spam_risk_too_many_pending_share": ("This TikTok account has too many posts still being processed.",
                                         timedelta(hours=1)),
    "reached_active_user_cap": ("This studio's TikTok app has reached TikTok's daily limit on creators posting "
                                "through it.", timedelta(hours=1)),
    "rate_limit_exceeded": ("TikTok asks the studio to slow down (too many requests for this account).",
                            timedelta(minutes=1)),
}


class TikTok(PlatformBase):
    name = "tiktok"
    label = "TikTok"
    settings_names = ("STUDIO_TIKTOK_CLIENT_KEY", "STUDIO_TIKTOK_CLIENT_SECRET")
    live_options = True  # the post form shows the creator's options, asked from TikTok (creator_info) each time
    upload_ahead = timedelta(0)  # the API has no scheduled publishing: a post goes up at its time
    notes = (
        "Until TikTok audits this studio's app, every post goes up as SELF_ONLY: only you can see it, and your TikTok "
        "account must be set to private when it is posted. This is TikTok's rule for apps it has not audited; the "
        "studio cannot lift it.",
        "The studio never adds a watermark or a logo of its own to your video.",
        "Posting to TikTok means you agree to TikTok's Music Usage Confirmation (and, for a paid partnership, its "
        "Branded Content Policy).",
        "TikTok cannot hold a post for later: it is sent at its time, and TikTok may take a few minutes to show it.",
    )

    def oauth(self) -> OAuthSpec | None:
        s = self.settings
        if not (s.tiktok_client_key and s.tiktok_client_secret):
            return None
        api = s.tiktok_api_url.rstrip("/")
        return OAuthSpec(authorize_url=s.tiktok_auth_url, token_url=f"{api}/v2/oauth/token/",
                         revoke_url=f"{api}/v2/oauth/revoke/", scopes=SCOPES, pkce=True,
                         client_id=s.tiktok_client_key, client_secret=s.tiktok_client_secret,
                         token_auth="client_key_post", client_id_name="client_key", scope_separator=",",
                         revoke_with="access_token")  # TikTok's /v2/oauth/revoke/ takes the access token

    def accounts(self, token: dict) -> list[Account]:
        with _Api(self.settings, token["access_token"]) as api:
            user = api.call("/v2/user/info/", method="GET",
                            params={"fields": "open_id,union_id,display_name,avatar_url"}).get("user") or {}
            # user.info.basic has no username; creator_info (video.publish) has, for the link to the profile
            try:
                username = str(api.call("/v2/post/publish/creator_info/query/").get("creator_username") or "")
            except (Transient, Deferred, Refused):
                username = ""
        open_id = str(user.get("open_id") or token.get("open_id") or "")
        if not open_id:
            raise Transient("TikTok did not say which account this is (no open_id).", "Try connecting again.")
        return [Account(account_id=open_id, name=str(user.get("display_name") or username or "TikTok account"),
                        info={"link": _profile(username), "username": username})]

    def posting_info(self, access_token: str) -> dict:
        try:
            with _Api(self.settings, access_token) as api:
                creator = api.creator_info()
        except Deferred as exc:  # the post form cannot wait: say so now
            raise Transient(exc.message, "Try again in a minute.") from None
        return posting_form(creator)

    def check_options(self, options: dict, info: dict) -> dict:
        out = no_options(options, OPTIONS)
        offered = list(info.get("privacy_options") or PRIVACY_LEVELS)
        level = options.get("privacy_level")
        if level is None:
            raise InvalidRequest("Choose who can see the TikTok post (privacy_level): TikTok asks the creator to "
                                 "choose, so the studio picks none for you.",
                                 f"Send options.privacy_level: one of {', '.join(offered)}.")
        if level not in offered:
            raise InvalidRequest(f"TikTok does not offer privacy level {level!r} for this account now.",
                                 f"Choose one of: {', '.join(offered)}.")
        allowed = {name: flag(options, name) for name, _, _ in INTERACTIONS}  # none ticked unless asked (TikTok's rule)
        for name, off, what in INTERACTIONS:
            if allowed[name] and info.get(off):
                raise InvalidRequest(f"{what} are turned off for this TikTok account, so {name} cannot be true.",
                                     f"Send {name}: false, or turn {what.lower()} on in the TikTok app first.")
        brand_organic, brand_content = flag(options, "brand_organic"), flag(options, "brand_content")
        if brand_content and level == "SELF_ONLY":
            raise InvalidRequest("TikTok does not allow branded content (a paid partnership) to be private (SELF_ONLY).",
                                 "Choose another privacy level, or send brand_content: false.")
        return {**out, "privacy_level": level, **allowed, "brand_organic": brand_organic, "brand_content": brand_content}

    def publisher(self) -> TikTokPublisher:
        return TikTokPublisher(self.settings)


@dataclass(frozen=True)
class ChunkPlan:
    video_size: int
    chunk_size: int
    count: int

    def ranges(self) -> list[tuple[int, int]]:
        """(first byte, last byte) of each chunk, in order; the last chunk runs to the end of the file."""
        starts = [i * self.chunk_size for i in range(self.count)]
        return [(a, (starts[i + 1] if i + 1 < self.count else self.video_size) - 1) for i, a in enumerate(starts)]


def chunk_plan(video_size: int, chunk: int = CHUNK) -> ChunkPlan:
    """How a file of ``video_size`` bytes goes up under TikTok's chunk rules: whole when it is small (under 5 MB it
    must be; up to two chunks' worth it may be), else ``chunk``-sized chunks (more when 1,000 would not hold it),
    ``total_chunk_count`` = floor(size / chunk_size), the last one carrying the remainder."""
    if video_size <= 0:
        raise Refused("The short's video file is empty.", "Render the short again and schedule the new one.")
    if video_size < max(WHOLE_BELOW, 2 * chunk):
        return ChunkPlan(video_size, video_size, 1)
    size = max(chunk, -(-video_size // MAX_CHUNKS))
    if size > MAX_CHUNK:
        raise Refused(f"The video is too large for TikTok's upload ({video_size / MB / 1024:.1f} GB).",
                      "Render a shorter or smaller short.")
    return ChunkPlan(video_size, size, video_size // size)


def posting_form(creator: dict) -> dict:
    """What the post form shows for the account, from TikTok's creator_info answer."""
    form = {"nickname": creator.get("creator_nickname", ""), "username": creator.get("creator_username", ""),
            "avatar_url": creator.get("creator_avatar_url", ""),
            "privacy_options": list(creator.get("privacy_level_options") or []),
            "comment_disabled": bool(creator.get("comment_disabled")),
            "duet_disabled": bool(creator.get("duet_disabled")),
            "stitch_disabled": bool(creator.get("stitch_disabled")),
            "max_duration_s": creator.get("max_video_post_duration_sec")}
    notes = [f"{what} are turned off for this account in TikTok, so they stay off." for _, off, what in INTERACTIONS
             if form[off]]
    if form["max_duration_s"]:
        notes.append(f"TikTok takes videos up to {form['max_duration_s']} s long from this account.")
    if form["privacy_options"] == ["SELF_ONLY"]:
        notes.append("TikTok offers only SELF_ONLY (only you) for this account now.")
    notes += ["Until TikTok audits this studio's app, posts are SELF_ONLY and the account must be private.",
              "By posting, you agree to TikTok's Music Usage Confirmation.",
              "A paid partnership (brand_content) also means agreeing to TikTok's Branded Content Policy, and it "
              "cannot be SELF_ONLY."]
    return {**form, "notes": notes}


class TikTokPublisher(NoReschedule):
    platform = "tiktok"

    def __init__(self, settings: PublishSettings, sleep: Callable[[float], None] = time.sleep,
                 poll_for_s: float = POLL_FOR_S, chunk: int = CHUNK) -> None:
        self.settings = settings
        self._sleep = sleep
        self.poll_for_s = poll_for_s
        self.chunk = chunk

    def publish(self, delivery: Delivery, access_token: str, sink: Sink) -> Posted:
        video = delivery.files.video
        with _Api(self.settings, access_token) as api:
            # 0. an earlier attempt's publish_id: what became of it?
            if delivery.handle.get("publish_id"):
                posted = self._check(api, dict(delivery.handle), sink, video)
                if posted is not None:
                    return posted
            if not video.is_file():
                raise Refused(f"The short's video file is missing ({video.name}).",
                              "Render the short again and schedule the new one.")
            # 1. the creator's options now (TikTok requires asking before each post), the video checked against them
            creator = api.creator_info()
            post_info = post_body(delivery, creator, _duration(video))
            plan = chunk_plan(video.stat().st_size, self.chunk)
            # 2. the post starts: its publish_id, saved before any byte is sent
            data = api.call("/v2/post/publish/video/init/", {"post_info": post_info, "source_info": {
                "source": "FILE_UPLOAD", "video_size": plan.video_size, "chunk_size": plan.chunk_size,
                "total_chunk_count": plan.count}})
            if not data.get("publish_id") or not data.get("upload_url"):
                raise Transient("TikTok started the post without saying where to send it.", "It is tried again shortly.")
            handle = {"publish_id": data["publish_id"], "upload_url": data["upload_url"], "total": plan.video_size,
                      "chunk_size": plan.chunk_size, "count": plan.count,
                      "username": creator.get("creator_username", ""), "privacy_level": post_info["privacy_level"]}
            sink.save_handle(handle)
            # 3. the chunks, in order; the last one posts it
            self._send(handle, plan, video, sink)
            # 4. TikTok processes it: wait for its word
            return self._wait(api, {**handle, "final_sent": True}, sink)

    def _check(self, api: _Api, handle: dict, sink: Sink, video: Path) -> Posted | None:
        """The status of an earlier attempt's publish_id: Posted, raised, resumed, or None (start again: safe only
        because an upload whose last chunk never went is never posted)."""
        data = api.status(handle["publish_id"])
        if data is not None and handle.get("final_sent") and (resume := _resumable(data, handle)) is not None:
            # the last chunk was about to go when the attempt died, and TikTok holds less than the file: that chunk
            # never landed. The same publish_id is finished (a second post cannot come of it; a new init could race
            # a dispatcher that is only slow, not dead).
            plan = ChunkPlan(int(handle["total"]), int(handle["chunk_size"]), int(handle["count"]))
            if video.is_file() and video.stat().st_size == plan.video_size:
                self._send(handle, plan, video, sink, start=resume)
                return self._wait(api, handle, sink)
        if data is None:
            if handle.get("final_sent"):
                raise Unconfirmed("The video's last part was sent, then TikTok stopped knowing the post (its "
                                  "publish_id), so whether it was posted cannot be told.", link=_profile(handle))
            return None
        state = data.get("status", "")
        if state in DONE:
            return _posted(data, handle)
        if not handle.get("final_sent"):
            return None  # failed or waiting for chunks that will never come: this publish_id is never posted
        if state == FAILED:
            raise _failed(data)
        return self._wait(api, handle, sink, first=data)

    def _send(self, handle: dict, plan: ChunkPlan, video: Path, sink: Sink, start: int = 0) -> None:
        ranges = plan.ranges()
        with httpx.Client(timeout=HTTP_TIMEOUT_S) as upload, video.open("rb") as f:  # no token: the address is enough
            for i, (first, last) in enumerate(ranges):
                if last < start:  # TikTok has this chunk already (a resumed upload)
                    continue
                final = i == len(ranges) - 1
                if final and not handle.get("final_sent"):
                    sink.save_handle({**handle, "final_sent": True})
                f.seek(first)
                body = f.read(last - first + 1)
                headers = {"Content-Type": "video/mp4", "Content-Length": str(len(body)),
                           "Content-Range": f"bytes {first}-{last}/{plan.video_size}"}
                try:
                    r = upload.put(handle["upload_url"], content=body, headers=headers)
                except httpx.HTTPError as exc:
                    raise Transient(f"TikTok stopped taking the upload ({type(exc).__name__}).",
                                    "The post is checked and tried again shortly; it is never posted twice.") from exc
                if r.status_code == 201 or (r.status_code == 206 and not final):
                    if not final:
                        sink.progress(last + 1, plan.video_size)
                    continue
                error = _error_of(r)
                if r.status_code in (400, 416) and not final:  # TikTok refused our chunking or the file
                    raise Refused(f"TikTok refused part of the upload (HTTP {r.status_code}: "
                                  f"{error.get('message') or error.get('code') or 'no reason given'}).",
                                  "Render the short again and schedule the new one.")
                raise Transient(f"TikTok answered HTTP {r.status_code} to part of the upload.",
                                "The post is checked and tried again shortly; it is never posted twice.")

    def _wait(self, api: _Api, handle: dict, sink: Sink, first: dict | None = None) -> Posted:
        waited = 0.0
        while True:
            data = first if first is not None else api.status(handle["publish_id"])
            first = None
            if data is None:
                raise Unconfirmed("TikTok took the video, then stopped knowing the post (its publish_id), so whether "
                                  "it was posted cannot be told.", link=_profile(handle))
            state = data.get("status", "")
            if state in DONE:
                return _posted(data, handle)
            if state == FAILED:
                raise _failed(data)
            if waited >= self.poll_for_s:
                raise Transient(f"TikTok is still processing the video ({state or 'no status'}).",
                                "It is checked again shortly; it is never posted twice.")
            pause = min(5.0, 1.0 + waited / 4)  # TikTok allows 30 status requests a minute per token
            self._sleep(pause)
            waited += pause
            sink.progress(handle["total"], handle["total"])  # keeps the claim while TikTok works


def _resumable(status: dict, handle: dict) -> int | None:
    """Where an upload cut off before its last chunk landed resumes: TikTok's ``uploaded_bytes`` when it is still
    waiting for bytes, holds fewer than the file and stopped at one of the plan's chunk boundaries; else None."""
    if status.get("status") != "PROCESSING_UPLOAD" or not handle.get("chunk_size") or not handle.get("upload_url"):
        return None
    try:
        got, total = int(status.get("uploaded_bytes")), int(handle["total"])  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    plan = ChunkPlan(total, int(handle["chunk_size"]), int(handle["count"]))
    return got if got < total and got in {first for first, _ in plan.ranges()} else None


# TikTok's privacy levels in the words of TikTok's own app (the post form shows these)
PRIVACY_WORDS = {"PUBLIC_TO_EVERYONE": "Everyone", "MUTUAL_FOLLOW_FRIENDS": "Friends",
                 "FOLLOWER_OF_CREATOR": "Followers", "SELF_ONLY": "Only me"}


def post_body(delivery: Delivery, creator: dict, duration_s: float) -> dict:
    """The init's post_info, checked against the creator's options now (creator_info)."""
    options = delivery.options
    level = options.get("privacy_level")
    offered = list(creator.get("privacy_level_options") or [])
    if level not in offered:
        now = ", ".join(f"“{PRIVACY_WORDS.get(o, o)}”" for o in offered) or "nothing"
        raise Refused(f"TikTok no longer offers “{PRIVACY_WORDS.get(level, level)}” for this account; it offers {now} "
                      "(privacy_level_option_mismatch).",
                      "Pick who can see it again: change the post's privacy level and schedule it again.")
    longest = creator.get("max_video_post_duration_sec")
    if longest and duration_s > float(longest):
        raise Refused(f"The video lasts {duration_s:.1f} s; TikTok takes at most {longest} s from this account.",
                      "Render a shorter short and schedule that one.")
    if options.get("brand_content") and level == "SELF_ONLY":
        raise Refused("TikTok does not allow branded content (a paid partnership) to be private (SELF_ONLY).",
                      "Choose another privacy level, or turn brand_content off.")
    # an interaction the creator has since turned off stays off: their setting in TikTok wins over the old choice
    disable = {off.replace("_disabled", ""): not options.get(name, False) or bool(creator.get(off))
               for name, off, _ in INTERACTIONS}
    return {"title": caption(delivery.text), "privacy_level": level, "disable_comment": disable["comment"],
            "disable_duet": disable["duet"], "disable_stitch": disable["stitch"],
            "video_cover_timestamp_ms": COVER_MS, "brand_content_toggle": bool(options.get("brand_content")),
            "brand_organic_toggle": bool(options.get("brand_organic")),
            "is_aigc": bool(options.get("synthetic_media", True))}


def caption(text: PostText) -> str:
    """TikTok's "title" is the caption: the post's caption with any of its hashtags it lacks, cut to 2,200 UTF-16
    units (a post that falls due is cut rather than failed, as YouTube's titles are)."""
    body = text.caption.strip() or text.title.strip()
    words = set(body.lower().split())
    tags = " ".join(t for t in (h if h.startswith("#") else f"#{h}" for h in text.hashtags) if t.lower() not in words)
    full = "\n\n".join(p for p in (body, tags) if p)
    if len(full.encode("utf-16-le")) // 2 <= TITLE_MAX:
        return full
    units = full.encode("utf-16-le")[: (TITLE_MAX - 1) * 2]
    return units.decode("utf-16-le", errors="ignore").rstrip() + "…"  # a split surrogate pair is dropped


def _duration(video: Path) -> float:
    from pipelines.ffmpeg import probe

    try:
        return float(probe(video)["format"]["duration"])
    except StudioError as exc:
        raise Refused(f"The video's length could not be measured for TikTok: {exc.message}", exc.hint) from None
    except (KeyError, ValueError):
        raise Refused("The video's length could not be measured for TikTok (ffprobe gave none).",
                      "Render the short again.") from None


def _profile(handle_or_username: dict | str) -> str:
    name = handle_or_username.get("username", "") if isinstance(handle_or_username, dict) else handle_or_username
    return f"https://www.tiktok.com/@{name}" if name else "https://www.tiktok.com/"


def _posted(data: dict, handle: dict) -> Posted:
    ids = data.get("publicaly_available_post_id") or []  # TikTok's spelling; a list (one id for a video)
    ids = ids if isinstance(ids, list) else [ids]
    detail = {"publish_id": handle["publish_id"], "privacy_level": handle.get("privacy_level"),
              "tiktok_status": data.get("status")}
    if data.get("status") == "SEND_TO_USER_INBOX":
        detail["note"] = "TikTok sent it to the account's inbox: finish posting it in the TikTok app."
    if ids:
        return Posted(remote_id=str(ids[0]), url=f"{_profile(handle)}/video/{ids[0]}", detail=detail)
    # a private post (SELF_ONLY) never gets a public id, and a public one only after TikTok's moderation
    return Posted(remote_id=handle["publish_id"], url=_profile(handle), detail=detail)


def _failed(data: dict) -> Refused:
    reason = str(data.get("fail_reason") or "")
    words = FAIL_REASONS.get(reason, f"TikTok gave the reason {reason!r}" if reason else "TikTok gave no reason")
    return Refused(f"TikTok did not post the video: {words} ({reason or 'FAILED'}).",
                   "Fix what it names and schedule the short again.")


def _error_of(r: httpx.Response) -> dict:
    try:
        error = r.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def _failure(status: int, code: str, message: str) -> PublishError:
    """A Content Posting API error answer as one of base.py's errors."""
    said = f"{message} ({code})" if message and code else message or code or f"HTTP {status}"
    if code in ("access_token_invalid", "scope_not_authorized", "scope_permission_missed") or status == 401:
        return AuthRevoked(f"TikTok no longer accepts this account's connection ({code or status}).",
                           "Reconnect the TikTok account, allowing every permission it asks for.")
    if code in LIMITS:
        words, wait = LIMITS[code]
        return Deferred(words, datetime.now(UTC) + wait, "It is tried again then; nothing is lost.")
    if code == "privacy_level_option_mismatch":
        return Refused("TikTok does not offer the chosen privacy level for this account now "
                       "(privacy_level_option_mismatch).", "Pick who can see it again and schedule the post again.")
    if code == "unaudited_client_can_only_post_to_private_accounts":
        return Refused("Until TikTok audits this studio's app, it can only post to private accounts.",
                       "Set the TikTok account to private (Settings and privacy → Privacy), then schedule again.")
    if code == "spam_risk_user_banned_from_posting":
        return Refused("TikTok has stopped this account from posting.", "Check the account in the TikTok app.")
    if status >= 500 or status == 429 or code == "internal_error":
        return Transient(f"TikTok failed (HTTP {status}: {said}).", "The post is tried again shortly.")
    return Refused(f"TikTok refused the post: {said}.", "Change what it names and schedule the post again.")


class _Api:
    """The Content Posting API and user info, with one account's token. Answers are ``{"data", "error"}``; a call
    succeeds only when ``error.code`` is "ok"."""

    def __init__(self, settings: PublishSettings, access_token: str) -> None:
        self.base = settings.tiktok_api_url.rstrip("/")
        self.auth = {"Authorization": f"Bearer {access_token}"}
        self.http = httpx.Client(timeout=HTTP_TIMEOUT_S)

    def __enter__(self) -> _Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _call(self, path: str, body: dict | None = None, *, method: str = "POST",
              params: dict | None = None) -> tuple[int, dict, dict]:
        headers = dict(self.auth)
        if method == "POST":
            headers["Content-Type"] = "application/json; charset=UTF-8"
        try:
            r = self.http.request(method, self.base + path, params=params, headers=headers,
                                  content=json.dumps(body).encode() if body is not None else None)
        except httpx.HTTPError as exc:
            raise Transient(f"TikTok did not answer ({type(exc).__name__}).", "It is tried again shortly.") from exc
        try:
            answer = r.json()
        except ValueError:
            answer = {}
        data = answer.get("data") if isinstance(answer, dict) else None
        return r.status_code, data if isinstance(data, dict) else {}, _error_of(r)

    def call(self, path: str, body: dict | None = None, *, method: str = "POST", params: dict | None = None) -> dict:
        status, data, error = self._call(path, body, method=method, params=params)
        if status == 200 and error.get("code", "ok") == "ok":
            return data
        raise _failure(status, str(error.get("code") or ""), str(error.get("message") or ""))

    def creator_info(self) -> dict:
        return self.call("/v2/post/publish/creator_info/query/")

    def status(self, publish_id: str) -> dict | None:
        """The post's status, or None when TikTok does not know the publish_id."""
        status, data, error = self._call("/v2/post/publish/status/fetch/", {"publish_id": publish_id})
        code = str(error.get("code") or "")
        if status == 200 and code in ("ok", ""):
            return data
        # the only parameter is the publish_id: TikTok refusing it means it does not know it
        if status in (400, 404) and (code in ("invalid_params", "invalid_param") or "publish_id" in code):
            return None
        raise _failure(status, code, str(error.get("message") or ""))
