"""One child process running one handler: spawn, wait for ready (racing exit), invoke, kill.

The child gets three pipes: control in, control out (the protocol's frames) and one log pipe
holding its stdout and stderr. Every wait races the child's exit: the control-out pipe reaches EOF
the moment the child dies, so a handler that fails to import, crashes the interpreter or is killed
for its limits can never leave a caller hanging.

Memory and time are watched from the parent (watchdog.py): the child's resident set is polled
while it runs and checked after each invocation. Node also gets --max-old-space-size so its own
heap stops at the same limit.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import platform
import shutil
import signal
import subprocess
import sys
import termios
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from edgesim.lambda_edge import protocol, python_packages
from edgesim.lambda_edge.lifeline import LIFELINE, kill_strays
from edgesim.lambda_edge.protocol import ErrorInfo, InvokeContext
from edgesim.lambda_edge.signal_guard import spawn_guarded
from edgesim.lambda_edge.watchdog import MEMORY_POLL_S, MemoryProbe, Watchdog, watchdog

if TYPE_CHECKING:
    from edgesim.lambda_edge.inspector import Inspector

SHIMS = Path(__file__).resolve().parent / "shims"
REGION = "us-east-1"
ACCOUNT = "123456789012"
INIT_TIMEOUT_S = 10.0  # Lambda's limit on a runtime's init phase
_LOG_CAP = 1 << 20  # keep at most 1 MB of log per invocation; a runaway printer is cut off
_READ_SIZE = 1 << 16  # what one read of a pipe takes

Failure = Literal["timeout", "memory", "crash"]


@dataclass(frozen=True)
class WorkerSpec:
    """What identifies a warm worker: workers with equal specs are interchangeable."""

    language: Literal["python", "node"]
    path: Path
    function: str
    runtime: str
    name: str
    memory: int
    module: str = ""  # a Python handler's dotted module, imported from task_root (function_associations.py)
    # The developer's AWS credentials reach the handler ([distribution] lambda_aws_credentials).
    aws_credentials: bool = False
    # A Python handler imports all of edgesim's environment, not only what Lambda@Edge would give it
    # ([distribution] lambda_python_site_packages; python_packages.py).
    site_packages: bool = False

    @property
    def task_root(self) -> Path:
        """Lambda's /var/task: the handler's folder, or the root its dotted module path starts from."""
        return self.path.parents[self.module.count(".")] if self.module else self.path.parent

    @property
    def function_name(self) -> str:
        # At the edge the function runs as a replica named `us-east-1.<name>`, which is also its
        # log group (spec §2.1, UNCERTAIN; we take the prefixed reading).
        return f"{REGION}.{self.name}"


@dataclass(slots=True)
class InvokeOutcome:
    """What one invocation did, before any CloudFront validation."""

    ok: bool
    result: Any = None
    error: ErrorInfo | None = None
    failure: Failure | None = None
    detail: str = ""  # how the worker died, in Lambda's words
    lines: list[str] = field(default_factory=list)  # the handler's own log lines
    duration_ms: float = 0.0
    max_memory_mb: int = 0
    init_ms: float | None = None  # set on the invocation that paid for a cold start
    # False when the worker had died before it read the event: the handler never ran, and the
    # invocation may go to a fresh worker.
    started: bool = True
    # The result as UTF-8 can carry it, when it held a lone surrogate (protocol.decode): what
    # CloudFront goes on with. None otherwise: then it is `result` itself.
    utf8_result: Any = None
    unreadable: str = ""  # why the result's JSON could not be read (protocol.decode): CloudFront's 502


class WorkerInitError(Exception):
    """The handler could not start: import error, missing function, or the child died starting.
    `at`: the `file:line` of a failed import under the task root, when the shim could tell."""

    def __init__(self, error: ErrorInfo, lines: list[str], at: str = "") -> None:
        self.error = error
        self.lines = lines
        self.at = at
        super().__init__(f"{error['errorType']}: {error['errorMessage']}")


# What the AWS SDKs would otherwise find on their own with no credentials in the environment: the
# shared files under the home directory (found through the password database even without HOME)
# and, on an EC2 or container host, its instance role.
_NO_AWS_CREDENTIALS = {
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def shared_aws_variables() -> dict[str, str]:
    """The AWS_* variables of edgesim's environment a handler gets with `lambda_aws_credentials`:
    all but those Lambda sets itself."""
    return {k: v for k, v in os.environ.items() if k.startswith("AWS_") and not k.startswith("AWS_LAMBDA_")
            and k not in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV")}


def child_environment(spec: WorkerSpec, log_stream: str) -> dict[str, str]:
    """Lambda's reserved variables only (spec §2.1): nothing of the user's shell leaks in.

    Besides the AWS_* ones we pass what Lambda itself sets and programs rely on: PATH (so a handler
    can spawn tools), LANG (UTF-8 text I/O), TZ (Lambda runs in UTC) and LAMBDA_TASK_ROOT. AWS
    credentials are absent unless the developer asks for them (`spec.aws_credentials`): Lambda's
    would be the execution role's, and the developer's own are theirs to give. Asked, every AWS_*
    variable of edgesim's environment goes to the handler (keys, session token, profile, endpoint
    URLs for a local stack, web identity) except those Lambda sets itself; without them the SDKs'
    default chain finds the developer's shared files as it would from the shell.
    """
    if spec.aws_credentials:
        given = shared_aws_variables()
    else:
        given = dict(_NO_AWS_CREDENTIALS)
    return {
        **given,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": str(spec.task_root),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": "UTC",
    }


@functools.lru_cache(maxsize=1)
def node_version() -> str | None:
    """The version of the `node` on PATH ("20.11.1"), or None without one."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip().lstrip("v") or None


def interpreter_note(runtime: str) -> str | None:
    """What a handler of `runtime` really runs on when that is another version: Python handlers run
    on edgesim's own interpreter (its standard library, and its copy of the AWS SDK standing in for
    the runtime's: python_packages.py), Node.js handlers on the `node` on PATH (`interpreter_argv`).
    None when the versions agree."""
    if runtime.startswith("python"):
        if runtime == f"python{sys.version_info[0]}.{sys.version_info[1]}":
            return None
        return f"{runtime} handlers run on edgesim's own Python {platform.python_version()}"
    version = node_version()
    if version is None or runtime == f"nodejs{version.split('.')[0]}.x":
        return None
    return f"{runtime} handlers run on the node on PATH, Node.js {version}"


def interpreter_argv(spec: WorkerSpec) -> list[str]:
    if spec.language == "python":
        # -B: importing a handler must not litter its folder with __pycache__. -S: no site module, so
        # none of edgesim's site-packages (nor .pth files, editable installs) but the runtime's
        # packages the shim offers: what Lambda@Edge gives a handler (python_packages.py).
        no_site = [] if spec.site_packages else ["-S"]
        return [sys.executable, "-B", *no_site, str(SHIMS / "python_worker_boot.py"),
                *python_packages.shim_arguments(spec.site_packages)]
    node = shutil.which("node")
    if node is None:
        raise WorkerInitError(
            {"errorType": "Runtime.NodeNotFound", "stackTrace": [],
             "errorMessage": "node is not on PATH; install Node.js 20 or later to run Node.js handlers"}, [])
    return [node, f"--max-old-space-size={spec.memory}", str(SHIMS / "node_worker.js")]


class Worker:
    """A warm child process for one WorkerSpec. One invocation at a time; owned by a pool."""

    def __init__(self, spec: WorkerSpec, inspector: Inspector | None = None, inspect_port: int | None = None) -> None:
        self.spec = spec
        # `serve --inspect` (inspector.py): the debugger's port, and no time limit on init.
        self._inspector = inspector
        self.inspect_port = inspect_port
        self.log_stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[1]{uuid.uuid4().hex}"
        self.init_ms: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ctl_in = self._ctl_out = self._log = -1
        self._frames = protocol.LineBuffer()
        self._exact_integers = spec.language == "python"  # protocol.decode: Node's numbers are doubles
        self._log_buf = bytearray()
        self._log_cut = 0  # bytes of this invocation's log past _LOG_CAP, said after its lines
        self._avail = bytearray(4)  # FIONREAD's int
        self._log_pending = False  # the log reader's last read was a full one: the pipe may hold more
        self._waiter: asyncio.Future[protocol.ChildFrame | None] | None = None
        self._dead = False
        self._strays_killed = False
        self._failure: Failure | None = None
        self._peak = 0
        self._limit = spec.memory << 20
        self._probe = MemoryProbe(-1)
        self._dog: Watchdog | None = None  # the loop's, from start()
        # What the watchdog reads while a wait is in progress (watchdog.Watched).
        self.deadline = 0.0
        self.poll_memory = False

    @property
    def alive(self) -> bool:
        # EOF on the control pipe marks a dead child; no waitpid per invocation.
        return not self._dead and self._proc is not None

    async def start(self) -> float:
        """Spawn the child and wait for its ready frame; returns the init duration in ms."""
        loop = self._loop = asyncio.get_running_loop()
        argv = interpreter_argv(self.spec)
        init_timeout = INIT_TIMEOUT_S
        if self._inspector is not None:
            from edgesim.lambda_edge.inspector import NO_TIME_LIMIT_S, debugger_argv

            init_timeout = NO_TIME_LIMIT_S  # a breakpoint in the module's top level pauses its init
            if self.inspect_port is not None:
                if self.spec.language == "node":
                    argv[-1:-1] = debugger_argv(self.spec, self.inspect_port)  # node's options, before the shim's path
                else:
                    argv += debugger_argv(self.spec, self.inspect_port)  # the shim's own option
                await self._inspector.claim(self.inspect_port, self)
        in_r, self._ctl_in = os.pipe()
        self._ctl_out, out_w = os.pipe()
        self._log, log_w = os.pipe()
        argv += [str(in_r), str(out_w), str(self.spec.path), self.spec.function]
        if self.spec.module:
            argv += [self.spec.module, str(self.spec.task_root)]
        started = time.perf_counter()
        try:
            # From the thread whose seccomp filter keeps the handler's signals off edgesim (signal_guard.py).
            self._proc = spawn_guarded(
                argv, stdin=subprocess.DEVNULL, stdout=log_w, stderr=log_w, pass_fds=(in_r, out_w),
                env=child_environment(self.spec, self.log_stream), cwd=self.spec.task_root,
                # Its own process group, so a kill reaches what the handler spawned; the same
                # session (not start_new_session), so it shares the scheduler's autogroup with us.
                process_group=0,
            )
        finally:
            for fd in (in_r, out_w, log_w):
                os.close(fd)
        LIFELINE.track(self._proc.pid, self.log_stream)  # killed, with strays, even if edgesim is SIGKILLed
        self._probe = MemoryProbe(self._proc.pid)
        for fd in (self._ctl_out, self._log):
            os.set_blocking(fd, False)
        loop.add_reader(self._ctl_out, self._on_control)
        loop.add_reader(self._log, self._on_log)
        self._dog = watchdog(loop)
        # Memory is checked at the init deadline only; a handler that imports big and finishes
        # in time is caught by its first invocation's check.
        frame = await self._wait(init_timeout, poll_memory=False)
        if frame is None or frame["type"] != "ready":
            lines = self.take_lines()
            await self.kill()
            if frame is not None and frame["type"] == "initError":
                raise WorkerInitError(frame["error"], lines, frame.get("at", ""))
            if self._failure == "timeout":
                error_type, message = "Runtime.InitTimeout", f"Init timed out after {INIT_TIMEOUT_S:g} seconds"
            elif self._failure == "memory":
                error_type, message = "Runtime.OutOfMemory", f"Init used more than {self.spec.memory} MB"
            else:
                error_type, message = "Runtime.ExitError", self._death_detail() or "worker failed to start"
            raise WorkerInitError({"errorType": error_type, "errorMessage": message, "stackTrace": []}, lines)
        self.init_ms = (time.perf_counter() - started) * 1000
        return self.init_ms

    async def invoke(self, event: Any, context: InvokeContext, timeout: float) -> InvokeOutcome:
        """Run one event. Kills the worker on timeout, on memory over the limit, or if it died."""
        if self._dead or self._proc is None:
            return InvokeOutcome(ok=False, failure="crash", detail="worker is not running", started=False)
        if self._log_buf:
            self._log_buf.clear()
            self._log_cut = 0
        data = protocol.encode({"type": "invoke", "event": event, "context": context})
        started = time.perf_counter()
        sent = self._write(data)
        # _wait() spelt out: one coroutine fewer per invocation, a measurable share of a warm
        # invocation's cost in the serving process (issue 6).
        waiter = self._arm(timeout, True)
        try:
            frame: protocol.ChildFrame | None = await waiter
        except asyncio.CancelledError:
            # The caller gave up (the viewer went away): the child may be mid-handler, so it
            # cannot be reused; end it now rather than leave it running.
            self._kill_now()
            raise
        finally:
            self._disarm()
        duration = (time.perf_counter() - started) * 1000
        if frame is not None and self._over_limit_after(duration):
            frame = None
            self._failure = "memory"
            await self.kill()
        if frame is None or frame["type"] != "result":
            # Exited without reading a byte of the event (e.g. a handler that ended its process
            # after answering the previous one): it died idle, this invocation never began.
            unread = self._failure is None and (sent == 0 or self._unread() == sent)
            await self.kill()
            lines = self.take_lines()
            failure = self._failure or "crash"
            if failure == "crash" and any("heap out of memory" in line for line in lines):
                failure = "memory"  # V8 stopped at --max-old-space-size before our poll saw it
            return InvokeOutcome(ok=False, failure=failure, detail=self._death_detail(), lines=lines,
                                 duration_ms=duration, max_memory_mb=self._peak >> 20, started=not unread)
        return InvokeOutcome(ok=bool(frame.get("ok")), result=frame.get("result"), error=frame.get("error"),
                             lines=self.take_lines(), duration_ms=duration, max_memory_mb=self._peak >> 20,
                             utf8_result=frame.get("utf8Result"), unreadable=frame.get("unreadable", ""))

    async def kill(self) -> None:
        """SIGKILL the child's process group, reap it and close every pipe. Idempotent.

        An invocation still waiting on this worker (the runtime is closing) gets its answer now:
        the pipes it waits on are about to close."""
        self._dead = True
        self._resolve(None)
        self._hard_kill()
        proc = self._proc
        if proc is not None:
            while proc.poll() is None:  # SIGKILL lands within a few ms
                await asyncio.sleep(0.002)
            self._kill_strays()
        self._drain_log()
        self._close_fds()
        self._probe.close()

    # --- internals ----------------------------------------------------------------------------

    async def _wait(self, timeout: float, *, poll_memory: bool) -> protocol.ChildFrame | None:
        """The next frame, or None when the child died or ran out of time (then it is killed)."""
        waiter = self._arm(timeout, poll_memory)
        try:
            frame: protocol.ChildFrame | None = await waiter
            return frame
        except asyncio.CancelledError:
            self._kill_now()  # see invoke(): the child may be mid-handler
            raise
        finally:
            self._disarm()

    def _arm(self, timeout: float, poll_memory: bool) -> asyncio.Future[protocol.ChildFrame | None]:
        """The future the next frame resolves, watched by the loop's watchdog: it ends the wait at
        the deadline and polls memory meanwhile when `poll_memory`. A wait costs the watchdog a dict
        entry, not a timer of its own. Awaited by its caller, then `_disarm()` in a finally."""
        assert self._loop is not None and self._dog is not None
        waiter = self._waiter = self._loop.create_future()
        now = self._loop.time()
        self.deadline = now + timeout
        self.poll_memory = poll_memory
        self._dog.watch(self, now)
        return waiter

    def _disarm(self) -> None:
        self._waiter = None
        if self._dog is not None:
            self._dog.forget(self)

    def _resolve(self, frame: protocol.ChildFrame | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(frame)

    def _on_control(self) -> None:
        chunk = _read_ready(self._ctl_out)
        if chunk is None:
            return
        if not chunk:  # EOF: the child exited (it alone holds the write end)
            self._dead = True
            self._remove_reader(self._ctl_out)
            self._resolve(None)
            return
        for line in self._frames.feed(chunk):
            try:
                frame = protocol.decode(line, exact_integers=self._exact_integers)
            except protocol.ProtocolError:
                # Only a broken shim gets here; fail this invocation rather than hang it.
                self._hard_kill()
                self._resolve(None)
                return
            if frame["type"] == "result" and self._log_pending:
                # The log was written before the result, so it is in the pipe now. Its reader has
                # read it in this same turn of the loop (the log pipe was readable when the loop
                # polled, since it was written first; the invocation's task resumes only after
                # this turn's callbacks), unless one read of 64 KB could not take it all: then the
                # rest is read now. Asking the pipe after every invocation was a syscall each (issue 6).
                self._drain_log()
            self._resolve(frame)

    def _on_log(self) -> None:
        chunk = _read_ready(self._log)
        if chunk is None:
            return
        if not chunk:
            self._remove_reader(self._log)
            return
        self._log_pending = len(chunk) == _READ_SIZE  # the pipe may hold more than one read took
        if len(self._log_buf) < _LOG_CAP:
            self._log_buf += chunk
        else:
            self._log_cut += len(chunk)

    def _drain_log(self) -> None:
        self._log_pending = False  # read until the pipe is empty
        avail = self._avail
        while self._log >= 0:
            # Ask the pipe how much it holds first: a read of an empty non-blocking pipe raises, and
            # raising and catching BlockingIOError after every invocation cost four times as much.
            try:
                fcntl.ioctl(self._log, termios.FIONREAD, avail)
            except OSError:
                return
            if not int.from_bytes(avail, sys.byteorder):
                return  # empty, or at EOF (which the log reader handles)
            try:
                chunk = os.read(self._log, _READ_SIZE)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                return
            if len(self._log_buf) < _LOG_CAP:
                self._log_buf += chunk
            else:
                self._log_cut += len(chunk)

    def take_lines(self) -> list[str]:
        if not self._log_buf:  # a handler that logged nothing: the common case
            return []
        text = self._log_buf.decode("utf-8", "replace")
        self._log_buf.clear()
        lines = text.splitlines()
        if self._log_cut:
            # Said, so that a log that stops mid-loop is not taken for the handler stopping there.
            lines.append(f"[edgesim: {self._log_cut:,} more bytes of log not shown; at most "
                         f"{_LOG_CAP >> 20} MB of an invocation's log is kept]")
            self._log_cut = 0
        return lines

    def check(self, now: float) -> bool:
        """The watchdog's tick during a wait: False when the child was killed for a limit."""
        # Memory first: a handler over its memory failed for that even if the loop ran late.
        if (self.poll_memory or now >= self.deadline) and self._memory_over_limit():
            self._failure = "memory"
        elif now >= self.deadline:
            self._failure = "timeout"
        else:
            return True
        self._hard_kill()
        self._resolve(None)
        return False

    def _memory_over_limit(self) -> bool:
        rss = self._probe.rss()
        if rss > self._peak:
            self._peak = rss
        return rss > self._limit

    def _over_limit_after(self, duration_ms: float) -> bool:
        """Memory kept past the invocation, or a peak during one long enough to be polled.

        A spike freed again within one poll interval is not seen: in 10 ms a handler can touch
        tens of MB at most, far less than the smallest limit above a runtime's own footprint."""
        if duration_ms >= MEMORY_POLL_S * 1000 or self.init_ms is None or not self._peak:
            self._peak = max(self._peak, self._probe.peak())
        rss = self._probe.rss()
        if rss > self._peak:
            self._peak = rss
        return self._peak > self._limit  # the peak includes the rss just read

    def _kill_now(self) -> None:
        """kill() without awaiting: SIGKILL, a short blocking reap, close everything."""
        self._hard_kill()
        if self._proc is not None:
            try:
                self._proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
            self._kill_strays()
        self._drain_log()
        self._close_fds()
        self._probe.close()

    def _hard_kill(self) -> None:
        """SIGKILL the worker's process group: the worker and what its handler started in it.

        Also once the worker itself has exited: a process it forked may still be in the group (and
        may hold the log pipe). Only until the worker is reaped (returncode set): a zombie's pid,
        and so its group id, cannot be reused by a stranger's process before then."""
        self._dead = True
        proc = self._proc
        if proc is not None and proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()

    def _kill_strays(self) -> None:
        """What the handler started outside the worker's process group (see lifeline.kill_strays).
        Once per worker: a worker killed twice (a timeout, then shutdown) scans once."""
        if not self._strays_killed:
            self._strays_killed = True
            kill_strays("AWS_LAMBDA_LOG_STREAM_NAME", self.log_stream)

    def _death_detail(self) -> str:
        code = self._proc.poll() if self._proc is not None else None
        if code is None:
            return ""
        if code < 0:
            return f"Runtime exited with error: signal: {signal.Signals(-code).name.removeprefix('SIG').lower()}"
        return f"Runtime exited with error: exit status {code}"

    def _unread(self) -> int:
        """Bytes still in the control-in pipe (FIONREAD answers on either end of a pipe); -1 if unknown."""
        if self._ctl_in < 0:
            return -1
        try:
            fcntl.ioctl(self._ctl_in, termios.FIONREAD, self._avail)
        except OSError:
            return -1
        return int.from_bytes(self._avail, sys.byteorder)

    def _write(self, data: bytes) -> int:
        """Send the frame; how many bytes went into the pipe (fewer when the child died)."""
        # A blocking write: the worker is idle and reading, so even a 1.4 MB event drains at once.
        sent = 0
        try:
            sent = os.write(self._ctl_in, data)
            if sent < len(data):  # a frame past the pipe's buffer: the rest as the child reads
                view = memoryview(data)[sent:]
                while view:
                    n = os.write(self._ctl_in, view)
                    sent += n
                    view = view[n:]
        except OSError:
            self._dead = True  # it died between invocations; the read side will see EOF
        return sent

    def _remove_reader(self, fd: int) -> None:
        if self._loop is not None and fd >= 0:
            self._loop.remove_reader(fd)

    def _close_fds(self) -> None:
        if self._proc is not None and self._proc.returncode is not None:
            LIFELINE.untrack(self._proc.pid)  # reaped: its group id may be reused by a stranger
        for name in ("_ctl_in", "_ctl_out", "_log"):
            fd = getattr(self, name)
            if fd >= 0:
                if name != "_ctl_in":
                    self._remove_reader(fd)
                os.close(fd)
                setattr(self, name, -1)


def _read_ready(fd: int) -> bytes | None:
    """What a non-blocking pipe the loop says is readable holds: None when nothing after all,
    b"" at EOF or when it broke (both end the child's side)."""
    try:
        return os.read(fd, _READ_SIZE)
    except BlockingIOError:
        return None
    except OSError:
        return b""
