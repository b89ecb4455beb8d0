"""CSV exports of YouTube Studio and TikTok Studio, turned into metric snapshots.

Two steps, as the UI shows them: ``preview`` reads the file (its encoding, delimiter, header and which platform
wrote it), proposes which column holds which number, found by the column's name, and parses the first rows;
``parse`` reads every row with the mapping the creator confirmed (or changed). Problems are reported per row and
per column, a bad row is skipped with its row number, and a file is refused only when nothing in it can be used.

Row numbers are the spreadsheet's: the header is row 1. Reading uses the stdlib ``csv`` module; dates are read by a
format chosen per column from all its values, so 03/11/2026 means the same day in every row of a column.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import hashlib
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from studio.analytics.types import MetricSnapshot
from studio.errors import ApiError

__all__ = ["FIELDS", "ImportPreview", "ImportRefused", "ImportResult", "Problem", "parse", "preview",
           "MAX_BYTES", "MAX_ROWS"]

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
PREVIEW_ROWS = 5
SOURCES = {"youtube": "csv_youtube", "tiktok": "csv_tiktok"}

# field → (kind, what it holds). "ignore" leaves a column out.
FIELDS: dict[str, tuple[str, str]] = {
    "remote_id": ("id", "the platform's video id, or a link to the video"),
    "title": ("text", "the video's title"),
    "posted_at": ("date", "when the video was published"),
    "duration": ("duration", "the video's length"),
    "views": ("int", "views"), "likes": ("int", "likes"), "comments": ("int", "comments"),
    "shares": ("int", "shares"), "saves": ("int", "saves (favourites)"), "reach": ("int", "accounts reached"),
    "engaged_views": ("int", "engaged views"), "subscribers": ("int", "subscribers gained"),
    "watch_hours": ("float", "total watch time, in hours"), "watch_minutes": ("float", "total watch time, in minutes"),
    "watch_seconds": ("duration", "total watch time"),
    "avg_view_duration": ("duration", "average view duration"),
    "avg_view_percent": ("percent", "average percentage of the video watched"),
    "ignore": ("ignore", "not imported"),
}

# Header aliases, compared after _norm (case, accents, spacing, dashes and underscores do not matter). English ones
# follow the Studios' English exports; the others are best-effort translations, not copied from real files.
_ALIASES: dict[str, tuple[str, ...]] = {
    "remote_id": ("content", "video", "video id", "videoid", "video link", "link", "video url", "url", "post id",
                  "item id", "inhalt", "contenido", "contenu", "conteudo", "contenuto"),
    "title": ("video title", "title", "caption", "video caption", "description", "videotitel", "titel",
              "titulo del video", "titulo", "titre de la video", "titre", "titolo del video", "titulo do video"),
    "posted_at": ("video publish time", "publish time", "published", "published at", "publish date", "upload date",
                  "post time", "posted", "posted at", "post date", "date posted", "create time", "created", "date",
                  "veroffentlichungszeitpunkt des videos", "veroffentlicht", "hora de publicacion del video",
                  "fecha de publicacion", "heure de publication de la video", "date de publication",
                  "horario de publicacao do video", "data de publicacao"),
    "duration": ("duration", "video duration", "length", "dauer", "duracion", "duree", "duracao"),
    "views": ("views", "total views", "video views", "plays", "total plays", "aufrufe", "visualizaciones", "vues",
              "visualizacoes", "visualizzazioni"),
    "likes": ("likes", "total likes", "me gusta", "j aime", "curtidas", "mi piace"),
    "comments": ("comments", "comments added", "total comments", "kommentare", "hinzugefugte kommentare",
                 "comentarios", "comentarios anadidos", "commentaires", "commentaires ajoutes"),
    "shares": ("shares", "total shares", "geteilte inhalte", "geteilt", "veces compartido", "partages",
               "compartilhamentos", "condivisioni"),
    "saves": ("saves", "total saves", "favorites", "total favorites", "add to favorites"),
    "reach": ("reach", "total reach", "accounts reached"),
    "engaged_views": ("engaged views",),
    "subscribers": ("subscribers", "subscribers gained", "abonnenten", "suscriptores", "abonnes", "inscritos"),
    "watch_hours": ("watch time (hours)", "wiedergabezeit (stunden)", "tiempo de visualizacion (horas)",
                    "duree de visionnage (heures)", "tempo de exibicao (horas)"),
    "watch_minutes": ("watch time (minutes)", "total watch time (minutes)"),
    "watch_seconds": ("total play time", "total time watched", "total watch time", "watch time (seconds)"),
    "avg_view_duration": ("average view duration", "avg view duration", "average watch time", "avg watch time",
                          "average time watched", "durchschnittliche wiedergabedauer",
                          "duracion media de visualizacion", "duree moyenne de visionnage",
                          "duracao media da visualizacao"),
    "avg_view_percent": ("average percentage viewed (%)", "average percentage viewed", "avg percentage viewed (%)",
                         "durchschnittlich angesehener prozentsatz (%)"),
}
# Columns recognised but with no place in metric_snapshots (docs/analytics.md): left out, and said so.
_UNSTORED = {"impressions", "impressions click through rate (%)", "impressionen", "impresiones",
             "watched full video", "watched full video (%)", "full video watch rate", "unique viewers",
             "new viewers", "returning viewers", "dislikes", "subscribers lost", "new followers", "reached audience",
             "estimated revenue (usd)", "your estimated revenue (usd)", "rpm (usd)", "cpm (usd)", "traffic source",
             "average views per viewer", "end screen element click rate (%)"}
_PLATFORM_HINTS = {
    "youtube": {"content", "video publish time", "watch time (hours)", "impressions", "average view duration",
                "impressions click through rate (%)", "average percentage viewed (%)", "comments added",
                "engaged views", "subscribers", "inhalt", "wiedergabezeit (stunden)", "aufrufe"},
    "tiktok": {"post time", "total views", "total likes", "total comments", "total shares", "total play time",
               "average watch time", "watched full video", "video link", "new followers", "reached audience"},
}
_LOOKUP = {_a: f for f, aliases in _ALIASES.items() for _a in aliases}
_TOTAL_WORDS = {"total", "totals", "gesamt", "insgesamt", "summe", "totale", "totaal", "итого", "合計", "总计"}
_MISSING = {"", "-", "--", "—", "–", "…", "n/a", "na", "none", "null", "nan"}
_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"%PDF", "a PDF document"), (b"\xff\xd8\xff", "a JPEG image"),
               (b"GIF8", "a GIF image"), (b"\x1f\x8b", "a gzip archive"), (b"Rar!", "a RAR archive"),
               (b"7z\xbc\xaf", "a 7-Zip archive"), (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or other Office file"),
               (b"RIFF", "a media file (RIFF)"), (b"\x00\x00\x00", "a video or other binary file"))


class ImportRefused(ApiError):
    """A file this import cannot use at all; ``reason`` is a stable code, the message says why in plain words."""

    status = 422
    code = "import_refused"

    def __init__(self, reason: str, message: str, hint: str = "") -> None:
        super().__init__(message, hint)
        self.reason = reason
        self.status = {"not_csv": 415, "too_large": 413, "too_many_rows": 413}.get(reason, 422)


@dataclass(frozen=True)
class Problem:
    """What could not be read. ``row`` is the spreadsheet row (the header is row 1); None when it concerns a whole
    column (``column``) or the file. ``skipped``: the row was left out of the import."""

    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    skipped: bool = False


@dataclass(frozen=True)
class ImportPreview:
    platform: str | None  # youtube | tiktok; None when the header does not say (then give the platform)
    encoding: str
    delimiter: str
    header: tuple[str, ...]
    mapping: dict[str, str]  # column → field (FIELDS), proposed by the columns' names
    rows: tuple[dict[str, Any], ...]  # the first rows, parsed with that mapping (by field)
    sample: tuple[tuple[str, ...], ...]  # the same rows as the file has them
    data_rows: int  # rows with data (blank lines and the Total row not counted)
    problems: tuple[Problem, ...]
    refused: str | None  # why this mapping cannot import (no id or title column, no views column); None: it can
    id_from: str  # "column", or "hash" of title and publish time when no column holds the video id
    decimal: str  # the decimal mark numbers were read with ("." or ",")

    @property
    def can_import(self) -> bool:
        return self.refused is None


@dataclass(frozen=True)
class ImportResult:
    snapshots: tuple[MetricSnapshot, ...]
    platform: str
    rows_read: int
    problems: tuple[Problem, ...]
    columns: dict[str, str] = field(default_factory=dict)  # column → the field it filled, or why it was left out

    @property
    def skipped_rows(self) -> tuple[int, ...]:
        return tuple(p.row for p in self.problems if p.skipped and p.row is not None)


# -- the two steps -----------------------------------------------------------------------------------------------------


def preview(data: bytes, *, platform_hint: str | None = None) -> ImportPreview:
    """Read ``data`` and propose a mapping. Raises ImportRefused only for a file that is not a readable table."""
    table = _read(data)
    platform, platform_notes = _platform(table.header, platform_hint)
    mapping, mapping_notes = _propose(table.header)
    reader = _Reader(table, mapping, platform or "youtube", None, "UTC")
    rows, sample = [], []
    for number, cells in table.rows:  # every row, so the problems shown are the whole file's
        values = reader.row(number, cells)
        if values is not None and len(rows) < PREVIEW_ROWS:
            rows.append(values)
            sample.append(tuple(cells))
    problems = (*table.problems, *platform_notes, *mapping_notes, *reader.column_notes(), *reader.problems)
    return ImportPreview(platform, table.encoding, table.delimiter, table.header, mapping, tuple(rows), tuple(sample),
                         reader.data_rows(), tuple(problems), _refusal(table.header, mapping), reader.id_from,
                         reader.decimal)


def parse(data: bytes, mapping: Mapping[str, str], *, platform: str, owner_id: str | None,
          imported_at: dt.datetime, date_order: str | None = None, timezone: str = "UTC") -> ImportResult:
    """Every row as a MetricSnapshot (source csv_youtube or csv_tiktok, taken_at = ``imported_at``).

    ``date_order`` ("dmy" or "mdy") settles dates such as 03/11/2026 when no value in the column tells;
    ``timezone`` is where dates without a zone were written (the Studios write the channel's local time)."""
    if platform not in SOURCES:
        raise ImportRefused("platform", f"Unknown platform {platform!r}.", "Choose youtube or tiktok.")
    if imported_at.tzinfo is None:
        raise ImportRefused("imported_at", "imported_at must carry a time zone (UTC).")
    if date_order not in (None, "dmy", "mdy"):
        raise ImportRefused("date_order", f"Unknown date order {date_order!r}.", "Use 'dmy' or 'mdy'.")
    table = _read(data)
    mapping = _checked(dict(mapping), table.header)
    refused = _refusal(table.header, mapping)
    if refused:
        raise ImportRefused("unmapped", f"This file cannot be imported: {refused}.",
                            "Map a column to each of them, or export the table again from the Studio.")
    reader = _Reader(table, mapping, platform, date_order, timezone)
    taken = imported_at.astimezone(dt.UTC)
    snapshots: list[MetricSnapshot] = []
    seen: dict[str, int] = {}
    for number, cells in table.rows:
        values = reader.row(number, cells)
        if values is None:
            continue
        rid = values["remote_id"]
        if rid in seen:
            reader.problems.append(Problem(f"the same video as row {seen[rid]}; kept row {seen[rid]}", number,
                                           None, rid, skipped=True))
            continue
        seen[rid] = number
        posted = values.get("posted_at")
        if posted is not None and posted > taken:
            reader.problems.append(Problem("published after the import time; publish time left out", number,
                                           reader.column_of("posted_at"), str(posted)))
            posted = None
        snapshots.append(_snapshot(values, platform, owner_id, taken, posted))
    problems = (*table.problems, *reader.column_notes(), *reader.problems)
    if not snapshots:
        reasons = "; ".join(f"row {p.row}: {p.message}" for p in reader.problems if p.skipped)[:600]
        raise ImportRefused("no_rows", f"No row of this file could be imported{': ' + reasons if reasons else ''}.")
    return ImportResult(tuple(snapshots), platform, reader.data_rows(), tuple(problems), reader.columns())


def _snapshot(v: dict[str, Any], platform: str, owner_id: str | None, taken: dt.datetime,
              posted: dt.datetime | None) -> MetricSnapshot:
    watch = next((v[k] * s for k, s in (("watch_seconds", 1), ("watch_minutes", 60), ("watch_hours", 3600))
                  if v.get(k) is not None), None)
    return MetricSnapshot(
        platform=platform, remote_id=v["remote_id"], source=SOURCES[platform], taken_at=taken, posted_at=posted,
        owner_id=owner_id, title=v.get("title"), views=v.get("views"), likes=v.get("likes"),
        comments=v.get("comments"), shares=v.get("shares"), saves=v.get("saves"), reach=v.get("reach"),
        engaged_views=v.get("engaged_views"), subscribers=v.get("subscribers"),
        avg_view_seconds=v.get("avg_view_duration"), avg_view_ratio=v.get("avg_view_percent"),
        watch_seconds=round(watch, 3) if watch is not None else None, duration=v.get("duration"))


# -- reading the file ----------------------------------------------------------------------------------------------


@dataclass
class _Table:
    encoding: str
    delimiter: str
    header: tuple[str, ...]
    rows: list[tuple[int, list[str]]]  # (spreadsheet row, cells) of every non-blank data row
    problems: list[Problem]


def _read(data: bytes) -> _Table:
    if not data:
        raise ImportRefused("empty", "The file is empty.")
    if len(data) > MAX_BYTES:
        raise ImportRefused("too_large", f"The file is {len(data) / 2**20:.1f} MB; imports take at most "
                            f"{MAX_BYTES // 2**20} MB.", "Export a shorter date range, or fewer columns.")
    _refuse_binary(data)
    text, encoding, problems = _decode(data)
    if "\x00" in text:
        raise ImportRefused("not_csv", "This is not a CSV file: it holds binary data.")
    if re.match(r"\s*<(!doctype|html|\?xml)", text[:200], re.I):
        raise ImportRefused("not_csv", "This is not a CSV file: it is a web page or XML document.",
                            "Use the Studio's Export button and choose CSV.")
    delimiter = _delimiter(text)
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(records, start=1):
            if not any(c.strip() for c in cells):
                continue  # a blank line still counts as a spreadsheet row
            if header is None:
                header = cells
                continue
            rows.append((number, cells))
            if len(rows) > MAX_ROWS:
                raise ImportRefused("too_many_rows", f"The file has more than {MAX_ROWS:,} rows.",
                                    "Export a shorter date range.")
    except csv.Error as exc:
        raise ImportRefused("not_csv", f"This file could not be read as CSV ({exc}).") from None
    if header is None:
        raise ImportRefused("empty", "The file has no header row.")
    return _Table(encoding, delimiter, _names(header, problems), rows, problems)


def _refuse_binary(data: bytes) -> None:
    head = data[:16]
    if head.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            names = []
        if any(n.startswith("xl/") for n in names):
            raise ImportRefused("not_csv", "This is an Excel workbook (.xlsx), not a CSV file.",
                                "Open it and save as 'CSV UTF-8', or export CSV from the Studio.")
        csvs = [n for n in names if n.lower().endswith(".csv")]
        hint = (f"Unzip it and import {'“Table data.csv”' if 'Table data.csv' in csvs else csvs[0]}." if csvs
                else "Unzip it and import the CSV inside.")
        raise ImportRefused("not_csv", "This is a ZIP archive, not a CSV file (YouTube Studio exports a .zip).", hint)
    for magic, what in _SIGNATURES:
        if head.startswith(magic) and not (magic == b"\x00\x00\x00" and head[4:8] != b"ftyp"):
            raise ImportRefused("not_csv", f"This is {what}, not a CSV file.",
                                "Use the Studio's Export button and choose CSV.")


def _decode(data: bytes) -> tuple[str, str, list[Problem]]:
    """UTF-8 (with or without BOM), UTF-16 (YouTube Studio sometimes writes it, with a BOM), else Windows-1252."""
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[3:].decode("utf-8"), "utf-8-sig", []
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16"), "utf-16", []
        sample = data[:4096]
        if sample.count(b"\x00") > len(sample) // 4:  # UTF-16 without a BOM: ASCII's high bytes are zero
            enc = "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
            return data.decode(enc), enc, []
    except UnicodeDecodeError as exc:
        raise ImportRefused("encoding", f"The file says it is UTF-16 but cannot be read as such ({exc.reason}).",
                            "Export it again from the Studio.") from None
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252", [Problem(
            "the file is not UTF-8; read as Windows-1252 (accented letters may be wrong)")]


def _delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most, equally many, columns."""
    sample = "\n".join(text.splitlines()[:50])
    best, score = ",", (0, 0.0, 0)
    for d in (",", ";", "\t", "|"):
        try:
            widths = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=d) if r]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        s = (1, sum(w == widths[0] for w in widths) / len(widths), widths[0])
        if s > score:
            best, score = d, s
    if score[0] == 0:
        raise ImportRefused("not_csv", "This is not a table: its first lines have a single column.",
                            "Export the Studio's table as CSV (values separated by commas or semicolons).")
    return best


def _names(header: list[str], problems: list[Problem]) -> tuple[str, ...]:
    names: list[str] = []
    for i, raw in enumerate(header):
        name = raw.strip().lstrip("\ufeff") or f"Column {i + 1}"
        if name in names:
            problems.append(Problem(f"the header names {name!r} twice; the second is called {name} ({i + 1})",
                                    column=name))
            name = f"{name} ({i + 1})"
        names.append(name)
    return tuple(names)


def _norm(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.strip().lstrip("\ufeff"))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"[_\-–—/'’.]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


# -- mapping ----------------------------------------------------------------------------------------------------------


def _platform(header: tuple[str, ...], hint: str | None) -> tuple[str | None, list[Problem]]:
    if hint is not None and hint not in SOURCES:
        raise ImportRefused("platform", f"Unknown platform {hint!r}.", "Choose youtube or tiktok.")
    names = {_norm(h) for h in header}
    scores = {p: len(names & hints) for p, hints in _PLATFORM_HINTS.items()}
    guess = max(scores, key=lambda p: scores[p]) if len(set(scores.values())) > 1 else None
    if hint is not None:
        other = "tiktok" if hint == "youtube" else "youtube"
        if scores[hint] == 0 and scores[other] >= 2:
            return hint, [Problem(f"the header looks like a {other} export, but {hint} was chosen")]
        return hint, []
    if guess is None:
        return None, [Problem("the header does not say whether YouTube Studio or TikTok Studio wrote it; "
                              "choose the platform")]
    return guess, []


def _propose(header: tuple[str, ...]) -> tuple[dict[str, str], list[Problem]]:
    mapping: dict[str, str] = {}
    notes: list[Problem] = []
    taken: dict[str, str] = {}
    for name in header:
        key = _norm(name)
        target = _LOOKUP.get(key)
        if target is None:
            if key in _UNSTORED:
                mapping[name] = "ignore"
                notes.append(Problem("recognised, but metric snapshots have no field for it; left out", column=name))
            else:
                notes.append(Problem("not recognised; left out (map it by hand to import it)", column=name))
            continue
        if target in taken:
            notes.append(Problem(f"also looks like {target} ({taken[target]!r} was taken); left out", column=name))
            continue
        mapping[name], taken[target] = target, name
    return mapping, notes


def _checked(mapping: dict[str, str], header: tuple[str, ...]) -> dict[str, str]:
    used: dict[str, str] = {}
    for column, target in mapping.items():
        if column not in header:
            raise ImportRefused("mapping", f"The mapping names the column {column!r}, which this file does not have.",
                                f"Columns: {', '.join(header)}.")
        if target not in FIELDS:
            raise ImportRefused("mapping", f"The mapping sends {column!r} to {target!r}, which is not a field.",
                                f"Fields: {', '.join(FIELDS)}.")
        if target != "ignore" and target in used:
            raise ImportRefused("mapping", f"Both {used[target]!r} and {column!r} are mapped to {target}.")
        used[target] = column
    return mapping


def _refusal(header: tuple[str, ...], mapping: Mapping[str, str]) -> str | None:
    fields = set(mapping.values())
    missing = []
    if not fields & {"remote_id", "title"}:
        missing.append("no video id or title column (such as Content, Video, Video link or Video title)")
    if "views" not in fields:
        missing.append("no views column (such as Views or Total views)")
    if not missing:
        return None
    return " and ".join(missing) + f"; the columns are: {', '.join(header)}"


# -- values -----------------------------------------------------------------------------------------------------------


class _Reader:
    """Turns rows into field values with formats chosen per column from all of the column's values."""

    def __init__(self, table: _Table, mapping: Mapping[str, str], platform: str, date_order: str | None,
                 timezone: str) -> None:
        self.table, self.platform = table, platform
        self.fields = {f: table.header.index(c) for c, f in mapping.items() if f != "ignore"}
        self.mapping = dict(mapping)
        self.problems: list[Problem] = []
        self.notes: list[Problem] = []
        self.id_from = "column" if "remote_id" in self.fields else "hash"
        try:
            self.zone = ZoneInfo(timezone)
        except (KeyError, ValueError):
            raise ImportRefused("timezone", f"Unknown time zone {timezone!r}.", "Use a name such as Europe/Berlin.") \
                from None
        self.totals: set[int] = set()
        self.decimal = self._decimal_mark()
        self.date_order = self._date_order(date_order) if "posted_at" in self.fields else None
        if self.date_order and any(not re.search(r"(Z|[+-]\d{2}:?\d{2})$", c) for c in self._cells("posted_at") if c):
            self.notes.append(Problem(f"dates without a time zone are read as {timezone} time (the Studios write "
                                      "the channel's own); import with another timezone if that is wrong",
                                      column=self.column_of("posted_at")))
        if self.id_from == "hash":
            self.notes.append(Problem("no column holds the video id: each video is known by a hash of its title and "
                                      "publish time (renaming a video makes it a new one)"))

    def column_of(self, field_name: str) -> str | None:
        i = self.fields.get(field_name)
        return self.table.header[i] if i is not None else None

    def column_notes(self) -> list[Problem]:
        return self.notes

    def columns(self) -> dict[str, str]:
        return {c: (self.mapping[c] if self.mapping.get(c, "ignore") != "ignore" else "left out")
                for c in self.table.header}

    def data_rows(self) -> int:
        return len(self.table.rows) - len(self.totals)

    def _cells(self, field_name: str) -> list[str]:
        i = self.fields[field_name]
        return [cells[i].strip() for _, cells in self.table.rows if i < len(cells)]

    def _decimal_mark(self) -> str:
        """'.' or ',' for the whole file, from the numbers that can only be read one way."""
        votes = {".": 0, ",": 0}
        for f in self.fields:
            kind = FIELDS[f][0]
            if kind not in ("int", "float", "percent", "duration"):
                continue
            for cell in self._cells(f):
                if cell.isdigit() or ":" in cell:
                    continue  # 1234 and 0:00:16 read the same either way
                core = _NUMBER_CORE.sub("", cell)
                for mark, (plain, grouped) in _MARK_EVIDENCE.items():
                    if plain.fullmatch(core) or (kind == "int" and grouped.fullmatch(core)):
                        votes[mark] += 1
        if votes[","] > votes["."] or (votes[","] == votes["."] == 0 and self.table.delimiter == ";"):
            self.notes.append(Problem("numbers: ',' is the decimal mark in this file and '.' groups thousands "
                                      "(1.234 is one thousand two hundred thirty-four)"))
            return ","
        if votes[","] and votes["."]:
            self.notes.append(Problem("numbers: both '.' and ',' are used as decimal marks; read with '.'"))
        return "."

    def _date_order(self, asked: str | None) -> str:
        """dmy or mdy for dates such as 03/11/2026, from every value in the column."""
        column = self.column_of("posted_at")
        firsts, seconds, dotted, example = 0, 0, 0, None
        for cell in self._cells("posted_at"):
            m = _NUMERIC_DATE.match(cell)
            if m:
                a, b = int(m["a"]), int(m["b"])
                firsts += a > 12
                seconds += b > 12
                dotted += m["sep"] == "."
                example = example or (cell if a <= 12 and b <= 12 else None)
        if asked:
            return asked
        if firsts and not seconds:
            return "dmy"
        if seconds and not firsts:
            return "mdy"
        if firsts and seconds:
            order = "dmy" if firsts >= seconds else "mdy"
            self.notes.append(Problem(f"dates mix day/month and month/day order; read as {order}, the others are "
                                      "reported by row", column=column))
            return order
        if dotted:
            return "dmy"  # 03.11.2026: day.month.year wherever dots are written
        if example:
            self.notes.append(Problem(f"ambiguous dates: every date fits both day/month and month/day (e.g. "
                                      f"{example!r}); read as month/day. Import with date_order='dmy' if the "
                                      "day comes first", column=column))
        return "mdy"

    def row(self, number: int, cells: list[str]) -> dict[str, Any] | None:
        """The row's values by field, or None when it is skipped (its reason in ``problems``)."""
        if len(cells) > len(self.table.header) and any(c.strip() for c in cells[len(self.table.header):]):
            self.problems.append(Problem(f"{len(cells)} cells where the header has {len(self.table.header)} "
                                         "(a comma inside an unquoted title?); skipped", number, skipped=True))
            return None
        cells = cells + [""] * (len(self.table.header) - len(cells))
        key = next((cells[self.fields[f]].strip() for f in ("remote_id", "title") if f in self.fields), cells[0])
        if key.casefold() in _TOTAL_WORDS or (number == self.table.rows[0][0] and cells[0].strip().casefold()
                                              in _TOTAL_WORDS):
            self.totals.add(number)
            self.problems.append(Problem("the Studio's 'Total' summary row, not a video; skipped", number,
                                         None, key or cells[0], skipped=True))
            return None
        values: dict[str, Any] = {}
        for f, i in self.fields.items():
            raw = cells[i].strip()
            column = self.table.header[i]
            if raw.casefold() in _MISSING:
                values[f] = None
                continue
            try:
                values[f] = self._value(f, raw)
            except ValueError as exc:
                values[f] = None
                skip = f in ("views", "remote_id")  # a row is nothing without them
                bad = Problem(f"{exc}{'; skipped' if skip else ''}", number, column, raw, skipped=skip)
                self.problems.append(bad)
                if bad.skipped:
                    return None
        if values.get("views") is None:
            self.problems.append(Problem("no views; skipped", number, self.column_of("views"),
                                         cells[self.fields["views"]].strip() if "views" in self.fields else None,
                                         skipped=True))
            return None
        if self.id_from == "hash":
            if not values.get("title"):
                self.problems.append(Problem("no title to know the video by; skipped", number, self.column_of("title"),
                                             skipped=True))
                return None
            posted = values.get("posted_at")
            if posted is None and "posted_at" in self.fields:
                self.problems.append(Problem("no publish time to know the video by; skipped", number,
                                             self.column_of("posted_at"), skipped=True))
                return None
            basis = f"{values['title']}\x1f{posted.isoformat() if posted else ''}"
            values["remote_id"] = "h:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]
        elif not values.get("remote_id"):
            self.problems.append(Problem("no video id; skipped", number, self.column_of("remote_id"), skipped=True))
            return None
        return values

    def _value(self, f: str, raw: str) -> Any:
        kind = FIELDS[f][0]
        if kind == "id":
            return _video_id(raw, self.platform)
        if kind == "text":
            return raw
        if kind == "date":
            return _date(raw, self.date_order or "mdy", self.zone)
        if kind == "duration":
            return _seconds(raw, self.decimal)
        if kind == "percent":
            share = _number(raw.rstrip("% "), self.decimal) / 100
            if not 0 <= share <= 1:
                raise ValueError(f"{raw!r} is not a percentage between 0 and 100")
            return round(share, 6)
        number = _number(raw, self.decimal)
        if number < 0:
            raise ValueError(f"{raw!r} is negative")
        if kind == "float":
            return number
        whole = round(number)
        if abs(number - whole) > 1e-6 and not re.search(r"[kKmMbB]\.?$", raw):  # 1.2K is the Studio's rounding
            raise ValueError(f"{raw!r} is not a whole number")
        return whole


_CLOCK = re.compile(r"\d+(:\d{1,2}){1,2}([.,]\d+)?")
_NUMBER_CORE = re.compile(r"[\s%]|(?<=\d)\s*[kKmMbBsS]$")
# numbers only one decimal mark can read: 12.5, 97.1213, 1,234.5, 1,234,567 (for "."); and 1.234 in a count column,
# which cannot hold a fraction
_MARK_EVIDENCE = {
    mark: (re.compile(rf"\d+{re.escape(mark)}(\d{{1,2}}|\d{{4,}})|\d{{1,3}}({re.escape(group)}\d{{3}})+{re.escape(mark)}\d+"
                      rf"|\d{{1,3}}({re.escape(group)}\d{{3}}){{2,}}"),
           re.compile(rf"\d{{1,3}}({re.escape(group)}\d{{3}})+"))
    for mark, group in ((".", ","), (",", "."))}
_GROUPED = {mark: re.compile(rf"[+-]?\d{{1,3}}({re.escape(group)}\d{{3}})+({re.escape(mark)}\d+)?")
            for mark, group in ((".", ","), (",", "."))}
_NUMBER_NOISE = re.compile(r"[\s\u00a0\u202f']")
_NUMBER_SUFFIX = re.compile(r"(.+?)([kKmMbB])\.?")
_NUMERIC_DATE = re.compile(r"^(?P<a>\d{1,2})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
                           r"(?:[ ,T]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[aApP][mM])?)?$")
_NAMED_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%Y/%m/%d")
_TIMES = ("", " %H:%M", " %H:%M:%S", ", %H:%M", " %I:%M %p", ", %I:%M %p")
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9}


def _video_id(raw: str, platform: str) -> str:
    m = (re.search(r"/video/(\d+)", raw) if platform == "tiktok"
         else re.search(r"(?:[?&]v=|youtu\.be/|/shorts/)([A-Za-z0-9_-]{11})", raw))
    if m:
        return m.group(1)
    if re.search(r"\s", raw) or len(raw) > 64 or raw.startswith("http"):
        raise ValueError(f"{raw!r} is not a {'TikTok' if platform == 'tiktok' else 'YouTube'} video id or link")
    return raw


def _number(raw: str, decimal: str) -> float:
    if raw.isdigit():
        return float(raw)
    text = _NUMBER_NOISE.sub("", raw)
    scale = 1.0
    m = _NUMBER_SUFFIX.fullmatch(text)
    if m:
        text, scale = m.group(1), _SUFFIX[m.group(2).lower()]
    group = "," if decimal == "." else "."
    if group in text:
        if not _GROUPED[decimal].fullmatch(text):
            raise ValueError(f"{raw!r} is not a number ('{group}' groups thousands in this file)")
        text = text.replace(group, "")
    try:
        value = float(text.replace(decimal, ".")) * scale
    except ValueError:
        raise ValueError(f"{raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{raw!r} is not a number")
    return value


def _seconds(raw: str, decimal: str) -> float:
    """0:00:38, 1:02, 38, 38.5s, 1m 5s, 1h 2m 3s → seconds."""
    text = raw.strip().lower()
    if _CLOCK.fullmatch(text):
        total = 0.0
        for part in text.replace(",", ".").split(":"):
            total = total * 60 + float(part)
        return round(total, 3)
    units = re.findall(r"(\d+(?:[.,]\d+)?)\s*(h|hr|hours?|m|min|minutes?|s|sec|secs|seconds?)\b", text)
    if units and re.fullmatch(r"(\s*\d+(?:[.,]\d+)?\s*[a-z]+)+", text):
        per = {"h": 3600, "m": 60, "s": 1}
        return round(sum(_number(n, decimal) * per[u[0]] for n, u in units), 3)
    try:
        return round(_number(text, decimal), 3)
    except ValueError:
        raise ValueError(f"{raw!r} is not a duration (such as 0:00:38 or 38)") from None


@functools.lru_cache(maxsize=4096)  # a channel's videos share days: each distinct value is read once
def _date(raw: str, order: str, zone: ZoneInfo) -> dt.datetime:
    """A date in one of the Studios' forms → UTC. Dates without a zone are in ``zone``; date-only means midnight."""
    text = re.sub(r"\s+", " ", raw.strip())
    when: dt.datetime | None = None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        pass
    m = _NUMERIC_DATE.match(text) if when is None else None
    if m:
        a, b, year = int(m["a"]), int(m["b"]), int(m["y"])
        day, month = (a, b) if order == "dmy" else (b, a)
        hour = int(m["h"] or 0)
        if m["ampm"]:  # 12:30 AM is half past midnight, 12:30 PM half past noon
            hour = hour % 12 + (12 if m["ampm"].lower() == "pm" else 0)
        try:
            when = dt.datetime(year + 2000 if year < 100 else year, month, day, hour, int(m["mi"] or 0),
                               int(m["s"] or 0))
        except ValueError:
            raise ValueError(f"{raw!r} is not a date in {'day/month' if order == 'dmy' else 'month/day'} order, "
                             "as the rest of the column") from None
    if when is None:
        for fmt in _NAMED_FORMATS:
            for t in _TIMES:
                try:
                    when = dt.datetime.strptime(text, fmt + t)
                    break
                except ValueError:
                    continue
            if when is not None:
                break
    if when is None and re.search(r"[A-Za-z]{3}", text):
        when = _dateutil(text)
    if when is None:
        raise ValueError(f"{raw!r} is not a date the import can read (such as 2026-11-03 or Nov 3, 2026)")
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when.astimezone(dt.UTC)


def _dateutil(text: str) -> dt.datetime | None:
    """Other written-out dates ("Tuesday, 3 November 2026 14:05"), when python-dateutil is installed. Only dates
    with a month name come here, so its guess of day and month order never decides a numeric date."""
    try:
        from dateutil import parser
    except ImportError:
        return None
    try:
        return parser.parse(text)
    except (ValueError, OverflowError):
        return None
