"""The dashboards' figures (studio/analytics/figures.py) from small typed values and from empty ones: each builds,
writes a real PNG of the stated size, says what is missing when there is nothing to draw, greys the heatmap's cells
with too few posts and marks the 3-second point on the retention curves."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from studio.analytics import figures
from studio.analytics.types import (
    Comparison,
    HeatCell,
    PostsDashboard,
    PostSummary,
    StudioDashboard,
    VariantResult,
    Verdict,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # a Monday


def studio_board() -> StudioDashboard:
    days = [(T0.date() + timedelta(days=i)).isoformat() for i in range(7)]
    return StudioDashboard(
        shorts_per_day=tuple(zip(days, (0, 2, 1, 3, 0, 4, 2))),
        stage_seconds=(("stills", 21.5, 12), ("voice", 8.25, 12), ("script", 2.0, 12)),
        engines=(("script", "qwen2", 8), ("script", "template", 4), ("stills", "sd-turbo", 12),
                 ("voice", "piper", 11), ("voice", "coqui", 1)),
        cache_hit_rate=0.25,
        failures=(("voice_oom", 2), ("stills_timeout", 1)),
        savings=tuple((d, 600.0 * (i + 1), 0.4 * (i + 1)) for i, d in enumerate(days)),
        runs=15)


def post(i: int, *, duration: float | None = 30.0, hook: float | None = 0.7) -> PostSummary:
    return PostSummary(post_id=f"p{i}", platform="youtube", title=f"Post number {i}",
                       posted_at=T0 - timedelta(days=i), views=1000 * (i + 1), hours=24.0 * (i + 1),
                       duration=duration, hook_retention=hook, avg_view_ratio=0.5,
                       dimensions={"template": "bold", "platform": "youtube"})


def curve(hook: float, duration: float = 30.0) -> tuple[tuple[float, float], ...]:
    """A straight fall to ``hook`` at 3 s, then a slow fade (YouTube's elapsed ratio, audience watch ratio)."""
    x3 = 3.0 / duration
    return tuple((k / 20, round(1 - (1 - hook) * (k / 20) / x3 if k / 20 <= x3 else hook * (1.2 - k / 20), 4))
                 for k in range(1, 21))


def posts_board() -> PostsDashboard:
    posts = (post(0, hook=0.71), post(1, hook=0.4), post(2, hook=None, duration=None))
    marks = (1.0, 6.0, 24.0, 72.0)
    curves = {p.post_id: tuple((m, 100.0 * (j + 1) * (i + 1)) for j, m in enumerate(marks))
              for i, p in enumerate(posts)}
    heat = [HeatCell(weekday=d, hour=h, posts=0, median_views=None) for d in range(7) for h in range(24)]
    heat[0 * 24 + 18] = HeatCell(0, 18, 4, 5200.0)  # Monday 18:00: enough posts
    heat[2 * 24 + 9] = HeatCell(2, 9, 2, None)  # Wednesday 09:00: two posts, too few to say
    heat[6 * 24 + 21] = HeatCell(6, 21, 3, 900.0)
    return PostsDashboard(
        posts=posts, curves=curves, median_curve=tuple((m, 200.0 * (j + 1)) for j, m in enumerate(marks)),
        retention={"p0": curve(0.71), "p1": curve(0.4)}, heatmap=tuple(heat),
        comparisons=(Comparison("template", "bold", 5, 4000.0), Comparison("template", "news", 1, 900.0),
                     Comparison("length", "15–30 s", 4, 3000.0), Comparison("length", "<15 s", 2, 5000.0),
                     Comparison("platform", "youtube", 6, 3500.0)),
        timezone="Europe/Berlin", min_posts_per_cell=3)


def empty_posts() -> PostsDashboard:
    return PostsDashboard(posts=(), curves={}, median_curve=(), retention={},
                          heatmap=tuple(HeatCell(d, h, 0, None) for d in range(7) for h in range(24)),
                          comparisons=())


def empty_studio() -> StudioDashboard:
    return StudioDashboard(shorts_per_day=(("2026-03-02", 0),), stage_seconds=(), engines=(), cache_hit_rate=None,
                           failures=(), savings=(("2026-03-02", 0.0, 0.0),), runs=0)


def verdict(leader: str | None = "B") -> Verdict:
    return Verdict(experiment_id="e1", alpha=0.05, evidence=42.0, leader=leader,
                   said="B leads: 6.6% vs 3.6% engaged. This holds however often you look.",
                   variants=(VariantResult("A", "s1", ("p1",), 4000, 144, 0.036),
                             VariantResult("B", "s2", ("p2",), 4100, 271, 0.066)))


def texts(fig) -> str:
    """Every piece of text drawn in the figure, one string."""
    from matplotlib.text import Text

    return "\n".join(t.get_text() for t in fig.findobj(Text))


def png_size(path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


STUDIO_CASES = [(name, build) for name, build in figures.STUDIO_FIGURES.items()]
POSTS_CASES = [(name, build) for name, build in figures.POSTS_FIGURES.items()]


@pytest.mark.parametrize(("name", "build"), STUDIO_CASES + POSTS_CASES, ids=[n for n, _ in STUDIO_CASES + POSTS_CASES])
def test_each_figure_draws_a_small_value_and_writes_a_real_png_of_its_size(name, build, tmp_path):
    board = studio_board() if (name, build) in STUDIO_CASES else posts_board()
    fig = build(board)
    assert fig.empty is False, name
    assert fig.get_suptitle(), "every figure says in words what it shows"
    path = figures.save_png(fig, tmp_path / "out" / f"{name}.png")
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    width, height = fig.get_size_inches()
    assert png_size(path) == (round(width * figures.DPI), round(height * figures.DPI))
    assert png_size(path)[0] == 720  # drawn for a phone's column, shown at about 330 px


@pytest.mark.parametrize(("name", "build"), STUDIO_CASES + POSTS_CASES, ids=[n for n, _ in STUDIO_CASES + POSTS_CASES])
def test_each_figure_says_what_is_missing_when_there_is_nothing_to_draw(name, build, tmp_path):
    board = empty_studio() if (name, build) in STUDIO_CASES else empty_posts()
    fig = build(board)
    assert fig.empty is True, name
    said = figures.NO_RUNS if isinstance(board, StudioDashboard) else figures.NO_POSTS
    assert said in texts(fig).replace("\n", " ")
    path = figures.save_png(fig, tmp_path / f"{name}.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert png_size(path) == (720, round(2.4 * figures.DPI))


def test_the_heatmap_greys_cells_with_too_few_posts_and_numbers_every_cell_with_posts():
    from matplotlib.patches import Rectangle

    fig = figures.heatmap(posts_board())
    ax = fig.axes[0]
    drawn = ax.images[0].get_array()  # rows are hours, columns weekdays
    assert drawn.shape == (24, 7)
    assert not drawn.mask[18, 0] and drawn[18, 0] == 5200.0
    assert not drawn.mask[21, 6] and drawn[21, 6] == 900.0
    assert drawn.mask[9, 2], "two posts are too few: no colour of their own"
    assert drawn.mask.sum() == 24 * 7 - 2
    hatched = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]
    assert [(p.get_x() + 0.5, p.get_y() + 0.5) for p in hatched] == [(2, 9)]  # only the cell with too few posts
    counts = {t.get_text() for t in ax.texts}
    assert counts == {"4", "2", "3"}  # every cell with posts shows how many
    words = texts(fig)
    assert "Fewer than 3 posts:\nnot enough to say" in words
    assert "Europe/Berlin" in words.replace("\n", " ")


def test_the_retention_figure_marks_the_three_second_point_with_its_share():
    from matplotlib.lines import Line2D

    board = posts_board()
    fig = figures.retention(board)
    ax = fig.axes[0]
    dots = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [3.0] and ln.get_marker() == "o"]
    assert sorted(float(ln.get_ydata()[0]) for ln in dots) == [0.4, 0.71]  # one per post with a curve
    note = [t for t in ax.texts if "still watching at 3" in t.get_text()]
    assert len(note) == 1 and note[0].get_text().startswith("71%")  # the newest post's, named
    assert any(isinstance(ln, Line2D) and ln.get_linestyle() == ":" and list(ln.get_xdata()) == [3, 3]
               for ln in ax.get_lines()), "a line at 3 s"
    # the curves are drawn against seconds into the video: the 3 s point of every post lines up
    assert max(ax.get_lines()[0].get_xdata()) == pytest.approx(30.0)
    highlighted = figures.retention(board, highlight="p1")
    note = [t for t in highlighted.axes[0].texts if "still watching" in t.get_text()]
    assert note[0].get_text().startswith("40%")


def test_the_views_figure_is_log_x_with_the_median_bold():
    fig = figures.views_curves(posts_board())
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    widths = {ln.get_label(): ln.get_linewidth() for ln in ax.get_lines()}
    assert widths["Your median"] == max(widths.values())
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "1 day" in labels and "1 h" in labels


def test_comparisons_show_the_posts_behind_each_bar_and_lengths_in_their_order():
    fig = figures.comparisons(posts_board())
    words = texts(fig)
    assert "4k · 5 posts" in words and "900 · 1 post" in words
    length = next(ax for ax in fig.axes if ax.get_title(loc="left") == "Length")
    assert [t.get_text() for t in length.get_yticklabels()] == ["15–30 s", "<15 s"]  # bottom to top: shortest on top
    assert "Hatched: fewer than 3 posts" in words


def test_the_ab_figure_shows_rates_with_views_and_the_verdict_as_its_caption():
    fig = figures.experiment(verdict(), "Hook test")
    words = texts(fig).replace("\n", " ")
    assert "6.6% leads" in words and "3.6%" in words
    assert "4k views" in words and "4.1k views" in words
    assert "B leads: 6.6% vs 3.6% engaged." in words
    bars = fig.axes[0].patches
    assert bars[1].get_facecolor()[:3] != bars[0].get_facecolor()[:3]  # the leader stands out
    none_yet = figures.experiment(Verdict("e2", (VariantResult("A", "s1", (), 0, 0, None),
                                                 VariantResult("B", "s2", (), 0, 0, None)),
                                          None, "Not enough data yet: no views.", 0.05, 1.0), "New test")
    assert none_yet.empty and "Not enough data yet" in texts(none_yet)


def test_figures_build_in_several_threads_at_once(tmp_path):
    """The UI draws for several creators at once; the house style is process-wide, so building is serialised."""
    errors, sizes = [], []

    def draw(i: int) -> None:
        try:
            fig = figures.heatmap(posts_board()) if i % 2 else figures.shorts_per_day(studio_board())
            sizes.append(png_size(figures.save_png(fig, tmp_path / f"{i}.png")))
        except Exception as exc:  # pragma: no cover - the failure is reported below
            errors.append(exc)

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(sizes) == 6 and {w for w, _ in sizes} == {720}


def test_numbers_are_short_words():
    assert [figures.short_number(x) for x in (7, 999, 1234, 12_345, 2_100_000, None)] == \
        ["7", "999", "1.2k", "12k", "2.1M", "–"]
