"""Hot reload: watch the config and every function file; apply a good edit, keep serving on a bad one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from watchfiles import awatch

from edgesim.config import CloudFrontFunctionAssociation, DistributionConfig
from edgesim.errors import UserError
from edgesim.simulator import Simulator

log = logging.getLogger("edgesim")
_CODE = (".py", ".js", ".mjs", ".cjs", ".json")


def watched_paths(config: DistributionConfig) -> set[Path]:
    """The config file and every file it names (functions, handlers, key value stores)."""
    paths: set[Path] = set()
    if config.source is not None:
        paths.add(Path(config.source).resolve())
    for _, _, assoc in config.function_associations():
        if isinstance(assoc, CloudFrontFunctionAssociation):
            paths.add(assoc.cloudfront_function)
            if assoc.kvs is not None:
                paths.add(assoc.kvs)
        else:
            paths.add(assoc.path)
    return paths


async def watch_and_reload(simulator: Simulator, report: Callable[[str], None], stop: asyncio.Event) -> None:
    """Reload `simulator` from its config file whenever a watched file changes, until `stop`."""
    while not stop.is_set():
        config = simulator.config
        if config.source is None:
            return
        paths = watched_paths(config)
        # Watch directories: editors replace files (write to temp, rename), which a file watch misses.
        directories = sorted({str(p.parent) for p in paths if p.parent.exists()})
        async for changes in awatch(*directories, stop_event=stop, debounce=100, step=50):
            changed = {Path(path).resolve() for _, path in changes}
            # A handler's sibling modules count too: a Lambda@Edge handler may import them.
            if changed & paths or any(p.suffix in _CODE for p in changed):
                break
        else:
            return
        try:
            await simulator.reload(Path(config.source))
        except UserError as exc:
            report(f"reload failed, still serving the last good version:\n{_indent(str(exc))}")
            continue
        problems = simulator.load_problems
        report("reloaded " + ", ".join(sorted(p.name for p in changed & paths or changed)))
        for problem in problems:
            report(f"  function failed to load (its requests get CloudFront's 503): {problem}")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
