"""Hot reload: watch the config and every function file; apply a good edit, keep serving on a bad one."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from watchfiles import awatch, watch

from edgesim import heap
from edgesim.config import DistributionConfig, load_config
from edgesim.errors import ConfigError, UserError
from edgesim.function_associations import CloudFrontFunctionAssociation
from edgesim.origin_config import S3Origin
from edgesim.simulator import SYNTAX_NOTE, Simulator, lambda_syntax_problems

log = logging.getLogger("edgesim")
_CODE = (".py", ".js", ".mjs", ".cjs", ".json")
# Folders under a Lambda@Edge handler's folder never watched: installed packages, caches, VCS.
_NOT_WATCHED = frozenset({"node_modules", "__pycache__", "site-packages", ".venv", "venv"})
# A handler's folder with more folders under it than this is watched alone, not its tree.
MAX_HANDLER_FOLDERS = 200
# How often a request may stat the watched files to see whether they changed (Reloader.stale).
CHECK_INTERVAL_S = 0.002


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
    directories = {p.parent for p in watched_paths(config) if p.parent.exists()}
    return sorted(directories | handler_folders(config))


def handler_folders(config: DistributionConfig) -> set[Path]:
    """The folders whose code a Lambda@Edge handler may import: its own and those under it.

    A code file changed elsewhere (an app's own `.py` beside edgesim.toml, another `.js` beside a
    CloudFront Function, which can import nothing) is not the distribution's code: no reload."""
    served = [origin.directory.resolve() for origin in config.origins if isinstance(origin, S3Origin)]
    roots = {a.path.parent for _, _, a in config.function_associations()
             if not isinstance(a, CloudFrontFunctionAssociation) and a.path.parent.exists()}
    folders = set(roots)
    for root in sorted(roots):
        below: list[Path] = []
        for folder, names, _ in os.walk(root):
            names[:] = sorted(n for n in names if not n.startswith(".") and n not in _NOT_WATCHED
                              and Path(folder, n).resolve() not in served)
            below += [Path(folder, n) for n in names]
            if len(below) > MAX_HANDLER_FOLDERS:
                below = []  # a project's root, most likely: the handler's own folder only
                break
        folders.update(below)
    return folders


class Reloader:
    """Reloads a simulator from its config file and says what happened; the file watcher and the
    per-request check (`Simulator.sources`) share it, so that one edit makes one reload.

    The per-request check compares the modification times of the config and the files it names
    with those of the version being served: the watcher alone applies an edit some tens of
    milliseconds after it is saved, and a request sent right after the save (a script, or curl
    just after the editor) would still get the old version."""

    def __init__(self, simulator: Simulator, report: Callable[[str], None],
                 describe: Callable[[DistributionConfig], str] | None = None) -> None:
        self.simulator = simulator
        self._report = report
        self._describe = describe
        self._next_check = 0.0
        self._reporting: set[asyncio.Task[None]] = set()  # reports of reloads (kept from the collector)
        self._remember()

    def _remember(self) -> None:
        self.paths = watched_paths(self.simulator.config)
        self.code_folders = {folder.resolve() for folder in handler_folders(self.simulator.config)}
        self._times = _modified(self.paths)

    def concerns(self, path: Path) -> bool:
        """Whether a change to `path` (resolved) is one to the distribution: a file the config names,
        or code a Lambda@Edge handler may import (handler_folders). Not an editor's hidden or `#`
        file beside it (`.#x.py` Emacs locks the moment a buffer changes, `#x.py#` autosaves, `.x.json`
        scratch): no Python module's name starts with a dot, and each such reload would empty the
        edge cache and restart the workers."""
        return path in self.paths or (path.suffix in _CODE and path.parent in self.code_folders
                                      and not path.name.startswith((".", "#")))

    def current(self) -> bool:
        """Whether the files are as the version served (or being loaded) last saw them."""
        return _modified(self.paths) == self._times

    def stale(self) -> bool:
        """`not current()`, checked at most every CHECK_INTERVAL_S: a busy server stats the files
        a few hundred times a second, not on every request."""
        now = time.monotonic()
        if now < self._next_check:
            return False
        self._next_check = now + CHECK_INTERVAL_S
        return not self.current()

    async def reload_now(self) -> None:
        """Reload for the files `stale` found changed."""
        before = self._times
        await self.reload({path for path, when in _modified(self.paths).items() if before.get(path) != when})

    async def reload(self, changed: set[Path]) -> None:
        config = self.simulator.config
        assert config.source is not None
        # The files as this reload reads them: the watcher, waking for the same edit meanwhile,
        # and later requests see them current; a broken edit is reported once, not per request.
        self._times = _modified(self.paths)
        try:
            await self.simulator.reload(Path(config.source))
        except UserError as exc:
            self._report(f"reload failed, still serving the last good version:\n{_indent(str(exc))}")
            return
        except Exception as exc:  # noqa: BLE001 - edgesim's own failure: the request that found the edit still gets its answer
            log.exception("reload of %s failed", config.source)
            self._report(f"reload failed (an edgesim error: {type(exc).__name__}: {exc}), "
                         "still serving the last good version")
            return
        self._remember()
        if heap.is_frozen():  # serving: the old distribution is collected, the new one frozen (heap.py)
            heap.freeze()
        # Named: the files the config names, else the changed code files that still exist (an
        # editor's temporary file, written and renamed away, is not one).
        named = changed & self.paths or {p for p in changed if p.suffix in _CODE and p.exists()}
        self._report("reloaded " + (", ".join(sorted(p.name for p in named)) or "the distribution"))
        source = Path(config.source).resolve()
        if source in changed and self._describe is not None:  # behaviors or functions may have changed
            self._report(self._describe(self.simulator.config))
        for problem in self.simulator.load_problems:
            self._report(f"  function failed to load (its requests get CloudFront's 503): {problem}")
        # The new version serves from here. The rest of the report waits on `node --check` runs
        # (tens of ms each, hundreds under load) and the inspector: the request whose check found
        # the edit (reload_now) would wait for them too, so they are said from a task of their own.
        task = asyncio.create_task(self._report_checks(self.simulator.config))
        self._reporting.add(task)
        task.add_done_callback(self._reporting.discard)

    async def _report_checks(self, config: DistributionConfig) -> None:
        inspector = getattr(self.simulator, "inspector", None)  # (a test's stand-in may have none)
        if inspector is not None:  # `serve --inspect`: the new workers' addresses
            for line in await inspector.reload_lines():
                self._report(line)
        for problem in await lambda_syntax_problems(config):
            self._report(f"  {SYNTAX_NOTE}: {problem}")

    def close(self) -> None:
        """Drop the reports still being checked (the server is stopping)."""
        for task in self._reporting:
            task.cancel()


async def watch_and_reload(simulator: Simulator, report: Callable[[str], None], stop: asyncio.Event,
                           describe: Callable[[DistributionConfig], str] | None = None) -> None:
    """Reload `simulator` from its config file whenever a watched file changes, until `stop`;
    `describe` says what the distribution is after a reload that changed the config."""
    if simulator.config.source is None:
        return
    reloader = Reloader(simulator, report, describe)
    simulator.sources = reloader
    try:
        while not stop.is_set():
            # Watch directories: editors replace files (write to temp, rename), which a file watch misses.
            directories = [str(d) for d in watched_directories(simulator.config)]
            async for changes in awatch(*directories, stop_event=stop, debounce=100, step=50, recursive=False):
                # The files the config names, and a Lambda@Edge handler's sibling modules, as
                # the handler may import them.
                changed = {p for _, path in changes if reloader.concerns(p := Path(path).resolve())}
                if changed and not (changed <= reloader.paths and reloader.current()):
                    break  # (all current: a request's check has reloaded for this edit already)
            else:
                return
            await reloader.reload(changed)
    finally:
        simulator.sources = None
        reloader.close()


def wait_for_valid_config(path: Path, report: Callable[[str], None]) -> DistributionConfig:
    """`edgesim serve` on a config that does not load: say why, then wait for an edit that fixes it
    (as `wrangler dev` waits on a broken build) instead of exiting. Ctrl+C stops the wait."""
    while True:
        # The file as it was read: an edit made before the watch below starts is seen by its
        # changed signature (the watch alone missed it, and then waited for ever).
        read = _modified({path})[path]
        try:
            return load_config(path)
        except ConfigError as exc:
            for problem in exc.problems:
                report(f"error: {problem}")
        report(f"waiting for {path.name} to be fixed (Ctrl+C to stop)")
        for changes in watch(path.parent, debounce=100, step=50, recursive=False, rust_timeout=500,
                             yield_on_timeout=True):
            if (any(Path(changed).resolve() == path.resolve() for _, changed in changes)
                    or _modified({path})[path] != read):
                break


def _modified(paths: set[Path]) -> dict[Path, tuple[int, int, int] | None]:
    """Each file's modification time, size and inode (a file's time ticks coarsely, a few ms, and
    editors replace files by renaming); None for one that is not there (mid-save, say)."""
    times: dict[Path, tuple[int, int, int] | None] = {}
    for path in paths:
        try:
            stat = os.stat(path)
        except OSError:
            times[path] = None
            continue
        times[path] = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    return times


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
