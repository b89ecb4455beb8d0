"""The research notebook (notebooks/analytics.ipynb) runs top to bottom on exported Parquet, with DuckDB alone, and its
two figures' numbers equal the dashboards' (studio/analytics/queries.py) on the same data; it is kept in git with its
outputs stripped."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.analytics_data import build

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "analytics.ipynb"


def test_the_notebook_is_kept_without_outputs():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code), \
        "strip the notebook's outputs before committing it (Kernel → Restart and clear outputs, then save)"


@pytest.mark.slow  # starts a Jupyter kernel
def test_the_notebook_reproduces_two_dashboard_figures(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    from studio.analytics.queries import Dashboards

    today, zone = date(2026, 11, 20), "America/New_York"
    root = tmp_path / "parquet"
    build(root, today=today, timezone=zone)
    for name, value in (("PARQUET", str(root)), ("OWNER", "alice"), ("TIMEZONE", zone), ("DAYS", "30"),
                        ("TODAY", today.isoformat())):
        monkeypatch.setenv(f"STUDIO_ANALYTICS_{name}", value)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    got = json.loads(printed)
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 2, "both figures are drawn"

    boards = Dashboards(root, "alice", timezone=zone, today=today)
    assert [tuple(x) for x in got["shorts_per_day"]] == list(boards.studio(30).shorts_per_day)
    assert sum(n for _, n in got["shorts_per_day"]) > 50
    cells = {(c.weekday, c.hour): c for c in boards.posts().heatmap if c.posts}
    mine = {(w, h): (n, m) for w, h, n, m in got["heatmap"]}
    assert set(mine) == set(cells) and len(cells) >= 5
    for key, cell in cells.items():
        n, median = mine[key]
        assert n == cell.posts, key
        if cell.median_views is not None:
            assert median == pytest.approx(cell.median_views, rel=1e-9), key
