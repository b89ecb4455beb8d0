"""Instagram: connect a Business or Creator account (Instagram API with Instagram Login) and post a short as a Reel
through a resumable media container.

The container id is the exactly-once key: Instagram publishes a container at most once. It is saved the moment the
container exists, and again, marked ``final_sent``, right before ``media_publish``. Given a saved handle, the
container's ``status_code`` is asked first: PUBLISHED → find the post (never publish again); FINISHED → publish;
IN_PROGRESS after a full upload → wait for it; never fully uploaded, EXPIRED, gone or stuck → a new container (the
old one is never published by us and expires); ERROR → Refused with Instagram's reason.

Containers expire after 24 hours, so the dispatcher hands a post over only minutes ahead (``upload_ahead``); a
container ready before the post's time is held with base.Deferred until then."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from studio.publishing import meta
from studio.publishing.base import (
    AuthRevoked,
    Deferred,
    Delivery,
    NoReschedule,
    Posted,
    PostText,
    Refused,
    Sink,
    Transient,
    Unconfirmed,
)
from studio.publishing.meta import Graph, utcnow
from studio.publishing.platforms import Account, OAuthSpec, PlatformBase, flag, no_options
from studio.settings import PublishSettings

__all__ = ["Instagram", "InstagramPublisher", "reel_caption", "SCOPES"]

SCOPES = ("instagram_business_basic", "instagram_business_content_publish", "instagram_business_manage_insights")
PROFESSIONAL = ("BUSINESS", "MEDIA_CREATOR")  # account_type values that can publish through the API
CAPTION_MAX, HASHTAGS_MAX = 2200, 30  # Instagram refuses captions over these
EARLY = timedelta(seconds=30)  # a container ready this close to its time is published at once
POLL_EVERY_S, POLL_FOR_S = 3.0, 120.0  # how often, and how long in one attempt, a processing container is asked
STUCK_AFTER = timedelta(minutes=15)  # fully uploaded and still IN_PROGRESS this long after: a new container
MAX_CONTAINERS = 3  # containers made for one post before it is refused (each one stuck or expired)
LIMIT_WAIT = timedelta(hours=1)  # Instagram's window rolls: look again in an hour (or the window, if shorter)
HASHTAG = re.compile(r"(?<![\w#])#\w+[ \t]?")


class Instagram(PlatformBase):
    name = "instagram"
    label = "Instagram"
    settings_names = ("STUDIO_INSTAGRAM_CLIENT_ID", "STUDIO_INSTAGRAM_CLIENT_SECRET")
    # a container expires 24 hours after it is made: it is made minutes before its time, never far ahead
    upload_ahead = timedelta(minutes=10)
    notes = (
        "Only Instagram Business and Creator accounts can be connected: Instagram does not let apps publish to "
        "personal accounts. Switch in the Instagram app first (Settings, then Account type and tools).",
        "Instagram limits how many posts an account may publish through apps in 24 hours. The studio reads your "
        "account's own limit from Instagram before each post and waits when it is reached.",
        "Reels must be 3 seconds to 15 minutes long and look best vertical (9:16). Captions keep at most 2,200 "
        "characters and 30 hashtags; anything beyond is cut.",
        "Instagram cannot be asked to disconnect the studio from here: to remove its access, open Instagram's "
        "Settings, then Website permissions, then Apps and websites.",
    )

    def oauth(self) -> OAuthSpec | None:
        s = self.settings
        if not (s.instagram_client_id and s.instagram_client_secret):
            return None
        # no PKCE: Instagram's authorize step does not document it; no revoke endpoint exists
        return OAuthSpec(authorize_url=s.instagram_auth_url, token_url=s.instagram_token_url, revoke_url=None,
                         scopes=SCOPES, pkce=False, client_id=s.instagram_client_id,
                         client_secret=s.instagram_client_secret, token_auth="client_secret_post",
                         scope_separator=",", refresh_after=timedelta(days=1))

    def long_lived(self, token: dict) -> dict:
        """The 60-day token for the 1-hour one. Newer API versions answer the code exchange as
        ``{"data": [{access_token, user_id, permissions}]}``, older ones flat: both are read."""
        short = token["data"][0] if isinstance(token.get("data"), list) and token["data"] else token
        if not short.get("access_token"):
            why = short.get("error_message") or short.get("error_description") or "no token in its answer"
            raise AuthRevoked(f"Instagram refused the sign-in ({why}).", "Start connecting again.")
        got = meta.token_call(f"{self.settings.instagram_graph_url}/access_token",
                              {"grant_type": "ig_exchange_token", "client_secret": self.settings.instagram_client_secret,
                               "access_token": short["access_token"]}, "Instagram")
        out = {"access_token": got["access_token"], "token_type": got.get("token_type", "bearer"),
               "expires_in": got.get("expires_in")}
        if short.get("user_id"):
            out["user_id"] = str(short["user_id"])
        if short.get("permissions"):
            out["scope"] = short["permissions"]
        return out

    def refresh(self, spec: OAuthSpec, token: dict) -> dict | None:
        """A new 60-day token for a long-lived one at least a day old and not expired (ig_refresh_token)."""
        got = meta.token_call(f"{self.settings.instagram_graph_url}/refresh_access_token",
                              {"grant_type": "ig_refresh_token", "access_token": token["access_token"]}, "Instagram")
        return {"access_token": got["access_token"], "token_type": got.get("token_type", "bearer"),
                "expires_in": got.get("expires_in")}

    def accounts(self, token: dict) -> list[Account]:
        with Graph(self.settings.instagram_graph_url, token["access_token"], "Instagram") as graph:
            me = graph.get("me", fields="user_id,username,account_type")
        username, kind = me.get("username", ""), me.get("account_type", "")
        if kind not in PROFESSIONAL:
            raise Refused(f"@{username} is a personal Instagram account: Instagram lets apps publish only to "
                          "Business and Creator accounts.",
                          "In the Instagram app open Settings, then Account type and tools, then Switch to "
                          "professional account; then connect again.")
        return [Account(account_id=str(me["user_id"]), name=f"@{username}",
                        info={"link": f"https://www.instagram.com/{username}/", "account_type": kind})]

    def check_options(self, options: dict, info: dict) -> dict:
        out = no_options(options, ("share_to_feed",))
        return {**out, "share_to_feed": flag(options, "share_to_feed", True)}

    def publisher(self) -> InstagramPublisher:
        return InstagramPublisher(self.settings)


class InstagramPublisher(NoReschedule):
    platform = "instagram"

    def __init__(self, settings: PublishSettings, sleep: Callable[[float], None] = time.sleep,
                 poll_every_s: float = POLL_EVERY_S, poll_for_s: float = POLL_FOR_S) -> None:
        self.settings = settings
        self.sleep, self.poll_every_s, self.poll_for_s = sleep, poll_every_s, poll_for_s

    def publish(self, delivery: Delivery, access_token: str, sink: Sink) -> Posted:
        video = meta.video_of(delivery)
        with Graph(self.settings.instagram_graph_url, access_token, "Instagram") as graph:
            return _Attempt(self, graph, delivery, sink).run(video)


class _Attempt:
    """One publish call: the graph client, the post, its handle as it grows."""

    def __init__(self, publisher: InstagramPublisher, graph: Graph, delivery: Delivery, sink: Sink) -> None:
        self.p, self.graph, self.d, self.sink = publisher, graph, delivery, sink
        self.user = delivery.account_id
        self.caption = reel_caption(delivery.text)
        self.handle = dict(delivery.handle) if delivery.handle.get("container_id") else {}
        self.room_checked = False
        self.reason = ""  # the container's ``status`` text (Instagram's reason, for ERROR)

    def run(self, video: Path) -> Posted:
        # 1. an earlier attempt's container: what became of it?
        status = self.status() if self.handle else "NONE"
        while status != "FINISHED":
            if status == "PUBLISHED":
                return self.found()
            if status == "ERROR":
                raise Refused(f"Instagram could not process the video ({self.reason or 'no reason given'}).",
                              "Check that it is an MP4 of 3 s to 15 min, then schedule it again.")
            if status == "IN_PROGRESS" and self.handle.get("uploaded") and not self.stuck():
                status = self.wait()
                continue
            # none yet, expired, gone, never fully uploaded, or stuck: a new container (the old one is never published)
            # 2. room under the account's publishing limit, read live
            self.room()
            # 3. a container, its id saved at once; 4. the video's bytes into it
            self.create()
            self.upload(video)
            status = self.wait()
        # 5. ready before its time: held until then (containers live 24 hours; this one was made minutes ago)
        at = self.d.publish_at
        if at - utcnow() > EARLY:
            raise Deferred(f"Uploaded to Instagram; it is published at {at.astimezone(UTC):%H:%M} UTC.", until=at)
        # 6. publish: the irreversible step, once per container
        self.room()
        return self.publish()

    # -- the container -------------------------------------------------------------------------------------------
    def status(self) -> str:
        try:
            got = self.graph.get(self.handle["container_id"], fields="status_code,status")
        except Refused:  # the container is gone (Graph: the object does not exist)
            if self.handle.get("final_sent"):
                raise Unconfirmed("media_publish was sent, then Instagram stopped knowing the container, so it "
                                  "cannot say whether the Reel was published.", link=self.profile()) from None
            return "GONE"
        self.reason = str(got.get("status") or "")
        return str(got.get("status_code") or "IN_PROGRESS")

    def stuck(self) -> bool:
        uploaded_at = self.handle.get("uploaded_at") or 0
        return utcnow().timestamp() - uploaded_at > STUCK_AFTER.total_seconds()

    def wait(self) -> str:
        """Ask until the container leaves IN_PROGRESS (a bounded wait); still processing after it: Transient, and
        the handle is asked again on the next try."""
        polls = max(1, int(self.p.poll_for_s / self.p.poll_every_s))
        for n in range(polls):
            status = self.status()
            if status != "IN_PROGRESS":
                return status
            if n + 1 < polls:
                self.p.sleep(self.p.poll_every_s)
        raise Transient("Instagram has the video but has not finished processing it.",
                        "It is asked again on the next try; nothing is published twice.")

    def create(self) -> None:
        made = int(self.handle.get("containers", 0))
        if made >= MAX_CONTAINERS:
            raise Refused(f"Instagram did not finish processing the video: {made} uploads of it stayed unfinished. "
                          "Nothing was published.", "Check the video in the Instagram app, then schedule it again.")
        share = bool(self.d.options.get("share_to_feed", True))
        got = self.graph.post(f"{self.user}/media", media_type="REELS", upload_type="resumable",
                              caption=self.caption, share_to_feed=share)
        cid = str(got["id"])
        # Instagram names the upload address; the documented one stands in if an answer ever lacks it
        version = self.graph.base.rstrip("/").rsplit("/", 1)[-1]
        uri = got.get("uri") or f"https://rupload.facebook.com/ig-api-upload/{version}/{cid}"
        self.handle = {"container_id": cid, "uri": uri, "created_at": int(utcnow().timestamp()),
                       "containers": made + 1}
        self.sink.save_handle(self.handle)

    def upload(self, video: Path) -> None:
        self.graph.upload(self.handle["uri"], video, 0, self.sink)
        self.handle = {**self.handle, "uploaded": True, "uploaded_at": int(utcnow().timestamp())}
        self.sink.save_handle(self.handle)

    def room(self) -> None:
        """Defer while the account is at its publishing limit (quota_usage of config.quota_total, read now)."""
        if self.room_checked:
            return
        self.room_checked = True
        try:
            rows = self.graph.get(f"{self.user}/content_publishing_limit", fields="config,quota_usage").get("data")
        except Refused:  # the limit cannot be read for this account: media_publish still refuses past it
            return
        row = (rows or [{}])[0]
        config = row.get("config") or {}
        usage, total = int(row.get("quota_usage") or 0), config.get("quota_total")
        if total is None or usage < int(total):
            return
        window = int(config.get("quota_duration") or 86400)
        until = utcnow() + min(LIMIT_WAIT, timedelta(seconds=window))
        raise Deferred(f"Instagram's publishing limit for this account is reached: {usage} of {int(total)} posts in "
                       f"{window / 3600:g} hours (read from Instagram just now).", until,
                       f"It is tried again at {until:%H:%M} UTC.")

    # -- publishing and finding the post ---------------------------------------------------------------------------
    def publish(self) -> Posted:
        cid = self.handle["container_id"]
        self.handle = {**self.handle, "final_sent": True}
        self.sink.save_handle(self.handle)
        try:
            media_id = str(self.graph.post(f"{self.user}/media_publish", creation_id=cid)["id"])
        except Refused:
            if self.status() == "PUBLISHED":  # published meanwhile (another attempt): find it, never twice
                return self.found()
            raise
        return Posted(remote_id=media_id, url=self.permalink(media_id), detail={"container_id": cid})

    def permalink(self, media_id: str) -> str:
        try:  # the Reel exists now: a failure to read its address must not fail the post
            return str(self.graph.get(media_id, fields="permalink").get("permalink") or self.profile())
        except (Transient, Refused, AuthRevoked):
            return self.profile()

    def found(self) -> Posted:
        """The container was published (by an attempt that died before hearing so): its post, matched among the
        account's newest by caption and time; else the container and the profile, saying so."""
        cid = self.handle["container_id"]
        made = int(self.handle.get("created_at") or 0)
        media = self.graph.get(f"{self.user}/media", fields="id,permalink,timestamp,caption", limit=25).get("data") or []
        for m in media:  # newest first
            if (m.get("caption") or "").strip() == self.caption.strip() and _epoch(m.get("timestamp")) >= made - 300:
                return Posted(remote_id=str(m["id"]), url=m.get("permalink") or self.profile(),
                              detail={"container_id": cid})
        return Posted(remote_id=cid, url=self.profile(),
                      detail={"container_id": cid, "note": "Instagram says this Reel was published, but it could not "
                              "be matched among the account's posts: the link opens the profile."})

    def profile(self) -> str:
        try:
            username = self.graph.get("me", fields="username").get("username")
        except (Transient, Refused, AuthRevoked):
            username = None
        return f"https://www.instagram.com/{username}/" if username else "https://www.instagram.com/"


def reel_caption(text: PostText) -> str:
    """The caption as Instagram takes it: hashtags past the 30th dropped, then cut to 2,200 characters."""
    caption, seen = meta.caption_of(text), 0

    def keep(m: re.Match) -> str:
        nonlocal seen
        seen += 1
        return m.group(0) if seen <= HASHTAGS_MAX else ""

    caption = HASHTAG.sub(keep, caption).strip()
    return caption if len(caption) <= CAPTION_MAX else caption[:CAPTION_MAX - 1].rstrip() + "…"


def _epoch(timestamp: object) -> float:
    """Graph's ISO 8601 time (2026-05-01T09:00:00+0000) in Unix seconds; 0 when unreadable."""
    try:
        return datetime.strptime(str(timestamp), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return 0.0
