"""/api/batches: many shorts queued at once (studio.batches), their progress and their summary CSV."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from studio import batches
from studio.api.deps import current_user, hosted, links
from studio.api.docs import AUTHED, ErrorDetail, errors
from studio.auth.base import Principal
from studio.errors import TooLarge, UnsupportedMedia

router = APIRouter(prefix="/api", tags=["batches"])


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shorts: list[Any] = Field(min_length=1, max_length=batches.MAX_ROWS, description=(
        "One object per short, with the fields of POST /api/shorts (ShortIn). Each is checked on its own: a bad "
        "one is reported by its row, the first short being row 1."))
    skip_bad: bool = Field(default=False, description="Queue the good shorts and report the bad ones as refused, "
                           "instead of refusing the batch.")
    name: str = Field(default="", max_length=200)


class RowErrors(BaseModel):
    row: int
    errors: list[str]


class BadRowsDetail(ErrorDetail):
    rows: list[RowErrors] | None = Field(default=None, description="With code bad_rows: every row that cannot be made.")


class BadRowsBody(BaseModel):
    error: BadRowsDetail


def _json_schema() -> dict:
    """BatchIn's schema, its shorts described by ShortIn's (in the schema's components through POST /api/shorts)."""
    schema = BatchIn.model_json_schema()
    schema["properties"]["shorts"]["items"] = {"$ref": "#/components/schemas/ShortIn"}
    return schema


_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": _json_schema()},
    "text/csv": {"schema": {"type": "string", "description": (
        "UTF-8 CSV. Its header row names request fields (topic, script, platform, duration, voice, template, "
        "language, profile, seed, safety); one short per row after it. Rows are counted as a spreadsheet does: "
        "the header is row 1.")}}}}}
_REFUSED: dict[int | str, dict[str, Any]] = {422: {"model": BadRowsBody, "description": (
    "A field is missing or invalid, or (code bad_rows) some rows cannot be made: each is listed with its errors; "
    "nothing was queued or charged.")}}


def batch_body(request: Request, b: batches.BatchStatus) -> dict:
    body = b.as_dict()
    for job, made in zip(body["jobs"], b.jobs, strict=True):
        job["files"] = links(request, made.files) if made.files else {}
    return body


async def _read(request: Request, limit: int) -> bytes:
    """The body, refused past the server's body limit (STUDIO_MAX_BODY_KB) even when the API runs without it."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"The request body is larger than {limit // 1024} KB.", "Send the batch in smaller parts.",
                           code="body_too_large")
    return bytes(data)


@router.post("/batches", status_code=202, responses={**errors(400, *AUTHED, 404, 413, 415, 429, 503), **_REFUSED},
             openapi_extra=_BODY)
async def create_batch(request: Request, skip_bad: bool = False, name: str = Query(default="", max_length=200),
                       who: Principal = Depends(current_user)) -> dict:
    """Queue many shorts: a JSON ``{"shorts": [...], "skip_bad", "name"}`` or a CSV body (``Content-Type:
    text/csv``, with ``?skip_bad=true&name=...``). Every short is checked first, as POST /api/shorts checks one; a bad
    one refuses the batch (422 ``bad_rows`` listing each row), unless ``skip_bad``, when it is kept as refused. The
    quota is spent for every queued short or, if it cannot cover them all, for none (429 ``quota_exceeded``).
    Follow the batch with GET /api/batches/{id}."""
    h = hosted(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/json", "text/csv"):
        raise UnsupportedMedia("Send the batch as JSON (application/json) or as CSV (text/csv).",
                               code="unsupported_body")
    data = await _read(request, h.server.max_body_kb * 1024)
    if kind == "text/csv":
        rows = batches.csv_rows(batches.decode_csv(data))
    else:
        body = _batch_in(data)
        rows, skip_bad, name = batches.json_rows(body.shorts), skip_bad or body.skip_bad, body.name or name
    # checking every row plans every short and reads the database: off the event loop
    return await run_in_threadpool(lambda: batch_body(request, batches.queue(h, who.user_id, rows, skip_bad=skip_bad,
                                                                             name=name)))


def _batch_in(data: bytes) -> BatchIn:
    """The JSON body, refused as FastAPI refuses a body it parses itself (422 ``invalid_body`` naming the fields)."""
    try:
        return BatchIn.model_validate_json(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


@router.get("/batches/{batch_id}", responses=errors(*AUTHED, 404, 422))
def get_batch(batch_id: str, request: Request, who: Principal = Depends(current_user)) -> dict:
    """The batch's progress (the mean of its jobs', a finished job counting as whole), its counts per status and
    each job's row, status, progress, stage, error and short, with the refused rows."""
    return batch_body(request, batches.status(hosted(request), who.user_id, batch_id))


@router.get("/batches/{batch_id}/summary.csv", responses={
    200: {"content": {"text/csv": {"schema": {"type": "string"}}},
          "description": "row, status, job_id, short_id, title, video (a download link), error_code, error_message; "
                         "one line per row, refused rows included."}, **errors(*AUTHED, 404, 422)},
            response_class=Response)
def batch_summary(batch_id: str, request: Request, who: Principal = Depends(current_user)) -> Response:
    """The batch as a CSV: one line per row, refused rows included (status ``refused``)."""
    made = batches.status(hosted(request), who.user_id, batch_id)
    text = batches.summary_csv(made, lambda job: links(request, job.files).get("short.mp4", ""))
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="batch-{made.id}.csv"'})
