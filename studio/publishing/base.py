"""What every platform's publisher is given and must do. The dispatcher (studio/publishing/dispatch.py) claims a due
post and hands its publisher a :class:`Delivery`; the publisher posts it and answers :class:`Posted`, or raises one
of the errors below. The one rule every publisher keeps:

* the platform's handle for this post (YouTube's upload session address, Instagram's container id, ...) is saved
  with ``sink.save_handle`` **before** the step that cannot be undone, and again, marked ``final_sent``, right before
  that step. ``save_handle`` commits before it returns.
* given a delivery whose ``handle`` is not empty (an earlier attempt died, or timed out), the publisher first asks
  the platform through that handle what became of it: done (answer Posted), resumable (resume), never started
  (start again), or unknown after the irreversible step may have happened (raise Unconfirmed). It never starts a
  second post blindly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from models.errors import StudioError


@dataclass(frozen=True)
class PostFiles:
    video: Path
    thumbnail: Path | None = None
    captions: Path | None = None  # SRT


@dataclass(frozen=True)
class PostText:
    title: str
    caption: str  # the whole text as posted: post.json's caption already ends with its hashtags line
    hashtags: tuple[str, ...] = ()  # the same tags as a list, for platforms that take them apart (YouTube's tags)


@dataclass(frozen=True)
class Delivery:
    """One claimed post, as its publisher sees it."""

    post_id: str
    platform: str
    account_id: str  # the connected account's id on the platform (a YouTube channel id)
    files: PostFiles
    text: PostText
    publish_at: datetime  # when it should be public, in UTC (YouTube takes it as publishAt)
    options: dict = field(default_factory=dict)  # privacy, made_for_kids, synthetic_media, category_id
    handle: dict = field(default_factory=dict)  # what an earlier attempt saved; {} = nothing started on the platform


@dataclass(frozen=True)
class Posted:
    remote_id: str  # the platform's id of the post (a YouTube video id)
    url: str
    detail: dict = field(default_factory=dict)  # what the platform answered that the creator may want (privacy, ...)


class Sink(Protocol):
    def save_handle(self, handle: dict) -> None:
        """Record the platform's handle for this post, committed before returning. Raises ClaimLost if another
        dispatcher holds the post now (this one must stop)."""

    def progress(self, sent: int, total: int) -> None:
        """Bytes sent so far; renews the claim's lease (raises ClaimLost as above)."""


class Publisher(Protocol):
    platform: str
    # the platform holds a post until its time (YouTube: private + publishAt), and that time can still be moved
    can_reschedule: bool

    def publish(self, delivery: Delivery, access_token: str, sink: Sink) -> Posted: ...

    def reschedule(self, delivery: Delivery, remote_id: str, access_token: str) -> Posted:
        """Move a post the platform holds until ``delivery.publish_at`` (only where ``can_reschedule``)."""


class NoReschedule:
    """For publishers of platforms that do not hold a post for later, or cannot move it once held."""

    can_reschedule = False

    def reschedule(self, delivery: Delivery, remote_id: str, access_token: str) -> Posted:
        raise Refused("This platform cannot move a post it already holds.",
                      "Delete it in the platform's own app and schedule it again.")


class PublishError(StudioError):
    code = "publish_failed"


class Transient(PublishError):
    """A failure worth trying again later (a 5xx, a timeout, a dropped connection). The dispatcher tries again with
    backoff; with a handle saved, the next attempt starts by checking it, so nothing is posted twice."""

    code = "publish_transient"


class Refused(PublishError):
    """The platform refused the post for good (its metadata, its file, the account's standing): not retried."""

    code = "publish_refused"


class AuthRevoked(PublishError):
    """The platform no longer accepts the account's tokens: the connection needs reconnecting."""

    code = "needs_reconnect"


class Unconfirmed(PublishError):
    """The irreversible step may have happened and the platform cannot tell us whether it did. Never retried: the
    creator is asked to check the account (``link``)."""

    code = "unconfirmed"

    def __init__(self, message: str, link: str = "", hint: str = "") -> None:
        super().__init__(message, hint or "Check your account: the post may be there. It will not be sent again.")
        self.link = link


class Deferred(PublishError):
    """Not now, and not a failure: the platform's own limit is reached for now (Instagram's publishing limit, read
    live), or the post is prepared and waits for its time (an Instagram container uploaded ahead). The dispatcher
    puts the post back until ``until`` without counting an attempt; a saved handle stays, and is checked then."""

    code = "deferred"

    def __init__(self, message: str, until: datetime, hint: str = "") -> None:
        super().__init__(message, hint)
        self.until = until


class ClaimLost(Exception):
    """Another dispatcher has taken this post over (this one's lease lapsed): stop without recording anything."""
