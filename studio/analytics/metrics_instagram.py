"""Instagram's numbers for the metrics puller (studio/analytics/metrics.py): a Reel's insights through the Graph
client of studio/publishing/meta.py (Instagram API with Instagram Login; the connection's scope
instagram_business_manage_insights).

``GET /<media-id>/insights?metric=views,reach,likes,comments,shares,saved,ig_reels_avg_watch_time,
ig_reels_video_view_total_time`` answers ``{"data": [{"name", "period": "lifetime", "values": [{"value"}], ...}]}``.
Meta's documented limits: data that does not exist yet or is unavailable comes back as an empty set, never as 0, and
can be up to 48 hours late. So an empty ``data`` list is a snapshot of nulls, and a metric missing from the answer is
null. Both watch times are in milliseconds; they are stored as seconds. Instagram does not say how long the Reel is:
the average view ratio is the average watch time over the short's own length (its report.json), when known.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from studio.analytics.metrics import DuePost, Read, Throttled
from studio.publishing.base import Deferred, Refused
from studio.publishing.meta import Graph
from studio.settings import PublishSettings

METRICS = ("views", "reach", "likes", "comments", "shares", "saved", "ig_reels_avg_watch_time",
           "ig_reels_video_view_total_time")


class InstagramMetrics:
    platform = "instagram"
    label = "Instagram"
    batch = 25  # one insights call per Reel; a batch only bounds how much is read before saving
    needs_duration = True

    def __init__(self, settings: PublishSettings) -> None:
        self.settings = settings

    def why_not(self, post: DuePost) -> str | None:
        return None

    def read(self, access_token: str, posts: Sequence[DuePost], now: datetime) -> Read:
        out = Read()
        with Graph(self.settings.instagram_graph_url, access_token, "Instagram") as graph:
            for p in posts:
                try:
                    answer = graph.get(f"{p.remote_id}/insights", metric=",".join(METRICS))
                except Deferred as exc:  # Graph's rate-limit codes (4, 17, 32, 613)
                    wait = max(exc.until - datetime.now(UTC), timedelta(minutes=1))
                    raise Throttled(exc.message, now + wait) from None
                except Refused as exc:  # this Reel only (deleted, or not this account's): the others go on
                    out.missed[p.post_id] = exc.message
                    continue
                out.snapshots.append(self._snapshot(p, answer, now))
        return out

    @staticmethod
    def _snapshot(p: DuePost, answer: dict, now: datetime):
        values = insight_values(answer)
        avg_ms, total_ms = values.get("ig_reels_avg_watch_time"), values.get("ig_reels_video_view_total_time")
        avg_s = None if avg_ms is None else avg_ms / 1000
        ratio = avg_s / p.duration if avg_s is not None and p.duration else None
        return p.snapshot("instagram", now, views=_int(values.get("views")), reach=_int(values.get("reach")),
                          likes=_int(values.get("likes")), comments=_int(values.get("comments")),
                          shares=_int(values.get("shares")), saves=_int(values.get("saved")), avg_view_seconds=avg_s,
                          watch_seconds=None if total_ms is None else total_ms / 1000, avg_view_ratio=ratio)


def insight_values(answer: dict) -> dict[str, float]:
    """Metric name → its lifetime value, for the metrics the answer carries (``values[0].value``; a
    ``total_value.value`` where Meta answers in that shape instead)."""
    out: dict[str, float] = {}
    for item in answer.get("data") or []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        values = item.get("values")
        value = values[0].get("value") if isinstance(values, list) and values and isinstance(values[0], dict) \
            else (item.get("total_value") or {}).get("value")
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[str(item["name"])] = value
    return out


def _int(value: float | None) -> int | None:
    return None if value is None else int(round(value))
