"""YouTube's numbers for the metrics puller (studio/analytics/metrics.py), through google-api-python-client with its
bundled discovery documents (no fetch), as studio/publishing/youtube.py builds its client.

Two sources, each its own snapshot:

* ``youtube_data``: the Data API's ``videos.list(part=statistics,contentDetails)``, up to 50 ids a call: viewCount,
  likeCount, commentCount (uint64 as strings; a count the owner hid is absent, so None) and the length
  (``contentDetails.duration``, ISO 8601). It answers from the first hour.
* ``youtube_analytics``: the YouTube Analytics API v2 ``reports.query`` for one video (``ids=channel==MINE``,
  ``filters=video==ID``, posting day to today in Pacific time, Google's reporting day): views, engagedViews,
  estimatedMinutesWatched, averageViewDuration, averageViewPercentage, likes, shares, comments, subscribersGained;
  and the retention curve (``dimensions=elapsedVideoTimeRatio``, ``metrics=audienceWatchRatio``). Analytics lags
  48-72 hours: Google leaves ``rows`` out when it has no data, which is "not yet", never zeros, and nothing is saved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httplib2
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from studio.analytics.metrics import DuePost, Read, Throttled
from studio.publishing.base import AuthRevoked, PublishError, Refused, Transient
from studio.publishing.youtube import error_reason
from studio.settings import PublishSettings

PACIFIC = ZoneInfo("America/Los_Angeles")  # Google's reporting day and quota day
HTTP_TIMEOUT_S = 60
TRANSPORT_ERRORS = (httplib2.HttpLib2Error, OSError)
ANALYTICS_METRICS = ("views", "engagedViews", "estimatedMinutesWatched", "averageViewDuration",
                     "averageViewPercentage", "likes", "shares", "comments", "subscribersGained")
THROTTLE_WAIT = timedelta(minutes=15)  # a 429 without a Retry-After
RATE_REASONS = ("rateLimitExceeded", "userRateLimitExceeded")
_ISO = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


class YouTubeMetrics:
    platform = "youtube"
    label = "YouTube"
    batch = 50  # videos.list takes up to 50 ids
    needs_duration = False

    def __init__(self, settings: PublishSettings) -> None:
        self.settings = settings

    def why_not(self, post: DuePost) -> str | None:
        return None

    def read(self, access_token: str, posts: Sequence[DuePost], now: datetime) -> Read:
        out = Read()
        data = _google("youtube", "v3", self.settings.youtube_api_url, access_token)
        analytics = _google("youtubeAnalytics", "v2", self.settings.youtube_analytics_url, access_token)
        # 1. the Data API's counters for the whole batch (from the first hour)
        # (no maxResults: the reference says it is not supported together with id)
        got = _call(data.videos().list(part="statistics,contentDetails", id=",".join(p.remote_id for p in posts)), now)
        items = {item.get("id"): item for item in got.get("items") or []}
        for p in posts:
            item = items.get(p.remote_id)
            if item is None:
                out.missed[p.post_id] = f"YouTube did not return video {p.remote_id} (deleted, or not this channel's)."
                continue
            stats, details = item.get("statistics") or {}, item.get("contentDetails") or {}
            out.snapshots.append(p.snapshot("youtube_data", now, views=_int(stats.get("viewCount")),
                                            likes=_int(stats.get("likeCount")),
                                            comments=_int(stats.get("commentCount")),
                                            duration=iso_seconds(details.get("duration"))))
        known = {s.post_id: s.duration for s in out.snapshots}
        # 2. Analytics, one video at a time; an empty report is "not yet"
        for p in posts:
            if p.post_id not in known:
                continue
            try:
                snapshot = self._analytics(analytics, p, now, known[p.post_id])
            except Throttled as exc:  # the Data API snapshots read so far are kept; the rest wait
                out.throttled = exc
                for rest in posts[posts.index(p):]:
                    out.missed.setdefault(rest.post_id, f"YouTube Analytics: {exc.message}")
                break
            except AuthRevoked:
                raise
            except PublishError as exc:  # this video's report failed: its Data API snapshot stands
                out.missed[p.post_id] = f"YouTube Analytics: {exc.message}"
                continue
            if snapshot is not None:
                out.snapshots.append(snapshot)
        return out

    def _analytics(self, analytics, p: DuePost, now: datetime, duration: float | None):
        window = {"ids": "channel==MINE", "filters": f"video=={p.remote_id}",
                  "startDate": f"{p.posted_at.astimezone(PACIFIC):%Y-%m-%d}", "endDate": f"{now.astimezone(PACIFIC):%Y-%m-%d}"}
        report = _call(analytics.reports().query(metrics=",".join(ANALYTICS_METRICS), **window), now)
        row = _first_row(report)
        if row is None:
            return None  # Analytics has nothing for it yet (it lags 48-72 h)
        curve = _call(analytics.reports().query(dimensions="elapsedVideoTimeRatio", metrics="audienceWatchRatio",
                                                sort="elapsedVideoTimeRatio", **window), now)
        retention = tuple((float(r[0]), float(r[1])) for r in _rows(curve) if len(r) >= 2
                          and r[0] is not None and r[1] is not None) or None
        minutes, percent = _float(row.get("estimatedMinutesWatched")), _float(row.get("averageViewPercentage"))
        return p.snapshot("youtube_analytics", now, views=_int(row.get("views")),
                          engaged_views=_int(row.get("engagedViews")), likes=_int(row.get("likes")),
                          shares=_int(row.get("shares")), comments=_int(row.get("comments")),
                          subscribers=_int(row.get("subscribersGained")),
                          avg_view_seconds=_float(row.get("averageViewDuration")),
                          avg_view_ratio=None if percent is None else percent / 100,
                          watch_seconds=None if minutes is None else minutes * 60, retention=retention,
                          duration=duration)


def iso_seconds(text: str | None) -> float | None:
    """An ISO 8601 duration as YouTube gives it (``PT1M5S``, ``P1DT2H``) in seconds; None if absent or unreadable."""
    m = _ISO.match(text or "")
    if not m or not any(m.groups()):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in m.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def _google(api: str, version: str, base_url: str, access_token: str):  # -> googleapiclient Resource (untyped)
    http = httplib2.Http(timeout=HTTP_TIMEOUT_S)
    # no refresh on 401: the puller hands in a fresh access token, so a 401 means the connection is revoked
    authed = AuthorizedHttp(Credentials(access_token), http=http, refresh_status_codes=())
    return build(api, version, http=authed, static_discovery=True,  # the bundled discovery document: no fetch
                 client_options={"api_endpoint": base_url.rstrip("/") + "/"})


def _call(request, now: datetime) -> dict:
    try:
        return request.execute()
    except HttpError as exc:
        raise _failure(exc.resp.status, exc.content, now, exc.resp.get("retry-after")) from exc
    except TRANSPORT_ERRORS as exc:
        raise Transient(f"YouTube did not answer ({type(exc).__name__}).", "Read again at the next look.") from exc


def _failure(status: int, content: bytes | str, now: datetime, retry_after: str | None) -> PublishError:
    reason, message = error_reason(content)
    if status == 401:
        return AuthRevoked("YouTube no longer accepts this channel's connection.", "Reconnect the YouTube account.")
    if reason == "quotaExceeded":  # the Google project's daily quota: nothing works until midnight Pacific
        reset = (now.astimezone(PACIFIC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return Throttled("This studio's YouTube API quota for today is spent.", reset.astimezone(now.tzinfo),
                         platform_wide=True)
    if status == 429 or reason in RATE_REASONS:
        seconds = retry_after or ""
        wait = timedelta(seconds=int(seconds)) if seconds.isdigit() else THROTTLE_WAIT
        return Throttled(f"YouTube asks the studio to slow down ({reason or status}).", now + wait)
    if status >= 500:
        return Transient(f"YouTube answered {status} ({message or reason}).", "Read again at the next look.")
    return Refused(f"YouTube refused the request: {message or reason or status}.",
                   "Check that the channel still allows the studio to read its analytics (reconnect it if not).")


def _rows(report: dict) -> list[list]:
    return [r for r in report.get("rows") or [] if isinstance(r, list)]


def _first_row(report: dict) -> dict | None:
    """The report's first row by column name (columnHeaders give the order), or None when there are no rows."""
    rows = _rows(report)
    if not rows:
        return None
    names = [h.get("name") for h in report.get("columnHeaders") or []]
    return dict(zip(names, rows[0], strict=False))


def _int(value) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _float(value) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
