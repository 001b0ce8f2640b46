"""Lambda@Edge workers die with edgesim, however edgesim dies.

edgesim kills its workers when it shuts down, but a SIGKILL (or a crash) gives it no chance, and a
worker stuck in a handler's busy loop never reads the end of its pipes: it would spin on, orphaned.
So one tiny watcher process (POSIX sh, in its own session so a terminal's Ctrl-C does not reach
it) holds the read end of a pipe only edgesim writes to. edgesim tells it each worker's process
group as it starts ("+ PGID LOG_STREAM") and ends ("- PGID"); when edgesim is gone, for whatever
reason, the pipe reaches EOF and the watcher SIGKILLs every group still listed: the workers and
anything their handlers started; then every process whose environment holds a listed worker's log
stream name, which a handler's child in a session of its own keeps (see kill_strays). The watcher
writes to edgesim's terminal: an environ it cannot open (another user's, a process gone) is skipped
in silence, as the shell reports a failed `<` itself, before a `2>/dev/null` after it. Without sh
(not POSIX) there is no watcher and nothing else changes.
"""

from __future__ import annotations

import os
import shutil
import signal

_WATCHER = r"""
set -f
groups=" " marks=" "
while read -r op group mark; do
  case $op in
    +) groups="$groups$group "; [ -n "$mark" ] && marks="$marks$group=$mark " ;;
    -) case $groups in *" $group "*) groups="${groups%% $group *} ${groups#* $group }" ;; esac
       case $marks in *" $group="*) rest=${marks#* $group=}; marks="${marks%% $group=*} ${rest#* }" ;; esac ;;
  esac
done
for group in $groups; do kill -9 "-$group" 2>/dev/null; done
want=""
for mark in $marks; do want="${want}AWS_LAMBDA_LOG_STREAM_NAME=${mark#*=}
"; done
[ -n "$want" ] || exit 0
set +f
for env in /proc/[0-9]*/environ; do
  if { tr '\0' '\n' < "$env"; } 2>/dev/null | grep -qxF -e "${want%?}"; then
    pid=${env#/proc/}; kill -9 "${pid%/environ}" 2>/dev/null
  fi
done
"""


class Lifeline:
    """The write end of the watcher's pipe, opened on the first `track`."""

    def __init__(self) -> None:
        self._fd = -1
        self._pid = 0
        self._failed = False

    def track(self, group: int, log_stream: str = "") -> None:
        """Kill `group` when edgesim dies, and every process whose environment names `log_stream`
        (a worker's; see kill_strays): what its handler started outside the group."""
        self._send(f"+ {group} {log_stream}\n")

    def untrack(self, group: int) -> None:
        self._send(f"- {group}\n")

    def close(self) -> None:
        """Let go of the pipe: the watcher kills what is still tracked, then exits."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._pid:
            try:
                os.waitpid(self._pid, 0)
            except ChildProcessError:
                pass
            self._pid = 0

    def _send(self, line: str) -> None:
        if self._fd < 0 and not self._start():
            return
        try:
            os.write(self._fd, line.encode())
        except OSError:  # the watcher is gone (killed by hand): workers still end with edgesim's own kill
            pass

    def _start(self) -> bool:
        sh = shutil.which("sh")
        if self._failed or sh is None:
            self._failed = True
            return False
        read_end, write_end = os.pipe()  # both close-on-exec: no worker or later child inherits them
        try:
            # posix_spawn, not subprocess: no Popen object whose finalizer warns about a live child.
            self._pid = os.posix_spawn(sh, [sh, "-c", _WATCHER], os.environ,
                                       file_actions=[(os.POSIX_SPAWN_DUP2, read_end, 0)], setsid=True)
        except OSError:
            os.close(write_end)
            self._failed = True
            return False
        finally:
            os.close(read_end)
        self._fd = write_end
        return True


def kill_strays(variable: str, value: str) -> int:
    """SIGKILL every process whose environment holds `variable=value`; how many there were.

    A worker's process group is killed with it, but a handler can start a process in a group or
    session of its own (Popen(start_new_session=True), spawn(..., {detached: true}), a daemon's
    double fork), and such a process would outlive the worker and edgesim itself; on Lambda it ends
    with the execution environment. It inherits the worker's environment, and each worker has a log
    stream name of its own (workers.child_environment), so that finds it: one pass over /proc, about
    10 us per process, paid only when a worker is killed. Processes of other users are unreadable
    and skipped; without /proc nothing is found."""
    marker = f"\0{variable}={value}\0".encode()
    killed = 0
    for _ in range(3):  # again, for what a stray started while the last pass ran
        found = 0
        try:
            names = os.listdir("/proc")
        except OSError:
            return killed
        for name in names:
            if not name.isdigit():
                continue
            try:
                fd = os.open(f"/proc/{name}/environ", os.O_RDONLY)
            except OSError:
                continue
            try:
                environ = os.read(fd, 1 << 18)
            except OSError:  # gone meanwhile, or not ours
                continue
            finally:
                os.close(fd)
            if marker in b"\0" + environ:  # a killed process (a zombie) reads as empty
                try:
                    os.kill(int(name), signal.SIGKILL)
                    found += 1
                except OSError:
                    pass
        killed += found
        if not found:
            break
    return killed


LIFELINE = Lifeline()  # one watcher per edgesim process, shared by every worker pool
