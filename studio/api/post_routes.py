"""/api/posts: schedule a short to a connected account, list, reschedule and cancel (studio.publishing.posts); and a
connection's preset time slots."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from models.errors import InvalidRequest
from studio.api.deps import current_user, hosted
from studio.api.docs import AUTHED, errors
from studio.auth.base import Principal
from studio.publishing.posts import PostSpec

router = APIRouter(prefix="/api", tags=["posts"])


class PostTextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(default="", max_length=10_000)
    caption: str = Field(default="", max_length=10_000)
    hashtags: list[str] = Field(default_factory=list, max_length=60)


class PostOptionsIn(BaseModel):
    """Each platform takes its own: an option another platform's post takes is refused, naming it."""

    model_config = ConfigDict(extra="forbid")
    synthetic_media: bool | None = Field(default=None, description="Declares AI-made content (YouTube's "
                                         "containsSyntheticMedia, TikTok's is_aigc). On by default: the studio's "
                                         "shorts are AI-made.")
    privacy: Literal["public", "unlisted", "private"] | None = Field(default=None, description="YouTube.")
    made_for_kids: bool | None = Field(default=None, description="YouTube asks every upload; required there.")
    share_to_feed: bool | None = Field(default=None, description="Instagram: also show the Reel in the profile's "
                                       "feed grid (default true).")
    privacy_level: Literal["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"] | None = \
        Field(default=None, description="TikTok, required: one of the levels GET /api/connections/{id}/posting lists "
                                        "for the account now (no default).")
    allow_comment: bool | None = Field(default=None, description="TikTok (default false; off if the creator turned "
                                       "comments off).")
    allow_duet: bool | None = Field(default=None, description="TikTok (default false).")
    allow_stitch: bool | None = Field(default=None, description="TikTok (default false).")
    brand_organic: bool | None = Field(default=None, description="TikTok: promotes the creator's own business.")
    brand_content: bool | None = Field(default=None, description="TikTok: paid partnership (not with SELF_ONLY).")

    def given(self) -> dict:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    short_id: str = Field(max_length=32)
    connection_id: str = Field(max_length=32)
    local_time: str = Field(max_length=32, description="Wall-clock time where the creator is: 2026-12-24T09:00.")
    timezone: str = Field(max_length=64, description="IANA time zone of local_time, e.g. Europe/Berlin.")
    text: PostTextIn | None = Field(default=None, description="Omit for the platform's text from the short's post.json.")
    options: PostOptionsIn = Field(default_factory=PostOptionsIn)


class PostPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    local_time: str | None = Field(default=None, max_length=32)
    timezone: str | None = Field(default=None, max_length=64)
    text: PostTextIn | None = None
    options: PostOptionsIn | None = None


class SlotsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slots: list[str] = Field(max_length=24, description='Times of day in the creator\'s zone, e.g. ["09:00", "18:30"].')


@router.post("/posts", status_code=201, responses=errors(400, *AUTHED, 404, 409, 422))
def schedule_post(body: PostIn, request: Request, who: Principal = Depends(current_user),
                  idempotency_key: str | None = Header(default=None, max_length=200)) -> JSONResponse:
    """Schedule a short to one of your connected accounts. Send an `Idempotency-Key` header to make retrying safe:
    the same key and body answer the post made the first time (200), a different body with it is 409."""
    spec = PostSpec(short_id=body.short_id, connection_id=body.connection_id, local_time=body.local_time,
                    timezone=body.timezone, text=body.text.model_dump() if body.text else None,
                    options=body.options.given())
    post, made = hosted(request).posts.schedule(who.user_id, spec, idempotency_key)
    return JSONResponse(post, status_code=201 if made else 200)


def _when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{name}: {value[:40]!r} is not a date and time.", "Send ISO 8601 with an offset.") from None
    if at.tzinfo is None:
        raise InvalidRequest(f"{name}: give the time with its offset (Z for UTC).", "e.g. 2026-12-01T00:00:00Z.")
    return at


@router.get("/posts", responses=errors(*AUTHED, 422))
def list_posts(request: Request, who: Principal = Depends(current_user),
               start: str | None = Query(default=None, alias="from", description="ISO 8601 with offset."),
               end: str | None = Query(default=None, alias="to"), status: str | None = None) -> dict:
    return {"posts": hosted(request).posts.list(who.user_id, _when(start, "from"), _when(end, "to"), status)}


@router.get("/posts/{post_id}", responses=errors(*AUTHED, 404))
def get_post(post_id: str, request: Request, who: Principal = Depends(current_user)) -> dict:
    return hosted(request).posts.get(who.user_id, post_id)


@router.patch("/posts/{post_id}", responses=errors(400, *AUTHED, 404, 409, 422))
def change_post(post_id: str, body: PostPatch, request: Request, who: Principal = Depends(current_user)) -> dict:
    """Reschedule (local_time and/or timezone), or change the text or options, while the post waits. A failed post
    changed is tried again."""
    return hosted(request).posts.reschedule(
        who.user_id, post_id, local_time=body.local_time, timezone=body.timezone,
        text=body.text.model_dump() if body.text else None, options=body.options.given() if body.options else None)


@router.delete("/posts/{post_id}", responses=errors(*AUTHED, 404, 409))
def cancel_post(post_id: str, request: Request, who: Principal = Depends(current_user)) -> dict:
    """Cancel a post that has not started posting; answers it, cancelled. One being uploaded is a 409."""
    return hosted(request).posts.cancel(who.user_id, post_id)


@router.get("/connections/{connection_id}/posting", responses=errors(*AUTHED, 404, 409, 503))
def posting_options(connection_id: str, request: Request, who: Principal = Depends(current_user)) -> dict:
    """What a post to this account may choose, asked from the platform now where it has such a thing (TikTok's
    creator_info: the creator's nickname, the privacy levels allowed, the longest video, interactions turned off)."""
    return hosted(request).posts.posting_info(who.user_id, connection_id)


@router.put("/connections/{connection_id}/slots", responses=errors(400, *AUTHED, 404, 422))
async def set_slots(connection_id: str, body: SlotsIn, request: Request,
                    who: Principal = Depends(current_user)) -> dict:
    """Preset posting times for an account: the Calendar offers them when you schedule."""
    return {"slots": await run_in_threadpool(hosted(request).posts.set_slots, who.user_id, connection_id, body.slots)}



