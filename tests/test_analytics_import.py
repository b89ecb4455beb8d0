"""CSV exports of YouTube Studio and TikTok Studio: columns found by name, problems reported by row and column,
files that cannot be mapped refused with the reason. Fixtures in tests/data/analytics are written by hand after
the Studios' exports (YouTube Studio's "Table data.csv" with its Total row; TikTok Studio's content table)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest

from studio.analytics.imports import MAX_BYTES, MAX_ROWS, ImportRefused, parse, preview

DATA = Path(__file__).parent / "data" / "analytics"
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def _bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _import(data: bytes, **kw):
    p = preview(data, platform_hint=kw.pop("platform_hint", None))
    platform = kw.pop("platform", p.platform)
    return p, parse(data, kw.pop("mapping", p.mapping), platform=platform, owner_id="u1", imported_at=NOW, **kw)


def _problems(result, row=None, column=None):
    return [p for p in result.problems if (row is None or p.row == row) and (column is None or p.column == column)]


def test_a_youtube_studio_table_is_mapped_by_its_header_and_imported():
    p, r = _import(_bytes("youtube_studio_table_data.csv"))
    assert p.platform == "youtube" and p.encoding == "utf-8" and p.delimiter == "," and p.can_import
    assert p.mapping == {"Content": "remote_id", "Video title": "title", "Video publish time": "posted_at",
                         "Duration": "duration", "Views": "views", "Watch time (hours)": "watch_hours",
                         "Subscribers": "subscribers", "Average view duration": "avg_view_duration",
                         "Average percentage viewed (%)": "avg_view_percent", "Impressions": "ignore",
                         "Impressions click-through rate (%)": "ignore"}
    assert p.data_rows == 5 and len(p.rows) == 5 and p.rows[0]["remote_id"] == "a1B2c3D4e5F"
    assert p.sample[0][0] == "a1B2c3D4e5F"  # the Total row is not a video
    assert any(x.row == 2 and x.skipped and "Total" in x.message for x in p.problems)
    assert any(x.column == "Impressions" and "no field" in x.message for x in p.problems)

    assert [s.remote_id for s in r.snapshots] == ["a1B2c3D4e5F", "Qw3rTy_9uIo", "Zx-Cv8bNm12", "Lk9Jh7Gf5Ds",
                                                  "Mn0Bv1Cx2Za"]
    first = r.snapshots[0]
    assert (first.platform, first.source, first.owner_id, first.taken_at) == ("youtube", "csv_youtube", "u1", NOW)
    assert first.title == "5 habits that changed my mornings #shorts"
    assert first.posted_at == dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    assert (first.views, first.subscribers, first.duration, first.avg_view_seconds) == (21877, 164, 31.0, 16.0)
    assert first.watch_seconds == pytest.approx(97.1213 * 3600)
    assert first.avg_view_ratio == pytest.approx(0.5161)
    assert first.likes is None and first.comments is None  # not in the export: unknown, never 0
    assert r.snapshots[1].title == 'Why "cold brew" tastes sweeter, explained'
    assert r.snapshots[1].posted_at == dt.datetime(2026, 11, 10, tzinfo=dt.UTC)  # "Nov 10 2026", no comma
    assert r.skipped_rows == (2,) and r.rows_read == 5
    assert r.columns["Impressions"] == "left out" and r.columns["Views"] == "views"


def test_a_tiktok_studio_table_with_links_rounded_counts_and_us_dates():
    p, r = _import(_bytes("tiktok_studio_content.csv"))
    assert p.platform == "tiktok" and p.mapping["Video link"] == "remote_id" and p.mapping["Post time"] == "posted_at"
    assert p.mapping["Watched full video"] == "ignore" and p.mapping["Total play time"] == "watch_seconds"
    s = {x.remote_id: x for x in r.snapshots}
    first = s["7433012345678901234"]
    assert first.source == "csv_tiktok" and first.views == 12400 and first.likes == 1204  # "12.4K" as displayed
    assert first.posted_at == dt.datetime(2026, 11, 3, 14, 5, tzinfo=dt.UTC)  # 11/17 elsewhere: month first
    assert first.avg_view_seconds == 7.3 and first.watch_seconds == pytest.approx(26784.5)
    assert s["7429876543210987654"].views == 1_100_000
    assert not any("ambiguous" in x.message for x in r.problems)


def test_wrong_types_and_mixed_dates_are_reported_by_row_and_column():
    p, r = _import(_bytes("youtube_messy.csv"))
    assert p.can_import and p.decimal == "."
    assert [s.remote_id for s in r.snapshots] == ["vid_a000001", "vid_d000004", "vid_f000006", "vid_g000007",
                                                  "vid_h000008"]
    assert r.skipped_rows == (2, 4, 5, 7, 11)
    s = {x.remote_id: x for x in r.snapshots}
    a = s["vid_a000001"]
    assert (a.views, a.likes, a.shares) == (12000, 1234, None)  # "12k", "1,234", "—" (missing, not zero)
    assert [x.message for x in _problems(r, 4)] == ["no views; skipped"]
    assert _problems(r, 5, "Views")[0].value == "abc" and "not a number" in _problems(r, 5)[0].message
    assert "not a whole number" in _problems(r, 7, "Views")[0].message
    assert "9 cells where the header has 8" in _problems(r, 11)[0].message
    # a cell that cannot be read is left out of its row, which stays
    d = s["vid_d000004"]
    assert d.likes is None and "'lots' is not a number" in _problems(r, 6, "Likes")[0].message
    assert d.posted_at == dt.datetime(2026, 11, 3, tzinfo=dt.UTC)  # 14/11 and 31/02 in the column: day first
    assert d.avg_view_seconds == 12.0
    assert s["vid_f000006"].posted_at is None and "day/month" in _problems(r, 8, "Video publish time")[0].message
    assert s["vid_g000007"].posted_at is None and "not a date" in _problems(r, 9, "Video publish time")[0].message
    assert s["vid_h000008"].posted_at == dt.datetime(2026, 11, 5, 8, 0, tzinfo=dt.UTC)
    assert s["vid_h000008"].views == 1500 and s["vid_h000008"].avg_view_seconds == 62.0
    assert all(not x.skipped for x in _problems(r, 6) + _problems(r, 8) + _problems(r, 9))
    # the preview already shows the whole file's problems
    assert {x.row for x in p.problems if x.skipped} == {2, 4, 5, 7, 11}


def test_an_iso_date_with_a_zone_is_read_in_utc():
    data = (b"Content,Video title,Video publish time,Views\n"
           b"aaaaaaaaaaa,One,2026-11-04T14:05:00+01:00,10\n")
    p, r = _import(data)
    assert r.snapshots[0].posted_at == dt.datetime(2026, 11, 4, 13, 5, tzinfo=dt.UTC)
    assert not any("time zone" in x.message for x in p.problems)


def test_ambiguous_day_month_dates_say_so_and_can_be_settled():
    data = (b"Video title,Video link,Post time,Total views\n"
           b"One,https://www.tiktok.com/@a/video/1111111111111111111,03/11/2026 10:00,10\n"
           b"Two,https://www.tiktok.com/@a/video/2222222222222222222,04/11/2026 10:00,20\n")
    p, r = _import(data)
    note = next(x for x in p.problems if "ambiguous" in x.message)
    assert note.column == "Post time" and note.row is None and "'03/11/2026 10:00'" in note.message
    assert r.snapshots[0].posted_at == dt.datetime(2026, 3, 11, 10, 0, tzinfo=dt.UTC)  # month first unless told
    assert any("without a time zone are read as UTC" in x.message for x in p.problems)
    _, r = _import(data, date_order="dmy")
    assert r.snapshots[0].posted_at == dt.datetime(2026, 11, 3, 10, 0, tzinfo=dt.UTC)
    _, r = _import(data, date_order="dmy", timezone="Europe/Berlin")
    assert r.snapshots[0].posted_at == dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)


def test_a_german_export_with_semicolons_grouped_thousands_and_decimal_commas():
    p, r = _import(_bytes("youtube_studio_de.csv"))
    assert p.platform == "youtube" and p.delimiter == ";" and p.decimal == ","
    assert p.mapping["Aufrufe"] == "views" and p.mapping["Inhalt"] == "remote_id"
    assert any("',' is the decimal mark" in x.message for x in p.problems)
    s = r.snapshots[0]
    assert (s.remote_id, s.views, s.subscribers) == ("K1l2M3n4O5p", 12004, 71)  # "12.004" is twelve thousand
    assert s.watch_seconds == pytest.approx(48.016 * 3600)  # "48,016" hours
    assert s.posted_at == dt.datetime(2026, 11, 3, tzinfo=dt.UTC)  # 03.11.2026
    assert r.skipped_rows == (2,)  # "Gesamt"


@pytest.mark.parametrize("encoding, expected", [("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"),
                                                ("utf-16-le", "utf-16-le")])
def test_a_bom_or_utf16_export_reads_the_same(encoding, expected):
    text = _bytes("youtube_studio_table_data.csv").decode("utf-8")
    data = text.encode(encoding)
    p, r = _import(data)
    assert p.encoding == expected and p.header[0] == "Content" and p.mapping["Content"] == "remote_id"
    assert r.snapshots[2].title == "The 20-second kitchen reset ✨"
    _, plain = _import(text.encode())
    assert r.snapshots == plain.snapshots


def test_a_tab_separated_utf16_export():
    rows = list(csv.reader(io.StringIO(_bytes("youtube_studio_table_data.csv").decode("utf-8"))))
    out = io.StringIO()
    csv.writer(out, delimiter="\t").writerows(rows)
    p, r = _import(out.getvalue().encode("utf-16"))  # with a BOM, as YouTube Studio's UTF-16 files have
    assert (p.encoding, p.delimiter) == ("utf-16", "\t") and len(r.snapshots) == 5


def test_an_unknown_layout_is_refused_with_the_reason():
    data = _bytes("unknown_layout.csv")
    p = preview(data)
    assert not p.can_import and p.platform is None
    assert "no video id or title column" in p.refused and "no views column" in p.refused
    assert "Name, Score, When" in p.refused
    assert {x.column for x in p.problems if "not recognised" in x.message} == {"Name", "Score", "When"}
    with pytest.raises(ImportRefused, match="cannot be imported: no video id or title column") as exc:
        parse(data, p.mapping, platform="youtube", owner_id=None, imported_at=NOW)
    assert exc.value.reason == "unmapped" and exc.value.status == 422


def test_a_mapping_override_imports_an_unknown_layout():
    data = _bytes("unknown_layout.csv")
    mapping = {"Name": "title", "Score": "views", "When": "ignore"}
    p, r = _import(data, mapping=mapping, platform="youtube")
    assert [(s.title, s.views) for s in r.snapshots] == [("Alice", 3), ("Bob", 5)]
    assert all(s.remote_id.startswith("h:") for s in r.snapshots)  # no id column: a hash of the title, said so
    assert any("hash of its title" in x.message for x in r.problems)
    _, again = _import(data, mapping=mapping, platform="youtube")
    assert [s.remote_id for s in again.snapshots] == [s.remote_id for s in r.snapshots]  # stable across imports


def test_a_mapping_override_changes_what_a_column_fills():
    data = _bytes("youtube_studio_table_data.csv")
    p = preview(data)
    mapping = dict(p.mapping) | {"Subscribers": "ignore", "Impressions": "reach"}
    _, r = _import(data, mapping=mapping)
    assert r.snapshots[0].subscribers is None and r.snapshots[0].reach == 180233


@pytest.mark.parametrize("mapping, message", [
    ({"Nope": "views"}, "names the column 'Nope'"),
    ({"Views": "popularity"}, "not a field"),
    ({"Views": "views", "Subscribers": "views", "Content": "remote_id"}, "mapped to views"),
])
def test_a_bad_mapping_is_refused(mapping, message):
    with pytest.raises(ImportRefused, match=message):
        parse(_bytes("youtube_studio_table_data.csv"), mapping, platform="youtube", owner_id=None, imported_at=NOW)


def test_the_total_row_is_skipped_wherever_the_id_column_is():
    data = (b"Video title,Content,Views\n"
           b"Total,,100\n"
           b"One,aaaaaaaaaaa,60\n"
           b"Two,bbbbbbbbbbb,40\n")
    _, r = _import(data, platform_hint="youtube")
    assert [s.remote_id for s in r.snapshots] == ["aaaaaaaaaaa", "bbbbbbbbbbb"] and r.skipped_rows == (2,)


def test_a_png_renamed_csv_is_refused_as_such():
    with pytest.raises(ImportRefused, match="This is a PNG image, not a CSV file") as exc:
        preview((Path(__file__).parent / "data" / "coffee.png").read_bytes())
    assert exc.value.reason == "not_csv" and exc.value.status == 415


@pytest.mark.parametrize("data, what", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF document"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
    (b"<!DOCTYPE html><html><body>Views</body></html>", "web page"),
    (b"Views\n1\n2\n", "single column"),
])
def test_other_files_that_are_not_csv_are_refused(data, what):
    with pytest.raises(ImportRefused, match=what):
        preview(data)


def test_a_youtube_studio_zip_and_an_excel_workbook_are_refused_with_what_to_do():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Table data.csv", _bytes("youtube_studio_table_data.csv"))
        z.writestr("Chart data.csv", "Date,Views\n")
    with pytest.raises(ImportRefused, match="ZIP archive") as exc:
        preview(buf.getvalue())
    assert "Table data.csv" in exc.value.hint
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(ImportRefused, match="Excel workbook"):
        preview(buf.getvalue())


def test_too_large_or_too_long_files_are_refused():
    with pytest.raises(ImportRefused, match="at most 20 MB") as exc:
        preview(b"a" * (MAX_BYTES + 1))
    assert exc.value.reason == "too_large" and exc.value.status == 413
    rows = "".join(f"v{i:010d},{i}\n" for i in range(MAX_ROWS + 1))
    with pytest.raises(ImportRefused, match="more than 100,000 rows") as exc:
        preview(("Content,Views\n" + rows).encode())
    assert exc.value.reason == "too_many_rows"


def test_a_file_with_no_usable_row_is_refused_naming_the_rows():
    data = "Content,Views\naaaaaaaaaaa,—\nbbbbbbbbbbb,many\n".encode()
    with pytest.raises(ImportRefused, match=r"No row .* row 2: no views; skipped; row 3: 'many' is not a number"):
        _import(data, platform_hint="youtube")


def test_a_repeated_video_is_kept_once_and_a_future_publish_time_is_left_out():
    data = (b"Content,Video publish time,Views\n"
           b"aaaaaaaaaaa,2026-11-03,10\n"
           b"aaaaaaaaaaa,2026-11-03,11\n"
           b"bbbbbbbbbbb,2027-01-01,5\n")
    _, r = _import(data, platform_hint="youtube")
    assert [(s.remote_id, s.views) for s in r.snapshots] == [("aaaaaaaaaaa", 10), ("bbbbbbbbbbb", 5)]
    assert "same video as row 2" in _problems(r, 3)[0].message and r.skipped_rows == (3,)
    assert r.snapshots[1].posted_at is None and "after the import time" in _problems(r, 4)[0].message


def test_youtube_links_and_durations_in_other_forms():
    data = (b"Video,Title,Views,Average view duration,Duration\n"
           b"https://www.youtube.com/shorts/a1B2c3D4e5F,One,1,1m 5s,0:31\n"
           b"https://youtu.be/Qw3rTy_9uIo,Two,2,38.5s,42\n")
    _, r = _import(data, platform_hint="youtube")
    assert [(s.remote_id, s.avg_view_seconds, s.duration) for s in r.snapshots] == [
        ("a1B2c3D4e5F", 65.0, 31.0), ("Qw3rTy_9uIo", 38.5, 42.0)]


def test_parse_refuses_a_naive_import_time_and_an_unknown_platform():
    data = _bytes("youtube_studio_table_data.csv")
    mapping = preview(data).mapping
    with pytest.raises(ImportRefused, match="time zone"):
        parse(data, mapping, platform="youtube", owner_id=None, imported_at=dt.datetime(2026, 12, 1))
    with pytest.raises(ImportRefused, match="Unknown platform"):
        parse(data, mapping, platform="vimeo", owner_id=None, imported_at=NOW)
    with pytest.raises(ImportRefused, match="Unknown platform"):
        preview(data, platform_hint="vimeo")
