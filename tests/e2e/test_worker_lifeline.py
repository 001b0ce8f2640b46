"""Lambda@Edge workers never outlive edgesim: not even a SIGKILLed one, not even mid busy loop."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx

from edgesim.lambda_edge.lifeline import Lifeline
from test_serve import start


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie is dead, just not reaped
    except FileNotFoundError:
        return False


def test_the_watcher_kills_what_is_still_tracked_when_its_pipe_closes() -> None:
    life = Lifeline()
    tracked = subprocess.Popen(["sleep", "60"], process_group=0)
    released = subprocess.Popen(["sleep", "60"], process_group=0)
    try:
        life.track(tracked.pid)
        life.track(released.pid)
        life.untrack(released.pid)
        life.close()  # what edgesim's death does to the pipe
        assert tracked.wait(timeout=10) == -signal.SIGKILL
        assert released.poll() is None  # untracked groups are left alone
    finally:
        for proc in (tracked, released):
            proc.kill()
            proc.wait()


def test_the_watcher_kills_a_tracked_worker_s_strays_in_sessions_of_their_own() -> None:
    # A handler's child started in a session of its own (spawn detached) escapes the group kill;
    # it keeps the worker's environment, whose log stream name is the worker's alone.
    life = Lifeline()
    stream = "2026/11/29/[1]0123456789abcdef"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_LAMBDA_LOG_STREAM_NAME": stream}
    worker = subprocess.Popen(["sleep", "60"], process_group=0, env=env)
    stray = subprocess.Popen(["sleep", "60"], start_new_session=True, env=env)
    other = subprocess.Popen(["sleep", "60"], start_new_session=True,
                             env={**env, "AWS_LAMBDA_LOG_STREAM_NAME": stream + "0"})
    gone = subprocess.Popen(["sleep", "60"], start_new_session=True,
                            env={**env, "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/29/[1]feed"})
    try:
        life.track(worker.pid, stream)
        life.track(12345678, "2026/11/29/[1]feed")
        life.untrack(12345678)  # reaped: edgesim killed its strays itself, the watcher forgets them
        life.close()
        assert worker.wait(timeout=10) == -signal.SIGKILL
        assert stray.wait(timeout=10) == -signal.SIGKILL
        assert other.poll() is None and gone.poll() is None  # only a tracked worker's own strays
    finally:
        for proc in (worker, stray, other, gone):
            proc.kill()
            proc.wait()


def test_the_watcher_says_nothing_on_edgesim_s_terminal_when_it_kills() -> None:
    """A second Ctrl+C (or a crash) leaves workers tracked; the watcher's pass over /proc meets
    environs it cannot open (other users', processes gone). Before, the shell printed each one:
    64 lines of `sh: 18: cannot open /proc/1/environ: Permission denied` after the developer's Ctrl+C."""
    import sys

    code = (
        "import subprocess, sys\n"
        "from edgesim.lambda_edge.lifeline import Lifeline\n"
        "life = Lifeline()\n"
        "stream = '2026/11/29/[1]fedcba9876543210'\n"
        "worker = subprocess.Popen(['sleep', '60'], process_group=0,\n"
        "                          env={'PATH': '/usr/bin:/bin', 'AWS_LAMBDA_LOG_STREAM_NAME': stream})\n"
        "life.track(worker.pid, stream)\n"
        "life.close()\n"
        "sys.stdout.write(str(worker.wait(timeout=10)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert done.stdout == str(-signal.SIGKILL)
    assert done.stderr == ""


def test_a_busy_worker_dies_with_a_sigkilled_edgesim(tmp_path: Path) -> None:
    (tmp_path / "spin.py").write_text("def handler(event, context):\n    while True:\n        pass\n")
    (tmp_path / "edgesim.toml").write_text(
        '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:9"\n'
        '[default_cache_behavior]\ntarget_origin = "app"\ncache_policy = "CachingDisabled"\n'
        'functions.origin-request = { lambda = "spin.py:handler", timeout = 30 }\n')
    proc, base = start([], tmp_path)
    workers: list[int] = []
    try:
        threading.Thread(target=_request, args=(base,), daemon=True).start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not workers:
            time.sleep(0.2)
            # Workers are started from a thread of their own (signal_guard.py): every thread's children.
            children = [pid for task in Path(f"/proc/{proc.pid}/task").iterdir()
                        for pid in _read(task / "children").split()]
            # The spinning worker: the child using CPU right now.
            workers = [int(pid) for pid in children if _cpu_ticks(int(pid)) > 20]
        assert workers, "no worker started spinning"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    still = [pid for pid in workers if _alive(pid)]
    for pid in still:
        os.kill(pid, signal.SIGKILL)
    assert not still, "the worker outlived edgesim"


def _request(base: str) -> None:
    try:
        httpx.get(base + "/", timeout=60)
    except httpx.TransportError:
        pass  # edgesim is killed while this request waits on the spinning worker


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()
    except FileNotFoundError:
        return 0
    return int(fields[11]) + int(fields[12])


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:  # a thread that ended meanwhile
        return ""
