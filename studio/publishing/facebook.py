"""Facebook Pages: connect the Pages a person manages (Facebook Login; each Page its own account with its own
token) and post a short as a Page Reel: start an upload session, send the bytes to rupload, finish.

The video id is the exactly-once key: finishing it makes at most one Reel. It is saved with its upload address the
moment the session exists, and again, marked ``final_sent``, right before ``finish`` (the irreversible step).
Given a saved handle, the video's status is asked first: published or scheduled → Posted (never finished twice);
uploaded → finish; partly uploaded → resume from ``bytes_transferred``; gone → a new session, unless finish may have
been applied (Unconfirmed, with a link to the Page's posts in Meta Business Suite).

Facebook holds a Reel until ``scheduled_publish_time`` (10 minutes to 29 days ahead, Unix seconds): posts are handed
over ``upload_ahead`` early and finished as SCHEDULED; nearer than that, published at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

from studio.publishing import meta
from studio.publishing.base import (
    AuthRevoked,
    Deferred,
    Delivery,
    NoReschedule,
    Posted,
    Refused,
    Sink,
    Transient,
    Unconfirmed,
)
from studio.publishing.meta import Graph, utcnow
from studio.publishing.platforms import Account, OAuthSpec, PlatformBase
from studio.settings import PublishSettings

__all__ = ["Facebook", "FacebookPublisher", "finish_fields", "SCOPES"]

SCOPES = ("pages_show_list", "pages_read_engagement", "pages_manage_posts")
# Graph takes scheduled_publish_time 10 minutes to 29 days ahead; a minute's margin for the request's own way there
SCHEDULE_MIN, SCHEDULE_MAX = timedelta(minutes=11), timedelta(days=29)
EARLY_OK = timedelta(seconds=30)  # nearer its time than this, a Reel is published at once rather than held back
MAX_PAGES_OF_PAGES = 10  # me/accounts answers 25 Pages a page


class Facebook(PlatformBase):
    name = "facebook"
    label = "Facebook Page"
    settings_names = ("STUDIO_FACEBOOK_CLIENT_ID", "STUDIO_FACEBOOK_CLIENT_SECRET")

    def __init__(self, settings: PublishSettings) -> None:
        self.settings = settings
        self.upload_ahead = timedelta(hours=settings.facebook_upload_ahead_h)
        self.notes = (
            "Reels go to a Facebook Page you manage (you need the Create content task on it), not to a personal "
            "profile. Each Page you allow becomes its own account here.",
            f"Facebook publishes a Reel at its time by itself: the studio uploads it about "
            f"{settings.facebook_upload_ahead_h:g} hour(s) ahead and Facebook holds it until then.",
            "Reels are 3 to 90 seconds, vertical (9:16). Meta allows 30 Reels published through apps per Page in "
            "24 hours.",
            "Facebook cannot be asked to disconnect the studio from here: to remove its access, open Facebook's "
            "Settings and privacy, then Settings, then Business integrations.",
        )

    def oauth(self) -> OAuthSpec | None:
        s = self.settings
        if not (s.facebook_client_id and s.facebook_client_secret):
            return None
        # no PKCE: Facebook Login's web flow does not document it; no revoke endpoint for the whole grant here
        return OAuthSpec(authorize_url=s.facebook_auth_url, token_url=f"{s.facebook_graph_url}/oauth/access_token",
                         revoke_url=None, scopes=SCOPES, pkce=False, client_id=s.facebook_client_id,
                         client_secret=s.facebook_client_secret, token_auth="client_secret_post", scope_separator=",")

    def long_lived(self, token: dict) -> dict:
        """A 60-day user token for the short one: Page tokens read with it do not expire."""
        s = self.settings
        got = meta.token_call(f"{s.facebook_graph_url}/oauth/access_token",
                              {"grant_type": "fb_exchange_token", "client_id": s.facebook_client_id,
                               "client_secret": s.facebook_client_secret, "fb_exchange_token": token["access_token"]},
                              "Facebook")
        return {"access_token": got["access_token"], "token_type": got.get("token_type", "bearer"),
                "expires_in": got.get("expires_in")}

    def accounts(self, token: dict) -> list[Account]:
        """One account per Page the person may create content on, each with its own Page token."""
        pages: list[dict] = []
        with Graph(self.settings.facebook_graph_url, token["access_token"], "Facebook") as graph:
            got = graph.get("me/accounts", fields="id,name,access_token,tasks")
            for _ in range(MAX_PAGES_OF_PAGES):
                pages += got.get("data") or []
                following = (got.get("paging") or {}).get("next")
                if not following:
                    break
                got = graph.get(following)
        if not pages:
            raise Refused("This Facebook account manages no Facebook Page, or did not allow the studio to use one.",
                          "Reels are posted to a Page: create one (facebook.com/pages/create) or allow the studio "
                          "to use yours when connecting again.")
        usable = [p for p in pages if "CREATE_CONTENT" in (p.get("tasks") or []) and p.get("access_token")]
        if not usable:
            raise Refused("None of this account's Facebook Pages lets it create content.",
                          "Ask a Page admin for the Create content task, then connect again.")
        return [Account(account_id=str(p["id"]), name=str(p.get("name") or p["id"]),
                        info={"link": f"https://www.facebook.com/{p['id']}"},
                        # a Page token read with a long-lived user token has no expiry
                        token={"access_token": p["access_token"], "token_type": "bearer"}) for p in usable]

    def publisher(self) -> FacebookPublisher:
        return FacebookPublisher(self.settings)


class FacebookPublisher(NoReschedule):
    platform = "facebook"

    def __init__(self, settings: PublishSettings) -> None:
        self.settings = settings

    def publish(self, delivery: Delivery, access_token: str, sink: Sink) -> Posted:
        video = meta.video_of(delivery)
        total = video.stat().st_size
        # 1. how it is finished (checked before anything reaches Facebook)
        fields = finish_fields(delivery, utcnow())
        page = delivery.account_id
        with Graph(self.settings.facebook_graph_url, access_token, "Facebook") as graph:
            handle = dict(delivery.handle) if delivery.handle.get("video_id") else {}
            # 2. an earlier attempt's video: what became of it?
            where = self._ask(graph, handle, page, total) if handle else None
            if isinstance(where, Posted):
                return where
            # 3. a new upload session, saved at once
            if where is None:
                got = graph.post(f"{page}/video_reels", upload_phase="start")
                handle = {"video_id": str(got["video_id"]), "upload_url": got["upload_url"], "total": total}
                sink.save_handle(handle)
                where = 0
            # 4. the bytes, from where Facebook has them
            if where < total:
                graph.upload(handle["upload_url"], video, where, sink)
            # 5. not yet its time, and too near for Facebook to hold it: uploaded now, finished at its time
            at = delivery.publish_at if delivery.publish_at.tzinfo else delivery.publish_at.replace(tzinfo=UTC)
            if fields["video_state"] == "PUBLISHED" and at - utcnow() > EARLY_OK:
                raise Deferred(f"Uploaded to Facebook; it is published at {at:%H:%M} UTC, its time.", until=at)
            # 6. finish: the irreversible step
            repeat = bool(handle.get("final_sent"))
            handle = {**handle, "final_sent": True, "publish_at": fields.get("publish_at")}
            sink.save_handle(handle)
            try:
                graph.post(f"{page}/video_reels", upload_phase="finish", video_id=handle["video_id"],
                           **{k: v for k, v in fields.items() if k != "publish_at"})
            except Refused:
                if not repeat:
                    raise
                # finish was sent before and is refused now: most likely it was applied then; ask once more
                again = self._ask(graph, handle, page, total)
                if isinstance(again, Posted):
                    return again
                raise Unconfirmed("Facebook refused to finish the Reel again after an earlier finish may have "
                                  "reached it.", link=business_suite(page)) from None
            return _posted(graph, handle["video_id"], fields.get("publish_at"))

    def _ask(self, graph: Graph, handle: dict, page: str, total: int) -> Posted | int | None:
        """The video's status: Posted (finished: published or scheduled), the byte to resume from, or None (gone
        before anything irreversible: start again)."""
        try:
            status = graph.get(handle["video_id"], fields="status").get("status") or {}
        except Refused:  # the video does not exist (any more)
            if handle.get("final_sent"):
                raise Unconfirmed("Facebook was asked to finish the Reel, then stopped knowing its video, so it "
                                  "cannot say whether the Reel was published.", link=business_suite(page)) from None
            return None
        uploading = status.get("uploading_phase") or {}
        publishing = status.get("publishing_phase") or {}
        if publishing.get("status") in ("in_progress", "complete") or publishing.get("publish_status"):
            # finished earlier: published, or held by Facebook until its time
            state, at = publishing.get("publish_status"), publishing.get("publish_time")
            if state == "published":
                held = None
            elif state == "scheduled" and at:
                held = datetime.fromtimestamp(int(at), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            else:
                held = handle.get("publish_at")
            return _posted(graph, handle["video_id"], held)
        errors = [e.get("message", "") for phase in status.values() if isinstance(phase, dict)
                  for e in phase.get("errors") or [] if isinstance(e, dict)]
        if status.get("video_status") == "error" or any(
                isinstance(p, dict) and p.get("status") == "error" for p in status.values()):
            raise Refused(f"Facebook could not take the video ({'; '.join(e for e in errors if e) or 'no reason given'}).",
                          "Check that it is an MP4 of 3 to 90 seconds, then schedule it again.")
        if uploading.get("status") == "complete":
            return total
        return min(int(uploading.get("bytes_transferred") or 0), total)


def finish_fields(delivery: Delivery, now: datetime) -> dict:
    """The finish call's fields: published at once, or SCHEDULED with its time in Unix seconds (10 minutes to 29
    days ahead); ``publish_at`` (ISO) when scheduled, for the calendar."""
    caption = meta.caption_of(delivery.text)
    at = delivery.publish_at if delivery.publish_at.tzinfo else delivery.publish_at.replace(tzinfo=UTC)
    ahead = at - now
    if ahead > SCHEDULE_MAX:
        raise Refused(f"Facebook schedules a Reel at most 29 days ahead; this one is due {at:%d %b %Y %H:%M} UTC.",
                      "Lower STUDIO_FACEBOOK_UPLOAD_AHEAD_HOURS, or schedule it nearer its time.")
    if ahead < SCHEDULE_MIN:
        return {"video_state": "PUBLISHED", "description": caption}
    return {"video_state": "SCHEDULED", "scheduled_publish_time": int(at.timestamp()), "description": caption,
            "publish_at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def business_suite(page: str) -> str:
    return f"https://business.facebook.com/latest/posts/published_posts?asset_id={page}"


def _posted(graph: Graph, video_id: str, publish_at: str | None) -> Posted:
    try:  # the Reel exists now: a failure to read its address must not fail the post
        link = graph.get(video_id, fields="permalink_url").get("permalink_url")
    except (Transient, Refused, AuthRevoked):
        link = None
    url = urljoin("https://www.facebook.com/", str(link)) if link else f"https://www.facebook.com/reel/{video_id}"
    return Posted(remote_id=video_id, url=url, detail={"publish_at": publish_at} if publish_at else {})

