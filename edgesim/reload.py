"""Hot reload: watch the config and every function file; apply a good edit, keep serving on a bad one."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

from watchfiles import awatch

from edgesim.config import CloudFrontFunctionAssociation, DistributionConfig, S3Origin
from edgesim.errors import UserError
from edgesim.simulator import SYNTAX_NOTE, Simulator, lambda_syntax_problems

log = logging.getLogger("edgesim")
_CODE = (".py", ".js", ".mjs", ".cjs", ".json")
# Folders under a Lambda@Edge handler's folder never watched: installed packages, caches, VCS.
_NOT_WATCHED = frozenset({"node_modules", "__pycache__", "site-packages", ".venv", "venv"})
# A handler's folder with more folders under it than this is watched alone, not its tree.
MAX_HANDLER_FOLDERS = 200


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


def watched_directories(config: DistributionConfig) -> list[Path]:
    """The folders to watch, each on its own (not recursively): every folder holding a watched file,
    and the folders under a Lambda@Edge handler's folder, whose modules the handler may import.

    Not recursive because inotify reports reads as well as writes: a recursive watch of the config's
    folder wakes the watcher for every file a local-directory origin (or any origin program) reads
    under it, once per request, and a project root can hold more folders than the system lets one
    process watch. A local-directory origin's tree is never watched: its files are content, not code.
    """
    served = [origin.directory.resolve() for origin in config.origins if isinstance(origin, S3Origin)]
    directories = {p.parent for p in watched_paths(config) if p.parent.exists()}
    handler_roots = {a.path.parent for _, _, a in config.function_associations()
                     if not isinstance(a, CloudFrontFunctionAssociation) and a.path.parent.exists()}
    for root in sorted(handler_roots):
        below: list[Path] = []
        for folder, names, _ in os.walk(root):
            names[:] = sorted(n for n in names if not n.startswith(".") and n not in _NOT_WATCHED
                              and Path(folder, n).resolve() not in served)
            below += [Path(folder, n) for n in names]
            if len(below) > MAX_HANDLER_FOLDERS:
                below = []  # a project's root, most likely: the handler's own folder only
                break
        directories.update(below)
    return sorted(directories)


async def watch_and_reload(simulator: Simulator, report: Callable[[str], None], stop: asyncio.Event) -> None:
    """Reload `simulator` from its config file whenever a watched file changes, until `stop`."""
    while not stop.is_set():
        config = simulator.config
        if config.source is None:
            return
        paths = watched_paths(config)
        # Watch directories: editors replace files (write to temp, rename), which a file watch misses.
        directories = [str(d) for d in watched_directories(config)]
        async for changes in awatch(*directories, stop_event=stop, debounce=100, step=50, recursive=False):
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
        for problem in await lambda_syntax_problems(simulator.config):
            report(f"  {SYNTAX_NOTE}: {problem}")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
