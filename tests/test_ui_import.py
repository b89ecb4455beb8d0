"""The Analytics tab's "Import a CSV" below the browser (studio.ui_analytics_import over a hosted studio's UiHooks, as
the tab calls them), and the one line of compute and paid-API cost under a made short (UiHooks.run_cost, the result
page's HTML). The whole import in Chromium on a phone is a step of tests/test_analytics_browser.py."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.errors import InvalidRequest
from studio.analytics.imports import ImportRefused
from studio.ui_analytics_import import (
    check,
    mapping_of,
    read,
    received,
    refused_html,
    store,
    upload_limit,
)
from tests.api_helpers import make_settings
from tests.test_api_media import png_bytes

DATA = Path(__file__).parent / "data" / "analytics"
LIMIT = upload_limit(1024)
ZONE = "America/New_York"


@pytest.fixture
def studio(tmp_path):
    """A hosted studio with two creators; ``who`` is Ada's account as the UI sees it."""
    from studio.hosted import Hosted
    from studio.tables import User
    from studio.ui_hooks import Account, UiHooks

    hosted = Hosted(make_settings(tmp_path / "home"))
    with hosted.db.session() as s:
        s.add_all([User(id="ada", email="ada@example.com", password_hash="x"),
                   User(id="bea", email="bea@example.com", password_hash="x")])
    hooks = UiHooks(hosted)
    yield hooks, Account("ada", None, "127.0.0.1"), Account("bea", None, "127.0.0.1")
    hosted.db.dispose()


def picked(name: str, data: bytes) -> str:
    """What the section's file picker sends: the file read in the browser, as base64 in JSON."""
    return json.dumps({"name": name, "size": len(data), "data": base64.b64encode(data).decode(), "at": 1})


def snapshots(hooks, owner: str) -> int:
    from studio.tables import MetricSnapshotRow

    with hooks.hosted.db.session() as s:
        return s.scalar(select(func.count()).select_from(MetricSnapshotRow)
                        .where(MetricSnapshotRow.owner_id == owner)) or 0


def test_a_youtube_studio_export_is_previewed_imported_once_and_counted_in_my_posts(studio):
    hooks, ada, bea = studio
    data = (DATA / "youtube_studio_table_data.csv").read_bytes()

    # 1. the preview: the Studio that wrote it, what each column holds, the first rows as they will be stored
    held = read(*received(picked("Table data.csv", data), LIMIT))
    assert held.platform == "youtube" and held.name == "Table data.csv"
    assert held.proposal["Views"] == "views" and held.proposal["Content"] == "remote_id"
    assert held.proposal["Impressions"] == "ignore"
    assert held.samples["Views"] == "21877"
    mapping = mapping_of(held, [held.proposal.get(c, "ignore") for c in held.header])  # the dropdowns as proposed
    shown = check(held, mapping, "youtube", "auto", ZONE)
    assert shown.can_import and shown.videos == 5
    assert "Table data.csv" in shown.said and "YouTube Studio export · 5 videos to import" in shown.said
    assert "Left out: Impressions, Impressions click-through rate (%)." in shown.said
    assert "Row 2: the Studio&#x27;s &#x27;Total&#x27; summary row" in shown.said
    assert "read as America/New_York time" in shown.said and "choose another time zone above" in shown.said
    assert "5 habits that changed my mornings #shorts" in shown.rows and "21,877" in shown.rows
    assert "<td>3 Nov 2026</td>" in shown.rows and "<th>Published</th>" in shown.rows
    assert snapshots(hooks, "ada") == 0  # a preview stores nothing

    # 2. Import: one snapshot per video, the Total row skipped with its row number and reason
    said = store(hooks, ada, held, mapping, "youtube", "auto", ZONE)
    assert ("✓ 5 snapshots of 5 videos stored; 1 row skipped (row 2: the Studio&#x27;s &#x27;Total&#x27; summary "
            "row, not a video)") in said, said
    assert snapshots(hooks, "ada") == 5
    titles = {p.title for p in hooks.analytics_posts(ada, ZONE).posts}
    assert "5 habits that changed my mornings #shorts" in titles and len(titles) == 5  # My posts counts them
    assert hooks.analytics_posts(bea, ZONE).posts == ()  # and only Ada's

    # 3. the same file again: nothing stored twice, and said so
    again = store(hooks, ada, read("Table data.csv", data), mapping, "youtube", "auto", ZONE)
    assert "Already imported" in again and "nothing was stored twice" in again and "✓" not in again
    assert snapshots(hooks, "ada") == 5


def test_a_png_renamed_csv_is_refused_by_its_content_in_plain_words(studio):
    hooks, ada, _ = studio
    with pytest.raises(ImportRefused) as refused:
        read(*received(picked("numbers.csv", png_bytes()), LIMIT))
    said = refused_html(refused.value)
    assert "✗ This is a PNG image, not a CSV file. Use the Studio&#x27;s Export button and choose CSV." in said
    assert "Traceback" not in said and "/" not in said.replace("</p>", "")
    with pytest.raises(InvalidRequest, match="“big.csv” is 3.0 MB; this tab reads CSV files of up to 756 KB"):
        received(json.dumps({"name": "big.csv", "size": 3 * 2**20, "at": 1}), LIMIT)  # too large: not even sent
    assert snapshots(hooks, "ada") == 0


def test_an_unmappable_csv_is_refused_with_its_reason_until_its_columns_are_mapped(studio):
    hooks, ada, _ = studio
    data = (DATA / "unknown_layout.csv").read_bytes()
    held = read("scores.csv", data)
    assert held.platform is None and held.header == ("Name", "Score", "When")
    asked = check(held, mapping_of(held, []), None, "auto", ZONE)  # the header does not name a Studio
    assert not asked.can_import and "which Studio wrote it?" in asked.said
    refused = check(held, mapping_of(held, []), "youtube", "auto", ZONE)
    assert not refused.can_import and refused.rows == ""
    assert ("✗ This file cannot be imported: no video id or title column (such as Content, Video, Video link or "
            "Video title) and no views column (such as Views or Total views); the columns are: Name, Score, When."
            ) in refused.said
    said = store(hooks, ada, held, mapping_of(held, []), "youtube", "auto", ZONE)  # Import pressed anyway
    assert said.startswith('<p class="an-refused">✗ This file cannot be imported') and snapshots(hooks, "ada") == 0

    # the mapping step: the creator says which column holds what, and the same file can be imported
    mapped = mapping_of(held, ["title", "views", "ignore"])
    assert mapped == {"Name": "title", "Score": "views", "When": "ignore"}
    shown = check(held, mapped, "youtube", "auto", ZONE)
    assert shown.can_import and shown.videos == 2 and "Left out: When." in shown.said
    assert "✓ 2 snapshots of 2 videos stored" in store(hooks, ada, held, mapped, "youtube", "auto", ZONE)
    twice = mapping_of(held, ["views", "views", "ignore"])
    assert "Both &#x27;Name&#x27; and &#x27;Score&#x27; are mapped to views." in check(
        held, twice, "youtube", "auto", ZONE).said


def test_the_creator_settles_the_order_of_ambiguous_dates(studio):
    data = (b"Content,Video title,Video publish time,Views\n"
            b"a1B2c3D4e5F,Morning habits,03/11/2026,1200\n"
            b"Qw3rTy_9uIo,Cold brew,04/11/2026,800\n")
    held = read("Table data.csv", data)
    assert held.numeric_dates  # the section offers the order
    mapping = mapping_of(held, [held.proposal.get(c, "ignore") for c in held.header])
    auto = check(held, mapping, "youtube", "auto", "UTC")
    assert "ambiguous dates" in auto.said and "Choose “Day first” below if the day comes first" in auto.said
    assert "<td>11 Mar 2026</td>" in auto.rows
    assert "<td>3 Nov 2026</td>" in check(held, mapping, "youtube", "dmy", "UTC").rows
    assert not read("x.csv", (DATA / "youtube_studio_table_data.csv").read_bytes()).numeric_dates


def test_the_result_says_the_runs_compute_and_what_paid_apis_would_have_charged(studio):
    from studio.analytics.costs import Units, load_prices, paid_usd
    from studio.analytics.record import run_events
    from studio.analytics.store import EventStore
    from studio.tables import Short
    from studio.ui import short_html

    hooks, ada, bea = studio
    with hooks.hosted.db.session() as s:
        s.add_all([Short(id="s1", owner_id="ada", title="Morning habits", files={}),
                   Short(id="s0", owner_id="ada", title="Made before runs were kept", files={})])
    units = Units(voice_chars=620, images=6, transcribe_seconds=31.0)
    cost = paid_usd(units, load_prices()).as_dict()
    report = {"run_id": "r1", "created_at": datetime(2026, 12, 1, 9, 0, tzinfo=UTC).isoformat(),
              "stages": [{"stage": "voice", "engine": "piper", "seconds": 6.2},
                         {"stage": "stills", "engine": "sd-turbo", "seconds": 9.9}]}
    EventStore(hooks.hosted.db).record_many(run_events(report, front="web", device="cpu", owner_id="ada",
                                                       short_id="s1", cost=cost, units=units.as_dict()))

    line = short_html(hooks.view(ada, "s1"))
    assert (f"Made in 16 s of compute on this machine (CPU) · the same work on paid APIs: about "
            f"${cost['total_usd']:,.2f} (") in line, line
    assert "ElevenLabs voice" in line and "OpenAI images" in line and "OpenAI transcription" in line
    assert "prices from configs/prices.yaml, not verified)" in line
    assert "script writing" not in line  # no language model ran: no line for it
    assert "Made in" not in short_html(hooks.view(ada, "s0"))  # an older short: nothing shown
    assert hooks.run_cost(bea, "s1") is None  # another creator's run is not theirs to read
