"""``studio analytics …``: the dashboards as tables (and, with --png, the figures as PNG files), A/B tests, CSV imports
and the researchers' Parquet export, on this machine's metadata database (the same STUDIO_HOME / STUDIO_DATABASE_URL
as ``studio serve``). Without --user a command shows this machine's own CLI and Python API runs; with --user EMAIL,
that hosted account's."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.table import Column, Table

from models.errors import InvalidRequest, StudioError
from studio.remedies import print_for_cli

app = typer.Typer(help="Analytics: my studio, my posts, why a post flopped, A/B tests, CSV imports, the Parquet export.",
                  no_args_is_help=True)
ab_app = typer.Typer(help="A/B tests: two or three variants of a short, and which one leads.", no_args_is_help=True)
app.add_typer(ab_app, name="ab")
console = Console(stderr=True)
out = Console()

User = Annotated[Optional[str], typer.Option("--user", metavar="EMAIL", help="A hosted account's data (default: this "
                                             "machine's own CLI and Python API runs).")]
Png = Annotated[Optional[Path], typer.Option("--png", metavar="DIR", help="Also write the figures as PNG files here.")]
Zone = Annotated[str, typer.Option("--timezone", help="IANA time zone posts are placed in, e.g. Europe/Berlin.")]


class CsvPlatform(StrEnum):
    youtube = "youtube"
    tiktok = "tiktok"


class DateOrder(StrEnum):
    dmy = "dmy"
    mdy = "mdy"


def _fail(exc: StudioError) -> NoReturn:
    print_for_cli(console, exc)
    raise typer.Exit(2) from None


class _Local:
    """The analytics service on this machine's metadata database, and whose data the command is about."""

    def __init__(self, user: str | None = None) -> None:
        from studio.analytics.service import Analytics
        from studio.db import Database
        from studio.settings import Settings

        self.settings = Settings.from_env()
        self.db = Database.for_home(self.settings.home, self.settings.server.database_url)
        self.db.migrate()
        self.analytics = Analytics(self.db, self.settings.home / "analytics")
        self.owner = self._account(user) if user else None
        self.whose = user.strip().lower() if user else "this machine's own runs"

    def _account(self, email: str) -> str:
        from sqlalchemy import select

        from studio.tables import User as Account

        with self.db.session() as s:
            found = s.scalar(select(Account.id).where(Account.email == email.strip().lower()))
        if found is None:
            where = "STUDIO_DATABASE_URL" if self.settings.server.database_url else f"{self.settings.home / 'studio.db'}"
            raise InvalidRequest(f"--user: no account with the email {email!r} in this studio's database ({where}).",
                                 "Run this where the server's STUDIO_HOME or STUDIO_DATABASE_URL is set.")
        return found

    def account(self) -> str:
        if self.owner is None:
            raise InvalidRequest("A/B tests belong to a hosted account: give --user EMAIL.")
        return self.owner


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(f"--timezone: unknown time zone {name!r}.", "Use an IANA name such as Europe/Berlin.") \
            from None
    return name


def _png_dir(folder: Path) -> Path:
    if folder.exists() and not folder.is_dir():
        raise InvalidRequest(f"--png: {folder} is a file, not a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidRequest(f"--png: cannot create the folder {folder} ({exc.strerror}).") from None
    return folder


def _write(figures: dict, value, folder: Path, prefix: str) -> None:
    from studio.analytics.figures import save_png

    for name, build in figures.items():
        path = save_png(build(value), folder / f"{prefix}_{name}.png")
        out.print(f"Wrote {path}")


def _number(name: str) -> Column:
    """A column of numbers: right-aligned and never broken across lines (a narrow terminal squeezes the text ones)."""
    return Column(name, justify="right", no_wrap=True)


def _key(name: str) -> Column:
    return Column(name, no_wrap=True)


def _text(name: str) -> Column:
    return Column(name, max_width=40)


def _num(x: float | None, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:,.{digits}f}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.0f}%"


# -- the researchers' export ------------------------------------------------------------------------------------------


@app.command()
def export(parquet: Annotated[Path, typer.Option("--parquet", metavar="DIR", help="Folder to write the Parquet into "
                                                 "(DIR/events and DIR/metrics, partitioned by day).")]) -> None:
    """Every account's events and metric snapshots as Parquet (docs/analytics.md), brought up to date first. Safe to
    run again: new rows are added, deleted accounts' and shorts' rows removed."""
    try:
        local = _Local()
        if parquet.exists() and not parquet.is_dir():
            raise InvalidRequest(f"--parquet: {parquet} is a file, not a folder.")
        try:
            stats = local.analytics.export_to(parquet)
        except ValueError as exc:  # the studio's own Parquet folder, or inside it
            raise InvalidRequest(f"--parquet: {exc}") from None
        except OSError as exc:
            raise InvalidRequest(f"--parquet: cannot write to {parquet} ({exc.strerror or exc}).") from None
    except StudioError as exc:
        _fail(exc)
    files = {folder: len(list((parquet / folder).glob("day=*/*.parquet"))) for folder in ("events", "metrics")}
    out.print(f"Exported {stats.events:,} new events and {stats.snapshots:,} new metric snapshots in {stats.batches} "
              f"batch(es), {stats.deleted_files_rewritten} file(s) rewritten for deletions, in {stats.seconds:.2f} s.")
    out.print(f"{parquet}: {files['events']} events file(s), {files['metrics']} metrics file(s). Read them with DuckDB: "
              f"SELECT * FROM read_parquet('{parquet / 'events'}/*/*.parquet', hive_partitioning = true)", soft_wrap=True)


# -- dashboards -------------------------------------------------------------------------------------------------------


@app.command()
def studio(days: Annotated[int, typer.Option("--days", min=1, max=366, help="UTC days up to today.")] = 30,
           png: Png = None, user: User = None) -> None:
    """My studio: shorts made per day, time per stage, engines, cache hit rate, failures, and compute against what
    paid APIs would have charged."""
    try:
        local = _Local(user)
        folder = _png_dir(png) if png else None
        board = local.analytics.studio(local.owner, days)
    except StudioError as exc:
        _fail(exc)
    out.print(f"[bold]My studio[/bold] ({local.whose}, last {days} days): {board.runs} run(s), cache hit rate "
              f"{_pct(board.cache_hit_rate)}")
    if folder:
        from studio.analytics.figures import STUDIO_FIGURES

        _write(STUDIO_FIGURES, board, folder, "studio")
    if not board.runs:
        out.print("No shorts made in this period yet.")
        return
    made = {day: n for day, n in board.shorts_per_day}
    per_day = Table(_key("day"), _number("shorts made"), _number("compute s (cumulative)"),
                    _number("paid-API USD (cumulative)"), title="Per day")
    for day, seconds, usd in board.savings:
        if made.get(day) or day == board.savings[-1][0]:
            per_day.add_row(day, str(made.get(day, 0)), _num(seconds, 1), f"${usd:,.2f}")
    out.print(per_day)
    engines: dict[str, list[str]] = {}
    for stage, engine, n in board.engines:
        engines.setdefault(stage, []).append(f"{engine}×{n}")
    stages = Table(_key("stage"), _number("mean s"), _number("runs"), "engines", title="Time per stage")
    for stage, seconds, n in board.stage_seconds:
        stages.add_row(stage, _num(seconds, 1), str(n), ", ".join(engines.get(stage, [])))
    out.print(stages)
    if board.failures:
        failed = Table(_key("error code"), _number("failed runs"), title="Failures")
        for code, n in board.failures:
            failed.add_row(code, str(n))
        out.print(failed)


@app.command()
def posts(timezone: Zone = "UTC", png: Png = None, user: User = None) -> None:
    """My posts: the latest numbers of each, the best posting hours, and comparisons by template, voice, hook style,
    length and platform."""
    try:
        local = _Local(user)
        folder = _png_dir(png) if png else None
        board = local.analytics.posts(local.owner, _zone(timezone))
    except StudioError as exc:
        _fail(exc)
    if folder:
        from studio.analytics.figures import POSTS_FIGURES

        _write(POSTS_FIGURES, board, folder, "posts")
    zone = ZoneInfo(timezone)
    median = dict(board.median_curve)
    table = Table(_key("post"), _text("title"), f"posted ({timezone})", _number("views"), _number("at 24 h"),
                  _number("held 3 s"), _number("watched"),
                  title=f"My posts ({local.whose}); your median at 24 h: {_num(median.get(24.0))}")
    for p in board.posts:
        at24 = dict(board.curves.get(p.post_id, ())).get(24.0)
        table.add_row(p.post_id, f"{p.title} ({p.platform})", p.posted_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                      _num(p.views), _num(at24), _pct(p.hook_retention), _pct(p.avg_view_ratio))
    out.print(table)
    if not board.posts:
        out.print("No posts with numbers yet: they arrive about an hour after posting.")
    best = sorted((c for c in board.heatmap if c.median_views is not None), key=lambda c: -(c.median_views or 0))
    if best:
        hours = Table("day", "hour", _number("posts"), _number("median views at 24 h"),
                      title=f"Best posting hours ({timezone})")
        for c in best[:5]:
            hours.add_row(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[c.weekday], f"{c.hour:02d}:00",
                          str(c.posts), _num(c.median_views))
        out.print(hours)
    if board.comparisons:
        compared = Table("by", "value", _number("posts"), _number("median views at 24 h"), title="What works")
        for c in board.comparisons:
            compared.add_row(c.dimension, c.value, str(c.posts), _num(c.median_views))
        out.print(compared)


@app.command()
def why(post_id: Annotated[str, typer.Argument(help="A post's id (see: studio analytics posts).")],
        timezone: Zone = "UTC", user: User = None) -> None:
    """Why did this one flop? For a post below your own baseline: each reason with its numbers and a suggestion."""
    try:
        local = _Local(user)
        reasons = local.analytics.why(local.owner, post_id, _zone(timezone))
    except StudioError as exc:
        _fail(exc)
    if reasons is None:
        out.print(f"Post {post_id} is not below your baseline (or there are too few other posts to compare it with).")
        return
    if not reasons:
        out.print(f"Post {post_id} is below your baseline, but no rule finds a cause in the numbers at hand.")
        return
    out.print(f"[bold]Post {post_id} is below your baseline.[/bold] Worst first:")
    for n, r in enumerate(reasons, 1):
        out.print(f"{n}. [bold]{r.title}[/bold] ({r.rule}): {r.numbers}.", soft_wrap=True)
        out.print(f"   → {r.suggestion}", soft_wrap=True)


# -- A/B tests --------------------------------------------------------------------------------------------------------


@ab_app.command("list")
def ab_list(user: User = None) -> None:
    """Your A/B tests, newest first."""
    try:
        local = _Local(user)
        found = local.analytics.experiments(local.account())
    except StudioError as exc:
        _fail(exc)
    table = Table(_key("id"), _text("name"), "variants", _number("alpha"), "created", title=f"A/B tests ({local.whose})")
    for e in found:
        table.add_row(e["id"], e["name"], ", ".join(f"{v['label']}={v['short_id']}" for v in e["variants"]),
                      f"{e['alpha']:g}", e["created_at"])
    out.print(table)


@ab_app.command("new")
def ab_new(short_ids: Annotated[list[str], typer.Argument(metavar="SHORT_ID SHORT_ID [SHORT_ID]",
                                                          help="Two or three of your shorts: variants A, B (and C).")],
           name: Annotated[str, typer.Option("--name", help="What is tested.")] = "A/B test",
           alpha: Annotated[float, typer.Option("--alpha", min=0.001, max=0.2, help="The false-positive rate the "
                                                "sequential test holds however often it looks.")] = 0.05,
           user: User = None) -> None:
    """Record two or three shorts (a short and its variants) as one A/B test."""
    try:
        if not 2 <= len(short_ids) <= 3:
            raise InvalidRequest(f"SHORT_ID: give two or three shorts, not {len(short_ids)}.")
        local = _Local(user)
        made = local.analytics.new_experiment(local.account(), name, short_ids, alpha)
    except StudioError as exc:
        _fail(exc)
    out.print(f"A/B test {made['id']} ({made['name']}): "
              + ", ".join(f"{v['label']}={v['short_id']}" for v in made["variants"])
              + f". Follow it with: studio analytics ab show {made['id']} --user {local.whose}", soft_wrap=True)


@ab_app.command("show")
def ab_show(experiment_id: Annotated[str, typer.Argument(metavar="ID", help="An A/B test's id.")],
            png: Png = None, user: User = None) -> None:
    """Where an A/B test stands: each variant's views and engagement, and which leads (only once it is real)."""
    try:
        local = _Local(user)
        folder = _png_dir(png) if png else None
        verdict = local.analytics.verdict(local.account(), experiment_id)
        name = next(e["name"] for e in local.analytics.experiments(local.account()) if e["id"] == experiment_id)
    except StudioError as exc:
        _fail(exc)
    table = Table("variant", _key("short"), _number("posts"), _number("views"), _number("engaged"), _number("rate"),
                  title=f"{name} (alpha {verdict.alpha:g})")
    for v in verdict.variants:
        mark = " ← leads" if v.label == verdict.leader else ""
        table.add_row(v.label + mark, v.short_id, str(len(v.post_ids)), _num(v.views), _num(v.engaged),
                      f"{v.rate * 100:.2f}%" if v.rate is not None else "—")
    out.print(table)
    out.print(verdict.said, soft_wrap=True)
    if folder:
        from studio.analytics.figures import experiment, save_png

        out.print(f"Wrote {save_png(experiment(verdict, name), folder / f'experiment_{experiment_id}.png')}")


@ab_app.command("delete")
def ab_delete(experiment_id: Annotated[str, typer.Argument(metavar="ID", help="An A/B test's id.")],
              user: User = None) -> None:
    """Forget an A/B test; its shorts and posts stay."""
    try:
        local = _Local(user)
        local.analytics.delete_experiment(local.account(), experiment_id)
    except StudioError as exc:
        _fail(exc)
    out.print(f"Deleted A/B test {experiment_id}.")


# -- CSV imports ------------------------------------------------------------------------------------------------------


@app.command("import")
def import_csv(
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="A YouTube Studio or TikTok Studio CSV export.")],
    platform: Annotated[Optional[CsvPlatform], typer.Option("--platform", help="Which Studio wrote it, when the "
                                                            "header does not say.")] = None,
    maps: Annotated[list[str], typer.Option("--map", metavar="COLUMN=FIELD", help="Map a column to a field, or to "
                                            "'ignore' (repeatable); the rest as proposed by their names.")] = [],  # noqa: B006
    date_order: Annotated[Optional[DateOrder], typer.Option("--date-order", help="How to read dates such as "
                                                            "03/11/2026 when no date in the column tells.")] = None,
    timezone: Annotated[str, typer.Option("--timezone", help="Where the file's dates were written (the Studios "
                                          "write the channel's local time).")] = "UTC",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the mapping and what would be imported; store "
                                          "nothing.")] = False,
    user: User = None,
) -> None:
    """Import a Studio CSV export: every row becomes a snapshot of that video's numbers, all in one transaction (the
    same file again the same day stores nothing twice). A file that cannot be mapped is refused with the reason."""
    from studio.analytics import imports

    try:
        data = _read_csv(file)
        local = _Local(user)
        preview = imports.preview(data, platform_hint=platform.value if platform else None)
        mapping = {**preview.mapping, **_overrides(maps)}
        chosen = platform.value if platform else preview.platform
        if chosen is None:
            raise InvalidRequest("--platform: the header does not say which Studio wrote the file.",
                                 "Give --platform youtube or --platform tiktok.")
        _print_mapping(preview, mapping, chosen, file)
        order, zone = date_order.value if date_order else None, _zone(timezone)
        if dry_run:
            from datetime import UTC, datetime

            result = imports.parse(data, mapping, platform=chosen, owner_id=local.owner, date_order=order,
                                   timezone=zone, imported_at=datetime.now(UTC))
            stored = None
        else:
            result, stored = local.analytics.import_csv(local.owner, data, mapping, platform=chosen,
                                                        date_order=order, timezone=zone)
    except imports.ImportRefused as exc:
        console.print(f"[red]Refused:[/red] {exc.message}", soft_wrap=True)
        if exc.reason in ("unmapped", "mapping"):
            console.print("[yellow]→[/yellow] Map the columns with --map COLUMN=FIELD; fields: "
                          + ", ".join(imports.FIELDS) + ".", soft_wrap=True)
        elif exc.hint:
            console.print(f"[yellow]→[/yellow] {exc.hint}", soft_wrap=True)
        raise typer.Exit(2) from None
    except StudioError as exc:
        _fail(exc)
    _print_result(result, stored)


def _read_csv(file: Path) -> bytes:
    from studio.analytics.imports import MAX_BYTES, ImportRefused

    if not file.is_file():
        raise InvalidRequest(f"FILE.csv: {file} is not a file.")
    size = file.stat().st_size
    if size > MAX_BYTES:  # refused before it is read
        raise ImportRefused("too_large", f"The file is {size / 2**20:.1f} MB; imports take at most "
                            f"{MAX_BYTES // 2**20} MB.", "Export a shorter date range, or fewer columns.")
    return file.read_bytes()


def _overrides(maps: list[str]) -> dict[str, str]:
    from studio.analytics.imports import FIELDS

    chosen: dict[str, str] = {}
    for item in maps:
        column, eq, target = item.rpartition("=")  # a field name has no '=', a column's name may
        if not eq or not column.strip() or not target.strip():
            raise InvalidRequest(f"--map: expected COLUMN=FIELD, not {item!r}.", "e.g. --map 'Total views=views'.")
        if target.strip() not in FIELDS:
            raise InvalidRequest(f"--map: {target.strip()!r} is not a field.", f"Fields: {', '.join(FIELDS)}.")
        chosen[column.strip()] = target.strip()
    return chosen


def _print_mapping(preview, mapping: dict[str, str], platform: str, file: Path) -> None:
    from studio.analytics.imports import FIELDS

    out.print(f"[bold]{file.name}[/bold]: {platform}, {preview.encoding}, delimiter {preview.delimiter!r}, decimal "
              f"mark {preview.decimal!r}, {preview.data_rows} row(s) with data", soft_wrap=True)
    table = Table("column", "field", "holds", title="Mapping")
    for column in preview.header:
        target = mapping.get(column, "ignore")
        changed = "" if preview.mapping.get(column, "ignore") == target else " (yours)"
        table.add_row(column, target + changed, FIELDS[target][1] if target in FIELDS else "")
    out.print(table)


def _print_result(result, stored: int | None) -> None:
    shown = Table(_key("video"), _text("title"), _key("published"), _number("views"), _number("likes"), _number("watch s"),
                  title="First rows")
    for s in result.snapshots[:5]:
        shown.add_row(s.remote_id, s.title or "", s.posted_at.date().isoformat() if s.posted_at else "—",
                      _num(s.views), _num(s.likes), _num(s.watch_seconds))
    out.print(shown)
    if result.problems:
        problems = Table("row", "column", "problem", title="Problems")
        for p in result.problems:
            said = p.message + (" (row skipped)" if p.skipped and "skip" not in p.message else "")
            problems.add_row(str(p.row or ""), p.column or "", said)
        out.print(problems)
    skipped = f"; skipped row(s) {', '.join(map(str, result.skipped_rows))}" if result.skipped_rows else ""
    if stored is None:
        out.print(f"Dry run: {len(result.snapshots)} video(s) would be imported{skipped}. Nothing was stored.")
    else:
        out.print(f"Imported {stored} new snapshot(s) of {len(result.snapshots)} video(s) read{skipped}."
                  + (" The rest were already imported today." if stored < len(result.snapshots) else ""))
