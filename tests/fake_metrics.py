"""The audience the fake platforms report metrics from: one :class:`Audience` per remote id (a YouTube video, an
Instagram Reel, a TikTok video), on a clock the test sets (``model.now``), so a month of snapshots takes seconds.

The model's numbers are plain functions of hours since posting: views grow like a saturating curve
(``ceiling * (1 - exp(-hours / tau_h))``); likes, comments, shares, saves, reach, engaged views and subscribers are
fixed shares of views; the retention curve falls linearly from 1 to ``hook`` over the first 3 seconds, then linearly
to ``end`` at the last second (:meth:`Audience.cut_hook` plants a hook that lost them); the average view is the
curve's mean.

How each platform tells it, following their documented answers (tests/fake_youtube.py, tests/fake_meta.py and
tests/fake_tiktok.py route the requests here):

* YouTube Data API ``videos.list``: statistics as strings and ``contentDetails.duration`` in ISO 8601, from the first
  hour; YouTube Analytics ``reports.query``: ``columnHeaders`` + ``rows``, with ``rows`` left out until
  ``youtube_lag_h`` hours have passed (Analytics lags), then the numbers as they are now.
* Instagram insights: ``{"data": [{"name", "period": "lifetime", "values": [{"value"}], ...}]}``, both watch times in
  milliseconds, and ``{"data": []}`` for a Reel younger than ``instagram_empty_under_h`` hours.
* TikTok ``video/query``: lifetime counters and the length in whole seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

RATIOS = tuple(round(i / 100, 2) for i in range(1, 101))  # YouTube's elapsedVideoTimeRatio points: 0.01 ... 1.0
YOUTUBE_METRICS = ("views", "engagedViews", "estimatedMinutesWatched", "averageViewDuration", "averageViewPercentage",
                   "likes", "shares", "comments", "subscribersGained", "audienceWatchRatio")
INSTAGRAM_METRICS = ("views", "reach", "likes", "comments", "shares", "saved", "total_interactions",
                     "ig_reels_avg_watch_time", "ig_reels_video_view_total_time")
TIKTOK_FIELDS = ("id", "create_time", "cover_image_url", "share_url", "video_description", "duration", "height",
                 "width", "title", "embed_html", "embed_link", "like_count", "comment_count", "share_count",
                 "view_count")


@dataclass
class Audience:
    remote_id: str
    posted_at: datetime
    duration_s: int = 30
    ceiling: int = 40_000  # views it tends to
    tau_h: float = 18.0  # hours to reach 63% of them
    like_rate: float = 0.06
    comment_rate: float = 0.004
    share_rate: float = 0.012
    save_rate: float = 0.009
    reach_rate: float = 0.82  # unique accounts per view
    engaged_rate: float = 0.71  # YouTube's engaged views per view
    subscriber_rate: float = 0.002
    hook: float = 0.74  # share still watching at 3 s
    end: float = 0.38  # share still watching at the last second
    title: str = ""
    account: str = ""  # the owning account on the platform, where the fake checks it

    # -- the numbers, at ``hours`` after posting
    def views(self, hours: float) -> int:
        return 0 if hours <= 0 else round(self.ceiling * (1 - math.exp(-hours / self.tau_h)))

    def share(self, rate: float, hours: float) -> int:
        return round(self.views(hours) * rate)

    def likes(self, hours: float) -> int:
        return self.share(self.like_rate, hours)

    def comments(self, hours: float) -> int:
        return self.share(self.comment_rate, hours)

    def shares(self, hours: float) -> int:
        return self.share(self.share_rate, hours)

    def saves(self, hours: float) -> int:
        return self.share(self.save_rate, hours)

    def reach(self, hours: float) -> int:
        return self.share(self.reach_rate, hours)

    def engaged_views(self, hours: float) -> int:
        return self.share(self.engaged_rate, hours)

    def subscribers(self, hours: float) -> int:
        return self.share(self.subscriber_rate, hours)

    def retention(self) -> tuple[tuple[float, float], ...]:
        """(elapsed ratio, audience watch ratio) at YouTube's 100 points."""
        out = []
        for x in RATIOS:
            t = x * self.duration_s
            r = 1 - (1 - self.hook) * t / 3 if t <= 3 else self.hook - (self.hook - self.end) * (t - 3) / (
                self.duration_s - 3)
            out.append((x, round(r, 4)))
        return tuple(out)

    def avg_view_ratio(self) -> float:
        return round(sum(r for _, r in self.retention()) / len(RATIOS), 4)

    def avg_view_seconds(self) -> float:
        return round(self.avg_view_ratio() * self.duration_s, 3)

    def watch_seconds(self, hours: float) -> float:
        return round(self.views(hours) * self.avg_view_seconds(), 3)

    def cut_hook(self, to: float = 0.3) -> None:
        """Plant a hook that lost them: only ``to`` still watching at 3 seconds."""
        self.hook = to
        self.end = min(self.end, to * 0.6)


@dataclass
class AudienceModel:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    youtube_lag_h: float = 48.0
    instagram_empty_under_h: float = 3.0
    posts: dict[str, Audience] = field(default_factory=dict)

    def add(self, remote_id: str, posted_at: datetime, **kw) -> Audience:
        self.posts[remote_id] = Audience(remote_id, posted_at, **kw)
        return self.posts[remote_id]

    def hours(self, remote_id: str) -> float:
        return (self.now - self.posts[remote_id].posted_at).total_seconds() / 3600

    # -- YouTube
    def youtube_video(self, video_id: str, parts: list[str]) -> dict | None:
        a = self.posts.get(video_id)
        if a is None:
            return None
        h = self.hours(video_id)
        item: dict = {"kind": "youtube#video", "id": video_id}
        if "statistics" in parts:
            item["statistics"] = {"viewCount": str(a.views(h)), "likeCount": str(a.likes(h)), "favoriteCount": "0",
                                  "commentCount": str(a.comments(h))}
        if "contentDetails" in parts:
            item["contentDetails"] = {"duration": iso_duration(a.duration_s), "dimension": "2d",
                                      "definition": "hd", "caption": "false", "licensedContent": False}
        if "snippet" in parts:
            item["snippet"] = {"title": a.title}
        return item

    def youtube_report(self, q: dict) -> tuple[int, dict]:
        """reports.query: (HTTP status, body). Checks what Google checks that a client could get wrong."""
        metrics = [m for m in q.get("metrics", "").split(",") if m]
        dims = [d for d in q.get("dimensions", "").split(",") if d]
        unknown = [m for m in metrics if m not in YOUTUBE_METRICS]
        if q.get("ids") != "channel==MINE" or not metrics or unknown:
            return 400, _google_error(400, "badRequest", f"Unknown identifier ({unknown or q.get('ids')}).")
        try:
            start, end = date.fromisoformat(q["startDate"]), date.fromisoformat(q["endDate"])
        except (KeyError, ValueError):
            return 400, _google_error(400, "badRequest", "startDate and endDate are required, as YYYY-MM-DD.")
        if start > end:
            return 400, _google_error(400, "badRequest", "startDate is after endDate.")
        if "audienceWatchRatio" in metrics and dims != ["elapsedVideoTimeRatio"]:
            return 400, _google_error(400, "badRequest", "audienceWatchRatio needs dimensions=elapsedVideoTimeRatio.")
        video = q.get("filters", "").removeprefix("video==")
        headers = [{"name": d, "columnType": "DIMENSION", "dataType": "FLOAT"} for d in dims] + \
                  [{"name": m, "columnType": "METRIC", "dataType": "FLOAT" if m.startswith("average") or
                    m == "audienceWatchRatio" else "INTEGER"} for m in metrics]
        body: dict = {"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers}
        a = self.posts.get(video)
        if a is None or self.hours(video) < self.youtube_lag_h:
            return 200, body  # no data (yet): Google leaves "rows" out
        h = self.hours(video)
        if dims == ["elapsedVideoTimeRatio"]:
            body["rows"] = [[x, r] for x, r in a.retention()]
            return 200, body
        value = {"views": a.views(h), "engagedViews": a.engaged_views(h), "likes": a.likes(h),
                 "shares": a.shares(h), "comments": a.comments(h), "subscribersGained": a.subscribers(h),
                 "estimatedMinutesWatched": round(a.watch_seconds(h) / 60),
                 "averageViewDuration": round(a.avg_view_seconds()),
                 "averageViewPercentage": round(a.avg_view_ratio() * 100, 2)}
        body["rows"] = [[value[m] for m in metrics]]
        return 200, body

    # -- Instagram
    def instagram_insights(self, media_id: str, metrics: list[str]) -> tuple[int, dict]:
        a = self.posts[media_id]
        unknown = [m for m in metrics if m not in INSTAGRAM_METRICS]
        if unknown:
            return 400, {"error": {"message": f"(#100) metric[0] must be one of the following values: "
                                              f"{', '.join(INSTAGRAM_METRICS)}", "type": "OAuthException",
                                   "code": 100, "fbtrace_id": "AfakeTrace"}}
        h = self.hours(media_id)
        if h < self.instagram_empty_under_h:
            return 200, {"data": []}  # too new: an empty set, not zeros
        value = {"views": a.views(h), "reach": a.reach(h), "likes": a.likes(h), "comments": a.comments(h),
                 "shares": a.shares(h), "saved": a.saves(h),
                 "total_interactions": a.likes(h) + a.comments(h) + a.shares(h) + a.saves(h),
                 "ig_reels_avg_watch_time": round(a.avg_view_seconds() * 1000),  # milliseconds
                 "ig_reels_video_view_total_time": round(a.watch_seconds(h) * 1000)}
        return 200, {"data": [{"name": m, "period": "lifetime", "values": [{"value": value[m]}],
                               "title": m.replace("_", " ").title(), "description": "",
                               "id": f"{media_id}/insights/{m}/lifetime"} for m in metrics]}

    # -- TikTok
    def tiktok_videos(self, ids: list[str], fields: list[str]) -> list[dict]:
        out = []
        for video_id in ids:
            a = self.posts.get(video_id)
            if a is None:
                continue
            h = self.hours(video_id)
            full = {"id": video_id, "create_time": int(a.posted_at.timestamp()), "duration": a.duration_s,
                    "title": a.title, "view_count": a.views(h), "like_count": a.likes(h),
                    "comment_count": a.comments(h), "share_count": a.shares(h), "height": 1920, "width": 1080}
            out.append({k: v for k, v in full.items() if k in fields})
        return out


def iso_duration(seconds: int) -> str:
    minutes, s = divmod(int(seconds), 60)
    return "PT" + (f"{minutes}M" if minutes else "") + (f"{s}S" if s or not minutes else "")


def _google_error(code: int, reason: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "errors": [{"reason": reason, "message": message,
                                                                     "domain": "global"}]}}
