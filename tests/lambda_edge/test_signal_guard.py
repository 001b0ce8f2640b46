"""A Lambda@Edge handler cannot signal edgesim itself (signal_guard.py): the proxy outlives it."""

from __future__ import annotations

import json
import os
import platform
import signal
import sys
import time

import pytest

from edgesim.lambda_edge import LambdaEdgeRuntime, signal_guard
from edgesim.messages import EventType

from .conftest import Handlers, make_call

VR = EventType.VIEWER_REQUEST

# Signal 0 asks only whether a signal could be sent: were the guard broken, nothing is delivered.
PROBE_PY = """
import errno, json, os, subprocess

def probe(pid):
    try:
        os.kill(pid, 0)
        return "sent"
    except OSError as exc:
        return errno.errorcode[exc.errno]

def handler(event, context):
    parent = os.getppid()
    child = subprocess.Popen(["sleep", "30"])
    child.kill()  # its own child: allowed
    out = {"parent": probe(parent), "group": probe(-os.getpgid(parent)), "all": probe(-1),
           "self": probe(os.getpid()), "child": str(child.wait())}
    return {"status": "200", "body": json.dumps(out)}
"""

PROBE_JS = """
const fs = require('fs');
const { spawn } = require('child_process');

function probe(pid) {
  try {
    process.kill(pid, 0);
    return 'sent';
  } catch (e) {
    return e.code;
  }
}

exports.handler = async () => {
  const parent = process.ppid;
  const stat = fs.readFileSync(`/proc/${parent}/stat`, 'utf8');
  const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  const child = spawn('sleep', ['30']);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal)));
  child.kill('SIGKILL');  // its own child: allowed
  const out = { parent: probe(parent), group: probe(-group), all: probe(-1), self: probe(process.pid),
                child: await exited };
  return { status: '200', body: JSON.stringify(out) };
};
"""


@pytest.mark.skipif(platform.system() != "Linux", reason="the guard is a Linux seccomp filter")
async def test_a_handler_cannot_signal_edgesim_its_group_or_everyone(runtime: LambdaEdgeRuntime,
                                                                     handlers: Handlers) -> None:
    assoc = handlers.assoc("probe", py=PROBE_PY, js=PROBE_JS)
    result = await runtime.function(assoc, VR).invoke(make_call(VR))
    assert signal_guard.unguarded_reason() is None
    assert result.response is not None
    got = json.loads(result.response.body)
    assert {k: got[k] for k in ("parent", "group", "all")} == {"parent": "EPERM", "group": "EPERM", "all": "EPERM"}
    assert got["self"] == "sent"  # its own process, and what it started, as ever
    assert got["child"] in ("-9", "SIGKILL")


def test_the_filter_knows_x86_64_and_arm64_only() -> None:
    for machine in ("x86_64", "aarch64"):
        program = signal_guard.filter_program(machine, 4242, 4240)
        assert program is not None and len(program) % 8 == 0
    assert signal_guard.filter_program("riscv64", 4242, 4240) is None


@pytest.mark.skipif(platform.system() != "Linux", reason="the guard is a Linux seccomp filter")
def test_a_forked_process_starts_workers_guarded_for_itself() -> None:
    # The parent's spawner thread is up; a fork (pytest --forked, multiprocessing) has none.
    signal_guard.spawn_guarded(["true"]).wait()
    probe = "import os\ntry:\n    os.kill(os.getppid(), 0)\nexcept PermissionError:\n    raise SystemExit(7)\n"
    pid = os.fork()
    if pid == 0:  # the child: its worker must start, and must not reach the child itself
        code = 1
        try:
            code = signal_guard.spawn_guarded([sys.executable, "-c", probe]).wait(timeout=20)
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("a forked process hung starting a worker")
    assert os.waitstatus_to_exitcode(status) == 7  # its worker's kill of it was refused
