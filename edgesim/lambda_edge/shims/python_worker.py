"""Run one Python Lambda@Edge handler in this process, kept warm between invocations.

Runs inside the child; standard library only, never imports edgesim. Frames arrive on the
control-in fd and go out on the control-out fd (see edgesim/lambda_edge/protocol.py); the
handler's stdout and stderr (fds 1 and 2) are its log, read by the parent.

    python -S python_worker_boot.py [--site=DIRS --runtime-packages=MOD=DIST,...] [--debugpy=HOST:PORT]
                               CTL_IN_FD CTL_OUT_FD HANDLER_FILE FUNCTION [MODULE TASK_ROOT]

MODULE: a dotted module path (`app.edge.viewer`), imported from TASK_ROOT as Lambda's runtime does.

Under -S (no site module) the handler imports what Lambda@Edge gives it: its task root, the standard
library, and the packages Lambda's Python runtime bundles (--runtime-packages, found in edgesim's
site-packages, --site); see edgesim/lambda_edge/python_packages.py. Without -S it sees all of
edgesim's environment ([distribution] lambda_python_site_packages = true).
"""

from __future__ import annotations

import _json
import importlib
import os
import sys
import time
from importlib.machinery import PathFinder

# typing and collections.abc for the annotations only: importing them took a few ms of every
# Python worker's cold start (issue 6), and annotations are not evaluated (__future__ above).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any


# Frames are read and written by json's own C core (_json), as json.loads and json.dumps do, without
# importing json: its import compiles regular expressions, a third of a cold start once orjson was
# deferred (issue 6). json itself is imported only for what the core refuses, to fail exactly as it
# does (its TypeError naming the type, a circular reference, a RecursionError).


class _ScanContext:
    """What json.JSONDecoder hands _json.make_scanner."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


_scan = _json.make_scanner(_ScanContext())  # type: ignore[arg-type]  # the stub wants json's own class


def _loads(line: bytes) -> Any:
    """json.loads(line) for a frame: one JSON value, then only whitespace."""
    try:
        text = line.decode("utf-8")
        value, end = _scan(text, 0)
        if not text[end:].strip():
            return value
    except Exception:  # noqa: BLE001 - json says what is wrong, as it would have
        pass
    import json

    return json.loads(line)


class _Unencodable(Exception):
    """A value json's core has no JSON for: json itself then decides (and raises its own error)."""


def _refuse(value: object) -> object:
    raise _Unencodable


def _new_encoder() -> Callable[[Any, int], Any]:
    # json.JSONEncoder(separators=(",", ":")).encode's own arguments to the core: check_circular
    # (a markers dict), ensure_ascii, allow_nan, no sort, no skipkeys.
    return _json.make_encoder({}, _refuse, _json.encode_basestring_ascii, None, ":", ",", False, False, True)


_encode = _new_encoder()


def _dumps(value: Any) -> str:
    """json.JSONEncoder(separators=(",", ":")).encode(value): the same text, the same errors."""
    global _encode
    try:
        return "".join(_encode(value, 0))
    except BaseException:
        _encode = _new_encoder()  # its markers may hold the containers it was inside
        import json

        return json.JSONEncoder(separators=(",", ":")).encode(value)

# orjson reads and writes JSON several times faster than json; the interpreter running this shim is
# edgesim's, which depends on it. It stands in only where the outcome is json's own (see
# _read_frame and _result_line); without it, json does everything. Loaded by _load_orjson().
orjson: Any = None
_ORJSON_OPTIONS = 0


def _load_orjson(site_dirs: list[str]) -> None:
    global orjson, _ORJSON_OPTIONS
    if "orjson" in sys.modules:  # the handler's own (vendored) orjson: left alone, json serves
        return
    try:
        module = _import_from(site_dirs, "orjson")
    except ImportError:  # pragma: no cover - edgesim's interpreter has it
        return
    # Imported under our name only: a handler importing orjson resolves it itself, from its own
    # folder first (a vendored copy) as on Lambda.
    for name in [n for n in sys.modules if n == "orjson" or n.startswith("orjson.")]:
        del sys.modules[name]
    orjson = module
    _ORJSON_OPTIONS = (module.OPT_PASSTHROUGH_SUBCLASS | module.OPT_PASSTHROUGH_DATETIME
                       | module.OPT_PASSTHROUGH_DATACLASS | module.OPT_APPEND_NEWLINE)


def _import_from(site_dirs: list[str], name: str) -> Any:
    """Top-level `name` for the shim's own use (orjson, debugpy), from edgesim's site-packages even
    when the handler may not see them: they are on sys.path only while it imports."""
    added = [d for d in site_dirs if d not in sys.path]
    sys.path.extend(added)
    try:
        return importlib.import_module(name)
    finally:
        for folder in added:
            sys.path.remove(folder)


def _normalized(distribution: str) -> str:
    """A distribution's name as pip compares them (PEP 503): `Python_Dateutil` is `python-dateutil`."""
    return distribution.lower().replace("_", "-").replace(".", "-")


class _RuntimePackages:
    """The last finder on sys.meta_path: the packages Lambda's Python runtime bundles (boto3 and its
    dependencies, in its /var/runtime), found in edgesim's site-packages, standing in for Lambda's.

    Last, so the task root and the standard library come first: a copy the handler vendored wins,
    as /var/task precedes /var/runtime on Lambda. Only top-level names are asked here; a package's
    submodules are found through its own __path__, and the packages import one another by name
    (boto3 imports botocore), so each is served alike. Their metadata too (importlib.metadata
    asks every finder's find_distributions), as Lambda's runtime folder holds their dist-info."""

    def __init__(self, modules: dict[str, str], site_dirs: list[str]) -> None:
        self._modules = modules
        self._site_dirs = site_dirs
        self._distributions = {_normalized(d) for d in modules.values()}

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if path is not None or name not in self._modules:
            return None
        return PathFinder.find_spec(name, self._site_dirs, target)

    def find_distributions(self, context: Any = None) -> Iterator[Any]:
        from importlib.metadata import DistributionFinder

        name = getattr(context, "name", None)
        if name is not None and _normalized(name) not in self._distributions:
            return iter(())
        found = PathFinder.find_distributions(DistributionFinder.Context(name=name, path=self._site_dirs))
        return (d for d in found if _normalized(d.metadata["Name"] or "") in self._distributions)


def _as_lambda_imports(options: dict[str, str]) -> list[str]:
    """Take edgesim's own folders off sys.path and offer the runtime's packages, when the
    interpreter runs without its site module (-S: then site-packages, .pth files and the finders
    editable installs add were never set up). Returns edgesim's site-packages folders."""
    site_dirs = [d for d in options.get("site", "").split(os.pathsep) if d]
    # sys.path[0] is this shim's folder, which Lambda's path has no counterpart of.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    if not sys.flags.no_site:
        return site_dirs
    modules = dict(pair.split("=", 1) for pair in options.get("runtime-packages", "").split(",") if "=" in pair)
    sys.meta_path.append(_RuntimePackages(modules, site_dirs))  # type: ignore[arg-type]
    # What the site module would have given every program: exit(), quit(), help(), copyright...
    import site

    site.setquit()
    site.setcopyright()
    site.sethelper()
    return site_dirs


# Every digit -> "0", everything else -> ".": a run of 19 zeros may be an integer past 64 bits,
# which orjson reads as a float and json exactly.
_DIGITS = bytes(48 if 48 <= i <= 57 else 46 for i in range(256))
_LONG_RUN = b"0" * 19


def _read_frame(line: bytes) -> Any:
    """json.loads(line), by orjson where it reads the same: not past 64-bit integers, nor what it
    refuses (a lone surrogate, NaN, 1e400)."""
    if orjson is not None and _LONG_RUN not in line.translate(_DIGITS):
        try:
            return orjson.loads(line)
        except ValueError:
            pass
    return _loads(line)


def _result_line(frame: dict[str, Any]) -> bytes:
    """The frame as one line: json's, or orjson's when it holds the same value.

    orjson also writes what json refuses (a UUID, a plain Enum; NaN as null), and such a result must
    fail as on Lambda (Runtime.MarshalError): reading orjson's line back and comparing with the frame
    catches every such case, as the value read back differs. Subclasses, datetimes and dataclasses are
    passed through, so orjson refuses them and json decides. Raises as json does."""
    if orjson is not None:
        try:
            data: bytes = orjson.dumps(frame, option=_ORJSON_OPTIONS)
            if orjson.loads(data) == frame:
                return data
        except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
            pass
    return (_dumps(frame) + "\n").encode()


def _write_frame(fd: int, frame: dict[str, Any]) -> None:
    data = (_dumps(frame) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


class _FdWriter:
    """sys.stdout/stderr: written straight to the fd, so the log is in the pipe before the result."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def write(self, text: str) -> int:
        data = str(text).encode("utf-8", "replace")
        while data:
            data = data[os.write(self._fd, data):]
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fd

    def writable(self) -> bool:
        return True


# The runtime's own error lines go straight to fd 2, whatever the handler made of sys.stderr (None,
# or an object whose write raises): a failing invocation is still answered, and the worker lives on.
_RUNTIME_LOG = _FdWriter(2)


class LambdaContext:
    """The Lambda context object, with Python's names; the remaining time really counts down."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.function_name = info["functionName"]
        self.function_version = info["functionVersion"]
        self.invoked_function_arn = info["invokedFunctionArn"]
        self.memory_limit_in_mb = int(info["memoryLimitInMB"])
        self.aws_request_id = info["awsRequestId"]
        self.log_group_name = info["logGroupName"]
        self.log_stream_name = info["logStreamName"]
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline_ms = info["deadlineMs"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


# The invocation in flight, for log lines (Lambda's runtime logs "" before the first one).
_request_id = ""


class _RequestIdFilter:
    """Puts the invocation's request id on every log record, as Lambda's runtime does."""

    @staticmethod
    def filter(record: Any) -> bool:
        record.aws_request_id = _request_id
        return True


def _setup_logging(logging: Any) -> None:
    """Lambda's Python runtime gives the root logger a handler of its own, so that
    `logging.getLogger().info(...)` reaches the log as `[INFO]\t<time>Z\t<request id>\t<message>`
    once the level allows it (the root logger stays at WARNING, as on Lambda)."""

    class LambdaLoggerHandler(logging.Handler):  # type: ignore[misc, name-defined]
        def emit(self, record: Any) -> None:
            try:
                # One log line per record, as the Node.js runtime keeps a multi-line message together.
                sys.stdout.write(self.format(record).replace("\n", "\r") + "\n")
            except Exception:  # noqa: BLE001 - logging's own contract: report, never raise
                self.handleError(record)

    formatter = logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                                  "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler = LambdaLoggerHandler()
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter)
    logging.getLogger().addHandler(handler)


class _OnLoggingImport:
    """A meta path finder that sets Lambda's logging up right after the handler first imports
    `logging`, at import or at any later time; a handler that never logs never pays for importing it."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
        if name != "logging":
            return None
        sys.meta_path.remove(_OnLoggingImport)  # type: ignore[arg-type]
        for finder in sys.meta_path:
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                run = spec.loader.exec_module

                def exec_module(module: Any) -> None:
                    run(module)
                    _setup_logging(module)

                setattr(spec.loader, "exec_module", exec_module)  # on this one loader only
                return spec
        return None


def _error_info(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    import traceback

    # The handler's frames only: Lambda's runtime drops its own leading frames, as this drops the shim's.
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    frames = traceback.format_tb(tb)
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": _message(exc),
        "stackTrace": [line.rstrip("\n") for line in frames],
    }


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - the handler's own __str__ failing; Python's traceback says so too
        return "<exception str() failed>"


def _log_error(info: dict[str, Any]) -> None:
    """The error as Lambda's Python runtime logs it: `[ERROR] Type: message`, then the traceback."""
    # The Traceback line comes even with no frames, as Lambda's runtime writes it for a module that
    # failed to import (awslambdaric's log_error prints it whenever there is a stackTrace list).
    line = f"[ERROR] {info['errorType']}" + (f": {info['errorMessage']}" if info["errorMessage"] else "")
    trace = "".join(f"{frame}\n" for frame in info["stackTrace"])
    try:
        _RUNTIME_LOG.write(f"{line}\nTraceback (most recent call last):\n{trace}")
    except OSError:  # the handler closed fd 2: the line is lost, the invocation is still answered
        pass


def _failure(exc: BaseException, error_type: str | None) -> bytes:
    # Lambda logs the error, then answers the invocation with it (SystemExit is not caught:
    # the process exits, as the runtime would).
    info = _error_info(exc, error_type)
    _log_error(info)
    return (_dumps({"type": "result", "ok": False, "error": info}) + "\n").encode()


def _load(path: str, function: str, dotted: str = "", root: str = "") -> Callable[[Any, LambdaContext], Any]:
    if dotted:
        # Named by its module path: imported from the task root, its package and all (awslambdaric's
        # bootstrap: importlib.import_module of the handler string up to its last dot).
        sys.path.insert(0, root)
        module = importlib.import_module(dotted)
    else:
        # The handler's folder is the task root: its siblings import as on Lambda.
        folder, filename = os.path.split(path)
        sys.path.insert(0, folder)
        module = importlib.import_module(os.path.splitext(filename)[0])
    handler = getattr(module, function, None)
    if not callable(handler):
        raise _HandlerMissing(f"Handler '{function}' missing on module '{module.__name__}'")
    return handler  # type: ignore[no-any-return]


class _HandlerMissing(Exception):
    """The module imported but has no such function (not any AttributeError its own code raised)."""


def _init_error(exc: BaseException, path: str, dotted: str = "") -> dict[str, Any]:
    """A handler that cannot load, as Lambda's Python runtime reports it (awslambdaric's bootstrap
    _get_handler): a syntax error and a failed import each have their runtime error type and
    message; anything else the module raised at import is reported as itself, with its traceback."""
    module = dotted or os.path.splitext(os.path.basename(path))[0]
    if isinstance(exc, _HandlerMissing):
        return {"errorType": "Runtime.HandlerNotFound", "errorMessage": _message(exc), "stackTrace": []}
    if isinstance(exc, SyntaxError):  # IndentationError and TabError too
        text = (exc.text or "").rstrip("\n")
        return {"errorType": "Runtime.UserCodeSyntaxError",
                "errorMessage": f"Syntax error in module '{module}': {_message(exc)}",
                "stackTrace": [f'  File "{exc.filename}" Line {exc.lineno}\n    {text}']}
    if isinstance(exc, ImportError):  # ModuleNotFoundError too
        return {"errorType": "Runtime.ImportModuleError",
                "errorMessage": f"Unable to import module '{module}': {_message(exc)}", "stackTrace": []}
    return _error_info(exc)


def _failed_import_at(exc: BaseException, root: str) -> str:
    """`file:line` of the import statement under the task root that failed (the handler's, or a
    module's beside it), for edgesim's own report: Lambda's ImportModuleError carries no stack trace,
    so the parent could otherwise only search the handler's own source."""
    if not isinstance(exc, ImportError):
        return ""
    prefix = os.path.join(os.path.abspath(root), "")
    at = ""
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename != __file__ and os.path.abspath(filename).startswith(prefix):
            at = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return at


def _options(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """The leading `--name=value` options, and the positional arguments after them."""
    options: dict[str, str] = {}
    while args and args[0].startswith("--"):
        name, _, value = args.pop(0)[2:].partition("=")
        options[name] = value
    return options, args


def _listen_for_debugger(site_dirs: list[str], address: str) -> None:
    """`serve --inspect`: debugpy listens before the handler loads (a breakpoint in its top level
    pauses init), as `python -m debugpy --listen` would, which `python -S` cannot run."""
    host, _, port = address.rpartition(":")
    _import_from(site_dirs, "debugpy").listen((host, int(port)))


def _let_go_of_the_pipes(*fds: int) -> None:
    """In a process the handler forked (os.fork, multiprocessing): the control pipes become /dev/null.

    Holding them, the child would keep the parent from seeing this worker exit (the control pipe's
    EOF is how it learns), so a handler that forks and then crashes would wait out its timeout; and
    a child returning into this loop would read the next event, or answer one. /dev/null rather
    than close(), so the numbers are not reused for a file a stale object would then close."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in fds:
        os.dup2(null, fd, inheritable=False)
    os.close(null)


def main() -> int:
    global _request_id
    started = time.perf_counter()
    options, args = _options(sys.argv[1:])
    site_dirs = _as_lambda_imports(options)
    if "debugpy" in options:
        _listen_for_debugger(site_dirs, options["debugpy"])
    ctl_in, ctl_out = int(args[0]), int(args[1])
    # Keep the control pipes away from anything the handler spawns.
    os.set_inheritable(ctl_in, False)
    os.set_inheritable(ctl_out, False)
    os.register_at_fork(after_in_child=lambda: _let_go_of_the_pipes(ctl_in, ctl_out))
    sys.stdout = _FdWriter(1)
    sys.stderr = _RUNTIME_LOG
    path, function = args[2], args[3]
    dotted, root = (args[4], args[5]) if len(args) > 5 else ("", "")
    if "logging" in sys.modules:  # pragma: no cover - the worker itself never imports it
        _setup_logging(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, _OnLoggingImport)  # type: ignore[arg-type]
    try:
        handler = _load(path, function, dotted, root)
    except BaseException as exc:  # noqa: BLE001 - any import failure is the user's to see
        info = _init_error(exc, path, dotted)
        _log_error(info)
        at = _failed_import_at(exc, root or os.path.dirname(path))
        _write_frame(ctl_out, {"type": "initError", "error": info, **({"at": at} if at else {})})
        return 1
    _write_frame(ctl_out, {"type": "ready", "initMs": (time.perf_counter() - started) * 1000})
    frames = os.fdopen(ctl_in, "rb", buffering=1 << 16)
    orjson_pending = True
    for line in frames:
        frame = _read_frame(line)
        context = LambdaContext(frame["context"])
        _request_id = context.aws_request_id
        try:
            result = handler(frame["event"], context)
        except Exception as exc:  # noqa: BLE001 - a handler error is a result, not our crash
            data = _failure(exc, None)
        else:
            try:
                data = _result_line({"type": "result", "ok": True, "result": result})
            except Exception as exc:  # noqa: BLE001 - as Lambda's runtime: any failure to marshal
                # (a RecursionError from a deeply nested result too) fails this invocation, not the process
                data = _failure(exc, "Runtime.MarshalError")
        while data:
            data = data[os.write(ctl_out, data):]
        if orjson_pending:
            # After the first answer, not before it: importing orjson (it imports dataclasses, uuid,
            # enum, inspect) was two thirds of a cold start, and the first invocation does without.
            orjson_pending = False
            _load_orjson(site_dirs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
