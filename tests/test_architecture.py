"""The seams hold: the public API is sorted, and the core never loads a runtime or a web framework."""

from __future__ import annotations

import subprocess
import sys

import edgesim


def test_public_api_is_sorted_and_importable() -> None:
    assert list(edgesim.__all__) == sorted(edgesim.__all__)
    for name in edgesim.__all__:
        assert getattr(edgesim, name) is not None


def test_importing_the_pipeline_loads_no_runtime_and_no_framework() -> None:
    code = ("import sys, edgesim.pipeline, edgesim.simulator; "
            "bad = [m for m in ('py_mini_racer', 'starlette', 'uvicorn') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_the_pipelines_parts_import_downward_only() -> None:
    """pipeline.py composes the edge cache's flow, the origin side and the custom error pages; none of
    them imports the pipeline back (no cycle), and each loads on its own."""
    import ast
    from pathlib import Path

    package = Path(edgesim.__file__).parent
    for part in ("edge_cache_flow", "origin_side", "custom_error_pages", "exchange", "request_collapsing"):
        tree = ast.parse((package / f"{part}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert "edgesim.pipeline" not in imported, part
        subprocess.run([sys.executable, "-c", f"import edgesim.{part}"], check=True)
