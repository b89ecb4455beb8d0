"""YouTube: connect a channel (Google OAuth 2) and post a short with the Data API's resumable upload.

The upload keeps base.py's handle rule. The handle is the upload session's address: it is saved once the session
exists and before any byte is sent, and again, marked ``final_sent``, before the chunk that can complete the upload
(completing it creates the video: the irreversible step). Given a handle, the session is asked first (a ``PUT``
with ``Content-Range: bytes */TOTAL``): done → Posted; 308 → resume where YouTube's ``Range`` says; gone (404/410)
→ start again, unless the final chunk may have landed (Unconfirmed).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httplib2
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest, MediaFileUpload

from models.errors import InvalidRequest
from studio.publishing.base import AuthRevoked, Delivery, Posted, PublishError, Refused, Sink, Transient, Unconfirmed
from studio.publishing.platforms import Account, OAuthSpec, PlatformBase, flag, no_options
from studio.settings import PublishSettings

# youtube.upload alone cannot call videos.update: the bundled discovery document lists youtube, youtube.force-ssl
# and youtubepartner for it. "youtube" also covers channels.list(mine=True); force-ssl would do the same (the API
# is HTTPS-only), so the broader-sounding one adds no power.
SCOPES = ("https://www.googleapis.com/auth/youtube.upload", "https://www.googleapis.com/auth/youtube",
          "https://www.googleapis.com/auth/yt-analytics.readonly")
QUANTUM = 256 * 1024  # Google's rule: every chunk but the last is a multiple of 256 KiB
SCHEDULE_AHEAD = timedelta(minutes=1)  # nearer than this, publishAt would be in the past when YouTube reads it
PRIVACY = ("public", "unlisted", "private")
CHUNK_RETRIES = 4  # 5xx / 429 / network errors in a row before the attempt is given up as Transient
HTTP_TIMEOUT_S = 60
TRANSPORT_ERRORS = (httplib2.HttpLib2Error, OSError)  # OSError covers timeouts and resets


class YouTube(PlatformBase):
    name = "youtube"
    label = "YouTube"
    settings_names = ("STUDIO_YOUTUBE_CLIENT_ID", "STUDIO_YOUTUBE_CLIENT_SECRET")

    def __init__(self, settings: PublishSettings) -> None:
        self.settings = settings
        # YouTube holds an upload until its time (private + publishAt): uploaded this long ahead
        self.upload_ahead = timedelta(hours=settings.youtube_upload_ahead_h)
        self.notes = (
            "Google keeps every upload private when it comes from an API project that has not passed Google's audit "
            "(Google's rule for unverified API projects created after 28 July 2020). Until this studio's project is "
            "audited, your posts arrive as private videos that only you can see.",
            f"Each upload spends this studio's daily YouTube quota: it sends at most {settings.youtube_daily_uploads} "
            "uploads a day for all its creators together (STUDIO_YOUTUBE_DAILY_UPLOADS), counted per Pacific day "
            "like Google's own quota, which resets at midnight Pacific time.",
            "YouTube decides by itself what is a Short, from the video's shape and length: vertical or square, up to "
            "3 minutes. There is no setting in the API to ask for it.",
        )

    def oauth(self) -> OAuthSpec | None:
        s = self.settings
        if not (s.youtube_client_id and s.youtube_client_secret):
            return None
        return OAuthSpec(authorize_url=s.google_auth_url, token_url=s.google_token_url, revoke_url=s.google_revoke_url,
                         scopes=SCOPES, pkce=True, client_id=s.youtube_client_id, client_secret=s.youtube_client_secret,
                         # offline + consent: Google returns a refresh token on every connection, not just the first
                         authorize_params={"access_type": "offline", "prompt": "consent",
                                           "include_granted_scopes": "true"})

    def account(self, access_token: str) -> Account:
        try:
            found = _service(self.settings, access_token).channels().list(part="snippet", mine=True).execute()
        except HttpError as exc:
            raise _failure(exc.resp.status, exc.content) from exc
        except TRANSPORT_ERRORS as exc:
            raise Transient("YouTube did not answer.", "Try connecting again in a minute.") from exc
        if not found.get("items"):
            raise Refused("This Google account has no YouTube channel.",
                          "Create one at https://www.youtube.com/create_channel, then connect again.")
        channel = found["items"][0]
        return Account(account_id=channel["id"], name=channel["snippet"]["title"],
                       info={"url": f"https://www.youtube.com/channel/{channel['id']}",
                             "custom_url": channel["snippet"].get("customUrl", "")})

    def check_options(self, options: dict, info: dict) -> dict:
        out = no_options(options, ("privacy", "made_for_kids"))
        privacy = options.get("privacy", "public")
        if privacy not in PRIVACY:
            raise InvalidRequest(f"Unknown privacy {privacy!r}.", f"Choose one of: {', '.join(PRIVACY)}.")
        if "made_for_kids" not in options:
            raise InvalidRequest("Say whether the video is made for kids (YouTube requires the answer).",
                                 "Send options.made_for_kids: true or false.")
        return {**out, "privacy": privacy, "made_for_kids": flag(options, "made_for_kids")}

    def publisher(self) -> YouTubePublisher:
        return YouTubePublisher(self.settings)


class YouTubePublisher:
    platform = "youtube"
    can_reschedule = True  # an upload waiting for its publishAt is moved with videos.update

    def __init__(self, settings: PublishSettings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        # rounded down to whole 256 KiB units, at least one (a fractional setting still gives a valid chunk)
        self.chunk = max(1, int(settings.upload_chunk_mb * 1024 * 1024) // QUANTUM) * QUANTUM
        self._sleep = sleep

    def reschedule(self, delivery: Delivery, remote_id: str, access_token: str) -> Posted:
        """Move an uploaded video's publishAt. videos.update replaces the whole status part, so every status field
        this studio sets is sent again (a field left out would be reset)."""
        status = video_body(delivery, datetime.now(UTC))["status"]
        if "publishAt" not in status:
            raise Refused("The new time is too near to be scheduled on YouTube.", "Choose a time at least a few minutes "
                          "ahead, or make the video public in YouTube Studio.")
        try:
            resource = _service(self.settings, access_token).videos().update(
                part="status", body={"id": remote_id, "status": status}).execute()
        except HttpError as exc:
            raise _failure(exc.resp.status, exc.content) from exc
        except TRANSPORT_ERRORS as exc:
            raise Transient("YouTube did not answer.", "Try moving it again in a minute.") from exc
        return _posted(resource)

    def publish(self, delivery: Delivery, access_token: str, sink: Sink) -> Posted:
        # 1. the body, checked before anything reaches YouTube
        body = video_body(delivery, datetime.now(UTC))
        if not delivery.files.video.is_file():
            raise Refused(f"The short's video file is missing ({delivery.files.video.name}).",
                          "Render the short again and schedule the new one.")
        total = delivery.files.video.stat().st_size
        media = _WholeChunks(str(delivery.files.video), mimetype="video/mp4", chunksize=self.chunk, resumable=True)
        try:
            request = _service(self.settings, access_token).videos().insert(
                part="snippet,status", body=body, media_body=media)
            request.uri = _rebase(request.uri, self.settings.youtube_api_url)
            # 2. an earlier attempt left a session: what became of it?
            handle = dict(delivery.handle) if delivery.handle.get("upload_url") else {}
            if handle:
                request.resumable_uri = handle["upload_url"]
                resource = self._ask(request, handle, total, delivery.account_id)
                if resource is not None:
                    return _posted(resource)
            # 3. send it, resuming that session when it is still there
            return _posted(self._send(request, handle, total, sink, delivery.account_id))
        finally:
            media.stream().close()

    def _send(self, request: HttpRequest, handle: dict, total: int, sink: Sink, account_id: str) -> dict:
        failures = 0
        while True:
            if request.resumable_uri is None:
                handle = self._start(request, total)
                sink.save_handle(handle)
            if request.resumable_progress + self.chunk >= total and not handle.get("final_sent"):
                # once set it stays set, even if a resend follows: erring towards Unconfirmed never posts twice
                handle = {**handle, "final_sent": True}
                sink.save_handle(handle)
            try:
                # no num_retries: googleapiclient would resend the chunk blindly (and, given a file stream, a slice
                # it has already read: 0 bytes against the Content-Length it announced). Retries here go through
                # the status query, whose Range says what landed of a chunk cut off midway.
                _, resource = request.next_chunk()
                if resource is not None:
                    return resource  # no progress() now: a lost claim must not throw away a known result
                failures = 0
                sink.progress(request.resumable_progress, total)
                continue
            except HttpError as exc:
                status = exc.resp.status
                if status in (404, 410):
                    self._gone(request, handle, account_id)
                    continue
                if status < 500 and status != 429:
                    raise _failure(status, exc.content) from exc
                last: Exception = exc
            except TRANSPORT_ERRORS as exc:
                last = exc
            failures += 1
            if failures > CHUNK_RETRIES:
                raise Transient(f"YouTube stopped taking the upload ({_describe(last)}).",
                                "It resumes from the last confirmed byte on the next try.") from last
            self._sleep(min(30.0, 0.5 * 2 ** (failures - 1)) * (0.5 + random.random()))
            resource = self._ask(request, handle, total, account_id)
            if resource is not None:
                return resource

    def _start(self, request: HttpRequest, total: int) -> dict:
        """Open an upload session. googleapiclient's next_chunk would open it and send the first chunk in one call,
        leaving no moment to save the handle between the two, so the session is opened here with its request."""
        headers = {**request.headers, "X-Upload-Content-Type": "video/mp4", "X-Upload-Content-Length": str(total),
                   "Content-Length": str(request.body_size)}
        try:
            resp, content = request.http.request(request.uri, method=request.method, body=request.body, headers=headers)
        except TRANSPORT_ERRORS as exc:
            raise Transient(f"YouTube did not answer ({_describe(exc)}).", "The post is tried again shortly.") from exc
        if resp.status != 200 or "location" not in resp:
            raise _failure(resp.status, content)
        request.resumable_uri, request.resumable_progress = resp["location"], 0
        return {"upload_url": resp["location"], "total": total}

    def _ask(self, request: HttpRequest, handle: dict, total: int, account_id: str) -> dict | None:
        """The status query: the video resource if the upload is complete; else None, with the request set to
        resume (or, the session gone, to start a new one)."""
        headers = {"Content-Length": "0", "Content-Range": f"bytes */{total}"}
        try:
            resp, content = request.http.request(request.resumable_uri, method="PUT", headers=headers)
        except TRANSPORT_ERRORS as exc:
            raise Transient(f"YouTube did not answer about the upload ({_describe(exc)}).",
                            "It is asked again on the next try; nothing is sent twice.") from exc
        if resp.status in (200, 201):
            return json.loads(content)
        if resp.status == 308:
            # no Range: YouTube kept nothing, so the same session starts again from byte 0
            request.resumable_progress = int(resp["range"].rsplit("-", 1)[1]) + 1 if "range" in resp else 0
            return None
        if resp.status in (404, 410):
            self._gone(request, handle, account_id)
            return None
        raise _failure(resp.status, content)

    @staticmethod
    def _gone(request: HttpRequest, handle: dict, account_id: str) -> None:
        if handle.get("final_sent"):
            raise Unconfirmed("The upload's last part was sent, then YouTube's upload session ended before it said "
                              "whether the video was made.",
                              link=f"https://studio.youtube.com/channel/{account_id}/videos")
        request.resumable_uri = None  # the last byte never went: no video exists, so a new session is safe


def video_body(delivery: Delivery, now: datetime) -> dict:
    """The videos.insert body: snippet and status (field names from the videos resource reference)."""
    options, text = delivery.options, delivery.text
    privacy = options.get("privacy", "public")
    if privacy not in PRIVACY:
        raise Refused(f"Unknown YouTube privacy {privacy!r}.", f"Choose one of: {', '.join(PRIVACY)}.")
    title = text.title.strip()
    # YouTube refuses titles over 100 characters; a post that falls due is cut rather than failed
    title = title if len(title) <= 100 else title[:99].rstrip() + "…"
    caption = text.caption.strip()
    # the studio's captions often end with their hashtags already: add only the ones missing
    words = set(caption.lower().split())
    tags = " ".join(t for t in (h if h.startswith("#") else f"#{h}" for h in text.hashtags) if t.lower() not in words)
    snippet = {"title": title, "description": "\n\n".join(p for p in (caption, tags) if p),
               "categoryId": str(options.get("category_id", "22"))}  # 22: People & Blogs
    at = delivery.publish_at if delivery.publish_at.tzinfo else delivery.publish_at.replace(tzinfo=UTC)
    if at - now > SCHEDULE_AHEAD:  # YouTube takes publishAt only on a private video, and publishes it then
        status: dict = {"privacyStatus": "private", "publishAt": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    else:
        status = {"privacyStatus": privacy}
    if "made_for_kids" in options:
        status["selfDeclaredMadeForKids"] = bool(options["made_for_kids"])
    if "synthetic_media" in options:
        status["containsSyntheticMedia"] = bool(options["synthetic_media"])
    return {"snippet": snippet, "status": status}


class _WholeChunks(MediaFileUpload):
    """Each chunk read into memory and sent with one write. As a stream, http.client copies a file slice to the
    socket 8 KiB at a time, a thousand Python calls per 8 MB chunk (measured: benchmarks/publish.py)."""

    def has_stream(self) -> bool:
        return False


def _service(settings: PublishSettings, access_token: str):  # -> googleapiclient Resource (untyped)
    http = httplib2.Http(timeout=HTTP_TIMEOUT_S)
    # httplib2 follows 308 as a redirect; in the upload protocol it means "resume incomplete"
    http.redirect_codes = http.redirect_codes - {308}
    # no refresh on 401: the dispatcher hands in a fresh access token, so a 401 means the connection is revoked
    authed = AuthorizedHttp(Credentials(access_token), http=http, refresh_status_codes=())
    return build("youtube", "v3", http=authed, static_discovery=True,  # the bundled discovery document: no fetch
                 client_options={"api_endpoint": settings.youtube_api_url.rstrip("/") + "/"})


def _rebase(uri: str, api_url: str) -> str:
    """googleapiclient moves only the host of the upload address to api_endpoint (keeping https and dropping any
    path prefix); put the whole upload address under it, as every other call is."""
    base, upload = urlsplit(api_url), urlsplit(uri)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + upload.path, upload.query, ""))


def _posted(resource: dict) -> Posted:
    status = resource.get("status", {})
    return Posted(remote_id=resource["id"], url=f"https://youtu.be/{resource['id']}",
                  detail={"privacy": status.get("privacyStatus"), "publish_at": status.get("publishAt")})


def error_reason(content: bytes | str) -> tuple[str, str]:
    """A Google API error answer's first ``reason`` and its ``message`` (the body's start when it is not JSON)."""
    try:
        error = json.loads(content)["error"]
        return (error.get("errors") or [{}])[0].get("reason", ""), error.get("message", "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", (content.decode(errors="replace") if isinstance(content, bytes) else content)[:200]


def _failure(status: int, content: bytes | str) -> PublishError:
    """An API error answer as one of base.py's errors."""
    reason, message = error_reason(content)
    if status == 401:
        return AuthRevoked("YouTube no longer accepts this channel's connection.", "Reconnect the YouTube account.")
    if reason == "quotaExceeded":
        # Transient, not Refused: the post is fine and the quota comes back at midnight Pacific time, when the
        # dispatcher's next try goes through; the studio's own daily count normally stops uploads before this
        return Transient("This studio's YouTube upload quota for today is spent.",
                         "It resets at midnight Pacific time; the post goes out on a try after that.")
    if reason == "uploadLimitExceeded":
        # the channel's own limit: YouTube publishes neither its size nor its window, so blind retries only spend quota
        return Refused("This channel has reached YouTube's limit on uploads for now.",
                       "Schedule the post again tomorrow.")
    if status >= 500 or status == 429:
        return Transient(f"YouTube answered {status} ({message or reason}).", "The post is tried again shortly.")
    return Refused(f"YouTube refused the upload: {message or reason or status}.",
                   "Change what it names (title, description, file) and schedule the post again.")


def _describe(exc: Exception) -> str:
    if isinstance(exc, HttpError):
        return f"HTTP {exc.resp.status}"
    return type(exc).__name__
