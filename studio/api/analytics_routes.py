"""/api/analytics: the signed-in creator's dashboards, A/B tests and CSV imports (studio.analytics.service). Every
answer is the caller's own: another creator's post or experiment answers 404 exactly like a missing one."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from starlette.concurrency import run_in_threadpool

from studio.analytics import imports
from studio.analytics.imports import MAX_BYTES, ImportRefused, Problem
from studio.analytics.types import Comparison, HeatCell, PostSummary, Reason, Verdict
from studio.api.deps import current_user, hosted
from studio.api.docs import AUTHED, ErrorDetail, errors
from studio.auth.base import Principal
from studio.errors import ApiError, UnsupportedMedia

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

_FIELD_BYTES = 32 * 1024  # one text field of an import (a mapping of a hundred columns fits)
_MAX_FIELDS = 8
_OVERHEAD = 64 * 1024  # boundaries, part headers and the text fields around the file
_FORM = {"platform", "mapping", "date_order", "timezone"}


# -- what the routes take and answer -------------------------------------------------------------------------------


def _row(*columns: tuple[str, str]) -> Any:
    """A fixed-length row, as a JSON array whose columns the schema names in order. (A tuple's ``prefixItems`` is
    OpenAPI 3.1; tools reading the schema as 3.0 take it for an invalid ``items`` list.)"""
    kinds = list(dict.fromkeys(kind for _, kind in columns))
    items = {"type": kinds[0]} if len(kinds) == 1 else {"anyOf": [{"type": kind} for kind in kinds]}
    return Annotated[tuple, WithJsonSchema({"type": "array", "items": items, "minItems": len(columns),
                                            "maxItems": len(columns),
                                            "description": "[" + ", ".join(name for name, _ in columns) + "]"})]


Point = _row(("hours since posting", "number"), ("views", "number"))
Retention = _row(("elapsed ratio", "number"), ("audience watch ratio", "number"))


class StudioOut(BaseModel):
    """My studio (studio.analytics.types.StudioDashboard): each list holds one row per day, stage, engine or code."""

    model_config = ConfigDict(from_attributes=True)
    shorts_per_day: list[_row(("day", "string"), ("shorts made", "integer"))]
    stage_seconds: list[_row(("stage", "string"), ("mean seconds", "number"), ("runs", "integer"))] = Field(
        description="Slowest first.")
    engines: list[_row(("stage", "string"), ("engine", "string"), ("runs", "integer"))]
    cache_hit_rate: float | None = Field(description="hits ÷ (hits + calls) over every stage; null when nothing ran.")
    failures: list[_row(("error code", "string"), ("failed runs", "integer"))]
    savings: list[_row(("day", "string"), ("compute seconds", "number"), ("paid-API USD", "number"))] = Field(
        description="Both cumulative from the window's first day: what the runs used here against what paid APIs "
                    "would have charged for the same work.")
    runs: int


class PostsOut(BaseModel):
    """My posts (studio.analytics.types.PostsDashboard)."""

    model_config = ConfigDict(from_attributes=True)
    posts: list[PostSummary] = Field(description="Newest first, each with its latest snapshot's numbers.")
    curves: dict[str, list[Point]] = Field(description="Post id → views at each hour mark since posting.")
    median_curve: list[Point] = Field(description="Your own median views at each hour mark.")
    retention: dict[str, list[Retention]] = Field(description="Post id → its latest retention curve.")
    heatmap: list[HeatCell] = Field(description="Every weekday (0 = Monday) × hour in ``timezone``: the posts "
                                    "behind it, and their median views 24 h in (null: too few posts to say).")
    comparisons: list[Comparison] = Field(description="By template, voice, hook style, length and platform.")
    timezone: str
    min_posts_per_cell: int


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=200, description="What is tested (default \"A/B test\").")
    short_ids: list[str] = Field(min_length=2, max_length=3, description="Two or three of your shorts, the variants "
                                 "A, B (and C) in this order: a short and the variants made from its timeline.")
    alpha: float = Field(default=0.05, ge=0.001, le=0.2, description="The false-positive rate the sequential test "
                         "holds however often the dashboard looks.")


class Variant(BaseModel):
    label: str
    short_id: str


class ExperimentOut(BaseModel):
    id: str
    name: str
    alpha: float
    variants: list[Variant]
    created_at: str


class ExperimentVerdictOut(ExperimentOut):
    verdict: Verdict


class ExperimentsOut(BaseModel):
    experiments: list[ExperimentOut]


class WhyOut(BaseModel):
    post_id: str
    below_baseline: bool = Field(description="The post's views are below the median of your other posts at the same "
                                 "hour since posting.")
    reasons: list[Reason] = Field(description="Worst first; empty when the post is not below your baseline, or when "
                                  "it is but no rule finds a cause in the numbers at hand.")


class PreviewOut(BaseModel):
    platform: Literal["youtube", "tiktok"] | None = Field(description="Read from the header; null when it does not "
                                                          "say (then send platform with the import).")
    encoding: str
    delimiter: str
    header: list[str]
    mapping: dict[str, str] = Field(description="Column → field, proposed from the columns' names. Send it back, "
                                    "changed as you like, with POST /api/analytics/imports.")
    fields: dict[str, str] = Field(description="Every field a column can be mapped to, with what it holds.")
    rows: list[dict[str, Any]] = Field(description="The first rows as they would be imported, by field.")
    sample: list[list[str]] = Field(description="The same rows as the file has them.")
    data_rows: int
    problems: list[Problem] = Field(description="Per row (the header is row 1) or per column; skipped rows say so.")
    can_import: bool
    refused: str | None = Field(description="Why this mapping cannot import the file, naming the columns missing.")
    id_from: str
    decimal: str


class ImportOut(BaseModel):
    platform: str
    stored: int = Field(description="Snapshots new to your analytics; 0 when the same file was imported today.")
    read: int = Field(description="Rows read as snapshots (stored now or before).")
    rows_read: int
    skipped_rows: list[int]
    problems: list[Problem]
    columns: dict[str, str] = Field(description="Column → the field it filled, or why it was left out.")


class RefusedDetail(ErrorDetail):
    reason: str | None = Field(default=None, description="With code import_refused: not_csv (415), too_large or "
                               "too_many_rows (413), empty, unmapped, mapping, no_rows, platform, date_order (422).")


class RefusedBody(BaseModel):
    error: RefusedDetail


def import_refused(_request: Request, exc: ImportRefused) -> JSONResponse:
    """The app's handler for ImportRefused: the usual error body, with the refusal's ``reason``."""
    detail = {"code": exc.code, "message": exc.message, **({"hint": exc.hint} if exc.hint else {}),
              "reason": exc.reason}
    return JSONResponse({"error": detail}, status_code=exc.status)


def _refusals(*statuses: int) -> dict:
    out = errors(*statuses)
    for status in statuses:
        if status in (413, 415, 422):
            out[status] = {**out[status], "model": RefusedBody}
    return out


_CSV_FORM = {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary", "description": f"A YouTube Studio or TikTok Studio CSV export, at "
             f"most {MAX_BYTES // 2**20} MB; what it is, is read from its bytes."},
    "platform": {"type": "string", "enum": ["youtube", "tiktok"],
                 "description": "Which Studio wrote it, when the header does not say."}}}
_PREVIEW_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _CSV_FORM}}}}
_IMPORT_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    **_CSV_FORM, "properties": {
        **_CSV_FORM["properties"],
        "mapping": {"type": "string", "description": 'Column → field as a JSON object, e.g. {"Content": "remote_id", '
                    '"Views": "views", "Impressions": "ignore"}. Default: the preview\'s proposal.'},
        "date_order": {"type": "string", "enum": ["dmy", "mdy"],
                       "description": "How to read dates such as 03/11/2026 when no date in the column tells."},
        "timezone": {"type": "string", "description": "IANA zone the dates were written in (the Studios write the "
                     "channel's local time); default UTC."}}}}}}}
_TIMEZONE = Query(default="UTC", max_length=64, description="IANA time zone posts are placed in (the heatmap's "
                  "days and hours), e.g. Europe/Berlin.")


def _zone(timezone: str, where: str = "query") -> str:
    """The time zone, refused as FastAPI refuses a bad parameter (422 naming ``timezone``)."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _invalid(where, "timezone", "unknown time zone; use an IANA name such as Europe/Berlin") from None
    return timezone


def _invalid(where: str, name: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": (where, name), "msg": message, "type": "value_error"}])


# -- dashboards -------------------------------------------------------------------------------------------------------


@router.get("/studio", summary="My studio", responses=errors(*AUTHED, 422))
def studio_dashboard(request: Request, days: int = Query(default=30, ge=1, le=366, description="UTC days up to "
                     "today."), who: Principal = Depends(current_user)) -> StudioOut:
    """Your runs over the last ``days``: shorts made per day, mean seconds per stage, which engines ran, the cache hit
    rate, failed runs by error code, and compute seconds against what paid APIs would have charged (cumulative)."""
    return StudioOut.model_validate(hosted(request).analytics.studio(who.user_id, days))


@router.get("/posts", summary="My posts", responses=errors(*AUTHED, 422))
def posts_dashboard(request: Request, timezone: str = _TIMEZONE,
                    who: Principal = Depends(current_user)) -> PostsOut:
    """Every post with its latest numbers; views by hours since posting per post (``curves``, keyed by post id)
    against your own median curve; retention curves with the 3-second hook retention; the best-hours heatmap (weekday
    0 = Monday × hour, in ``timezone``; ``median_views`` is null where fewer than ``min_posts_per_cell`` posts are
    behind a cell); and comparisons by template, voice, hook style, length and platform. An imported video the studio
    did not post is keyed ``platform:remote_id``."""
    return PostsOut.model_validate(hosted(request).analytics.posts(who.user_id, _zone(timezone)))


@router.get("/posts/{post_id}/why", summary="Why did this one flop?", responses=errors(*AUTHED, 404, 422))
def why(request: Request, post_id: str = Path(max_length=200), timezone: str = _TIMEZONE,
        who: Principal = Depends(current_user)) -> WhyOut:
    """For a post below your own baseline, plain reasons computed from its numbers, each with the numbers and a
    suggestion: early velocity, the hook's 3-second retention, the average watch ratio, the posting hour against your
    best hours, the length against your best lengths."""
    reasons = hosted(request).analytics.why(who.user_id, post_id, _zone(timezone))
    return WhyOut(post_id=post_id, below_baseline=reasons is not None, reasons=list(reasons or ()))


# -- A/B tests --------------------------------------------------------------------------------------------------------


@router.post("/experiments", status_code=201, summary="Start an A/B test",
             responses=errors(400, *AUTHED, 404, 422))
def new_experiment(body: ExperimentIn, request: Request, who: Principal = Depends(current_user)) -> ExperimentOut:
    """Two or three of your shorts (a short and its variants: another hook, thumbnail or caption) as one experiment.
    Post each variant as usual; the verdict follows their snapshots. A short that is not yours is a 404."""
    return hosted(request).analytics.new_experiment(who.user_id, body.name, body.short_ids, body.alpha)


@router.get("/experiments", summary="My A/B tests", responses=errors(*AUTHED))
def list_experiments(request: Request, who: Principal = Depends(current_user)) -> ExperimentsOut:
    """Your experiments, newest first."""
    return ExperimentsOut(experiments=hosted(request).analytics.experiments(who.user_id))


@router.get("/experiments/{experiment_id}", summary="An A/B test and its verdict", responses=errors(*AUTHED, 404, 422))
def get_experiment(request: Request, experiment_id: str = Path(max_length=64),
                   who: Principal = Depends(current_user)) -> ExperimentVerdictOut:
    """The experiment and where it stands after the latest snapshot: each variant's posts, views and engagement rate,
    and ``leader`` only when a sequential test says the lead is real at ``alpha`` however often it has been looked at
    (``said`` tells what is still missing otherwise)."""
    analytics = hosted(request).analytics
    verdict = analytics.verdict(who.user_id, experiment_id)  # 404 for another creator's or a missing experiment
    found = next(e for e in analytics.experiments(who.user_id) if e["id"] == experiment_id)
    return ExperimentVerdictOut(**found, verdict=verdict)


@router.delete("/experiments/{experiment_id}", status_code=204, response_class=Response, summary="Delete an A/B test",
               responses=errors(*AUTHED, 404, 422))
def delete_experiment(request: Request, experiment_id: str = Path(max_length=64),
                      who: Principal = Depends(current_user)) -> Response:
    """Forget the experiment; its shorts and posts stay."""
    hosted(request).analytics.delete_experiment(who.user_id, experiment_id)
    return Response(status_code=204)


# -- CSV imports ------------------------------------------------------------------------------------------------------


@router.post("/imports/preview", summary="Preview a CSV import", openapi_extra=_PREVIEW_BODY,
             responses=_refusals(400, *AUTHED, 413, 415, 422))
async def preview_import(request: Request, who: Principal = Depends(current_user)) -> PreviewOut:
    """Read a YouTube Studio or TikTok Studio CSV export (multipart part ``file``): its encoding, delimiter, header,
    which Studio wrote it, the mapping of columns to fields proposed by their names, the first rows as they would be
    imported, and every problem by row or column. Nothing is stored. A file that is not a readable table is refused
    (``reason``); one that is, but cannot be imported with the proposed mapping, answers ``can_import: false`` and
    ``refused`` says why."""
    data, form = await _receive_csv(request)
    platform = _choice(form, "platform", ("youtube", "tiktok"))
    p = await run_in_threadpool(imports.preview, data, platform_hint=platform)
    return PreviewOut(platform=p.platform, encoding=p.encoding, delimiter=p.delimiter, header=list(p.header),
                      mapping=p.mapping, fields={k: v[1] for k, v in imports.FIELDS.items()}, rows=list(p.rows),
                      sample=[list(r) for r in p.sample], data_rows=p.data_rows, problems=list(p.problems),
                      can_import=p.can_import, refused=p.refused, id_from=p.id_from, decimal=p.decimal)


@router.post("/imports", status_code=201, summary="Import a CSV", openapi_extra=_IMPORT_BODY,
             responses=_refusals(400, *AUTHED, 413, 415, 422))
async def import_csv(request: Request, who: Principal = Depends(current_user)) -> ImportOut:
    """Import every row of the CSV (part ``file``) as a snapshot of that video's numbers, with ``mapping`` (a JSON
    object column → field; default: the preview's proposal), in one transaction: a failed import stores nothing, and
    importing the same file again the same day stores nothing twice. Bad rows are skipped and listed by row number;
    a file nothing can be imported from is refused with the ``reason``."""
    data, form = await _receive_csv(request)
    platform = _choice(form, "platform", ("youtube", "tiktok"))
    date_order = _choice(form, "date_order", ("dmy", "mdy"))
    timezone = _zone(form.get("timezone") or "UTC", "body")
    mapping = _mapping(form.get("mapping"))
    analytics = hosted(request).analytics

    def run() -> tuple[imports.ImportResult, int]:
        nonlocal platform, mapping
        if platform is None or mapping is None:
            proposed = imports.preview(data)
            if platform is None and proposed.platform is None:
                raise _invalid("body", "platform", "the header does not say which Studio wrote the file: send "
                               "platform (youtube or tiktok)")
            platform, mapping = platform or proposed.platform, proposed.mapping if mapping is None else mapping
        return analytics.import_csv(who.user_id, data, mapping, platform=platform, date_order=date_order,
                                    timezone=timezone)

    result, stored = await run_in_threadpool(run)
    return ImportOut(platform=result.platform, stored=stored, read=len(result.snapshots), rows_read=result.rows_read,
                     skipped_rows=list(result.skipped_rows), problems=list(result.problems), columns=result.columns)


def _choice(form: dict[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = form.get(name) or None
    if value is not None and value not in allowed:
        raise _invalid("body", name, f"must be one of {', '.join(allowed)}")
    return value


def _mapping(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _invalid("body", "mapping", 'must be a JSON object of column names to fields, e.g. {"Views": "views"}')
    return value


async def _receive_csv(request: Request) -> tuple[bytes, dict[str, str]]:
    """The multipart body's ``file`` part, held in memory and refused as soon as it passes the import limit (so a
    2 GB upload is never read whole), and its few small text fields."""
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES + _OVERHEAD:
        raise _too_large(int(declared))
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UnsupportedMedia("Send the CSV as multipart/form-data with a part named 'file'.", code="not_multipart")
    part: dict[str, Any] = {"headers": {}, "field": b"", "name": "", "value": bytearray()}
    files: list[bytearray] = []
    form: dict[str, str] = {}
    parts = 0

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        key = part["field"].lower()
        part["headers"][key] = part["headers"].get(key, b"") + data[start:end]

    def on_header_end() -> None:
        part["field"] = b""

    def on_headers_finished() -> None:
        nonlocal parts
        parts += 1
        if parts > 1 + _MAX_FIELDS:
            raise ApiError(f"The upload has too many parts (the file and at most {_MAX_FIELDS} fields).",
                           code="too_many_parts")
        _, disposition = parse_options_header(part["headers"].get(b"content-disposition", b""))
        part["name"] = disposition.get(b"name", b"").decode("utf-8", "replace")
        if part["name"] == "file":
            if files:
                raise ApiError("Send one CSV file per import.", code="one_file_per_upload")
            files.append(bytearray())
            part["value"] = files[-1]
        else:
            part["value"] = bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part["value"] += data[start:end]
        if part["name"] == "file" and len(part["value"]) > MAX_BYTES:
            raise _too_large(None)
        if part["name"] != "file" and len(part["value"]) > _FIELD_BYTES:
            raise ApiError(f"The form field {part['name'][:40]!r} is too long.", code="field_too_large")

    def on_part_end() -> None:
        if part["name"] in _FORM:
            form[part["name"]] = bytes(part["value"]).decode("utf-8", "replace").strip()
        part["headers"] = {}

    parser = MultipartParser(boundary, {
        "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_part_end": on_part_end})
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > MAX_BYTES + _OVERHEAD:  # a chunked body has no Content-Length to refuse up front
                raise _too_large(None)
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        raise ApiError("The upload is not well-formed multipart/form-data.", code="malformed_upload") from None
    if not files:
        raise _invalid("body", "file", "send the CSV as a part named 'file'")
    return bytes(files[0]), form


def _too_large(size: int | None) -> ImportRefused:
    said = f"The upload is {size / 2**20:.1f} MB" if size else "The upload is too large"
    return ImportRefused("too_large", f"{said}; imports take at most {MAX_BYTES // 2**20} MB.",
                         "Export a shorter date range, or fewer columns.")
