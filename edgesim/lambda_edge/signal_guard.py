"""Lambda@Edge workers cannot signal edgesim: started from a thread with a seccomp filter.

A handler runs as the developer's own user, so it could end edgesim itself: `os.kill(os.getppid(),
9)`, `process.kill(process.ppid)`, a `pkill python` or `killall node` it shells out to, or `kill(-1)`
(every process the user owns: the editor and the shell too). On Lambda none of these can reach
CloudFront or the Lambda service; here the proxy must not die from a user's function either.

So workers are spawned from one thread that first installs a seccomp filter on itself: the
children it forks inherit it, and so does whatever they start (no_new_privs, which a filter needs
without privileges, is inherited too: a setuid program gains nothing, as on Lambda, which has none).
The filter fails with EPERM, as a kill of another user's process fails, every call that would send a
signal to edgesim's process (its pid), its process group, or to every process (-1): kill, tkill,
tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, and pidfd_open of edgesim (pidfd_send_signal, which
takes any /proc/PID directory as well, is refused outright). A handler's signals to itself and to
what it started are untouched. Not covered: a signal aimed at the thread id of one of edgesim's
other threads, which takes deliberate digging in /proc; this guards against accidents, it is not a
sandbox.

Linux on x86-64 and arm64 only (the syscall numbers are per architecture); elsewhere, or where the
kernel refuses the filter (a container that forbids seccomp), workers start without it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# linux/seccomp.h, linux/filter.h, linux/audit.h
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000
_BPF_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_BPF_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_BPF_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_BPF_RET_K = 0x06  # BPF_RET | BPF_K
# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]. Every call filtered
# takes the pid first; a pid_t is the low 32 bits of args[0] on these little-endian machines.
_NR, _ARCH, _ARG0_LOW = 0, 4, 16

# arch -> (AUDIT_ARCH_*, {syscall: number}); pidfd_* share their numbers across architectures.
_SYSCALLS: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (0xC000003E, {"kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129,
                            "rt_tgsigqueueinfo": 297, "pidfd_open": 434, "pidfd_send_signal": 424}),
    "aarch64": (0xC00000B7, {"kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138,
                             "rt_tgsigqueueinfo": 240, "pidfd_open": 434, "pidfd_send_signal": 424}),
}
_X32_BIT = 0x40000000  # x86-64's x32 calls carry this bit: refused, so they cannot go round the filter


Op = tuple[Any, ...]  # ("label", name) | ("ld", offset) | ("jeq" / "jge", k, if true, if false) | ("ret", k)


def _assemble(ops: list[Op]) -> bytes:
    """Classic BPF from ops whose jumps name labels ("next": the following instruction)."""
    at: dict[str, int] = {}
    position = 0
    for op in ops:
        if op[0] == "label":
            at[op[1]] = position
        else:
            position += 1
    out = []
    position = 0
    for op in ops:
        kind = op[0]
        if kind == "label":
            continue
        if kind == "ld":
            out.append(struct.pack("=HBBI", _BPF_LD_W_ABS, 0, 0, op[1]))
        elif kind == "ret":
            out.append(struct.pack("=HBBI", _BPF_RET_K, 0, 0, op[1]))
        else:
            jumps = [0 if label == "next" else at[label] - position - 1 for label in op[2:]]
            code = _BPF_JEQ_K if kind == "jeq" else _BPF_JGE_K
            out.append(struct.pack("=HBBI", code, jumps[0], jumps[1], op[1] & 0xFFFFFFFF))
        position += 1
    return b"".join(out)


def filter_program(machine: str, pid: int, pgid: int) -> bytes | None:
    """The filter's BPF for `machine` (platform.machine()), or None for an architecture it does not know."""
    known = _SYSCALLS.get(machine)
    if known is None:
        return None
    audit_arch, numbers = known
    aimed = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open")
    ops: list[Op] = [
        ("ld", _ARCH), ("jeq", audit_arch, "next", "allow"),
        ("ld", _NR),
        *([("jge", _X32_BIT, "deny", "next")] if machine == "x86_64" else []),
        *[("jeq", numbers[name], "check", "next") for name in aimed],
        ("jeq", numbers["pidfd_send_signal"], "deny", "allow"),
        ("label", "check"), ("ld", _ARG0_LOW),
        ("jeq", pid, "deny", "next"), ("jeq", -pgid, "deny", "next"), ("jeq", -1, "deny", "allow"),
        ("label", "allow"), ("ret", _SECCOMP_RET_ALLOW),
        ("label", "deny"), ("ret", _SECCOMP_RET_ERRNO | errno.EPERM),
    ]
    return _assemble(ops)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _install(program: bytes) -> str | None:
    """The filter on the calling thread; None when installed, else why not."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError as exc:
        return str(exc)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}"
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        return f"prctl(PR_SET_SECCOMP): {os.strerror(ctypes.get_errno())}"
    return None


class _Spawner:
    """The one thread workers are started from, with the filter installed on it (once, lazily).

    Per process: a process forked from one that had started it (`pytest --forked`, multiprocessing's
    fork) has no such thread, only the executor's record of one, which would take its work and never
    run it; and the filter must name the new process. So a fork gets a thread of its own."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0  # the process the pool's thread runs in
        self._lock = threading.Lock()
        self.problem: str | None = None  # why workers start unguarded, when they do

    def _guard(self) -> None:
        if not sys.platform.startswith("linux"):
            self.problem = "seccomp is Linux's"
            return
        program = filter_program(platform.machine(), os.getpid(), os.getpgrp())
        if program is None:
            self.problem = f"no syscall table for {platform.machine()}"
            return
        self.problem = _install(program)

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="edgesim-worker-spawner",
                                                initializer=self._guard)
            return self._pool


    def forget(self) -> None:
        """In a forked child: none of the parent's thread, nor of its lock, which a thread of the
        parent may have held as it forked."""
        self.__init__()  # type: ignore[misc]


_SPAWNER = _Spawner()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_SPAWNER.forget)


def spawn_guarded(argv: list[str], **popen: Any) -> subprocess.Popen[bytes]:
    """subprocess.Popen(argv, **popen), from the guarded thread: blocks the caller until it started."""
    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, **popen)

    return _SPAWNER.pool().submit(start).result()


def unguarded_reason() -> str | None:
    """Why workers started so far run without the filter; None when they have it (or none started)."""
    return _SPAWNER.problem
