"""TikTok's numbers for the metrics puller (studio/analytics/metrics.py): the Display API's Query Videos with the
connection's video.list scope, through the same client as the Content Posting API (studio/publishing/tiktok.py).

``POST /v2/video/query/?fields=id,view_count,like_count,comment_count,share_count,duration,create_time,title`` with
``{"filters": {"video_ids": [...]}}`` (at most 20 ids a call) answers ``{"data": {"videos": [...]}, "error":
{"code": "ok"}}``, for the user's own public videos only. The counts are lifetime counters, so each look is a
snapshot. A post TikTok never gave a public id (posted SELF_ONLY, or still in moderation when it was posted) is
known only by its publish_id, which Query Videos does not take: it is skipped, saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from studio.analytics.metrics import DuePost, Read, Throttled
from studio.publishing.base import Deferred
from studio.publishing.tiktok import _Api  # the Content Posting client: its error answers mapped as publishing does
from studio.settings import PublishSettings

FIELDS = "id,view_count,like_count,comment_count,share_count,duration,create_time,title"
MAX_IDS = 20  # TikTok: "Up to 20 video IDs can be included per request"


class TikTokMetrics:
    platform = "tiktok"
    label = "TikTok"
    batch = MAX_IDS
    needs_duration = False

    def __init__(self, settings: PublishSettings) -> None:
        self.settings = settings

    def why_not(self, post: DuePost) -> str | None:
        if post.remote_id == post.result.get("publish_id") or not post.remote_id.isdigit():
            return ("TikTok gave this post no public video id (it was private or in moderation when posted), so its "
                    "numbers cannot be read.")
        return None

    def read(self, access_token: str, posts: Sequence[DuePost], now: datetime) -> Read:
        out = Read()
        try:
            with _Api(self.settings, access_token) as api:
                data = api.call("/v2/video/query/", {"filters": {"video_ids": [p.remote_id for p in posts]}},
                                params={"fields": FIELDS})
        except Deferred as exc:  # rate_limit_exceeded and TikTok's other "later" answers
            wait = max(exc.until - datetime.now(UTC), timedelta(minutes=1))
            raise Throttled(exc.message, now + wait) from None
        videos = {str(v.get("id")): v for v in data.get("videos") or [] if isinstance(v, dict)}
        for p in posts:
            v = videos.get(p.remote_id)
            if v is None:
                out.missed[p.post_id] = (f"TikTok did not return video {p.remote_id} (deleted, made private, or "
                                         "not this account's).")
                continue
            duration = _int(v.get("duration"))
            out.snapshots.append(p.snapshot("tiktok", now, views=_int(v.get("view_count")),
                                            likes=_int(v.get("like_count")), comments=_int(v.get("comment_count")),
                                            shares=_int(v.get("share_count")),
                                            duration=float(duration) if duration else None))
        return out


def _int(value) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None
