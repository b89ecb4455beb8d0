"""The import contract: studio → pipelines → models, never upward, and no UI/DB/queue below studio."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "models": {"pipelines", "studio", "gradio", "fastapi", "sqlalchemy", "duckdb", "supabase", "celery", "redis",
               "psycopg", "psycopg2", "starlette", "uvicorn"},
    "pipelines": {"studio", "gradio", "fastapi", "sqlalchemy", "duckdb", "supabase", "celery", "redis", "psycopg",
                  "psycopg2", "starlette", "uvicorn"},
}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module.split(".")[0]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_never_imports_upward(layer):
    bad = [f"{p.relative_to(ROOT)}:{line} imports {mod}"
           for p in (ROOT / layer).rglob("*.py") for line, mod in _imports(p) if mod in FORBIDDEN[layer]]
    assert not bad, "\n".join(bad)


def test_contract_check_catches_a_violation(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("import gradio\nfrom studio.core import Studio\n")
    assert {m for _, m in _imports(bad)} & FORBIDDEN["pipelines"] == {"gradio", "studio"}
