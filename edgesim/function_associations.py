"""A cache behavior's function associations: a CloudFront Function's file, or a Lambda@Edge
handler and where its code is (file, function, dotted module), resolved once at load.

A `functions.<event-type>` table is told apart by its key (`cloudfront_function` or `lambda`), so a
problem in it is named in its kind's terms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from edgesim.config_base import Frozen, base_dir
from edgesim.docs_links import cite
from edgesim.edge_runtimes import lambda_edge_runtime_problem


class CloudFrontFunctionAssociation(Frozen):
    cloudfront_function: Path
    runtime: Literal["cloudfront-js-1.0", "cloudfront-js-2.0"] = "cloudfront-js-2.0"
    kvs: Path | None = None  # a KeyValueStore in CloudFront's import JSON (runtime 2.0 only)
    name: str = ""

    @field_validator("cloudfront_function", "kvs")
    @classmethod
    def _resolve(cls, v: Path | None, info: ValidationInfo) -> Path | None:
        return None if v is None else (base_dir(info) / v).resolve()

    @model_validator(mode="after")
    def _checks(self) -> CloudFrontFunctionAssociation:
        language = _NOT_JAVASCRIPT.get(self.cloudfront_function.suffix)
        if language is not None:  # else V8's SyntaxError at the first annotation or `def`, a riddle
            fix = ("a Python handler runs as Lambda@Edge: lambda = \"file.py:handler\" in the config, "
                   "`edgesim invoke file.py:handler` alone" if language == "Python"
                   else "compile it and point cloudfront_function at the .js")
            raise ValueError(f"{self.cloudfront_function.name} is {language}; a CloudFront Function is "
                             f"JavaScript ({cite('function-code-choose-purpose')}): {fix}")
        if self.kvs is not None and self.runtime != "cloudfront-js-2.0":
            raise ValueError(f"a KeyValueStore needs runtime 'cloudfront-js-2.0' ({cite('kvs-with-functions')})")
        if not self.name:
            object.__setattr__(self, "name", self.cloudfront_function.stem)
        return self

    @property
    def kind(self) -> Literal["cloudfront-function"]:
        return "cloudfront-function"


_NODE_EXT = (".js", ".mjs", ".cjs")
# Source in a language the runtimes do not run, told as such rather than as a syntax or runtime error.
_NOT_JAVASCRIPT = {".py": "Python", ".ts": "TypeScript", ".mts": "TypeScript", ".cts": "TypeScript", ".tsx": "TypeScript"}


class LambdaFunctionAssociation(Frozen):
    """A Lambda@Edge handler: `path/file.py:function`, `path/file.handler` (Lambda style) or `pkg.module:fn`."""

    handler: str = Field(alias="lambda")
    runtime: str = ""  # python3.x or nodejs<N>.x; inferred from the file when empty
    include_body: bool = False
    timeout: float | None = Field(default=None, gt=0)
    memory: int | None = Field(default=None, ge=128, le=10240)
    name: str = ""
    # resolved at load
    path: Path = Path()
    function: str = ""
    # A Python handler named by its dotted module path (`app.edge.viewer.handler`, `app.edge.viewer:fn`):
    # Lambda imports that module from the task root (`path` then lies under it), not the file alone.
    module: str = ""

    @field_validator("runtime")
    @classmethod
    def _edge_runtime(cls, v: str) -> str:
        # A field check, so that the problem names `.runtime`; "" is inferred from the file below.
        problem = lambda_edge_runtime_problem(v) if v else None
        if problem:
            raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _resolve_handler(self, info: ValidationInfo) -> LambdaFunctionAssociation:
        path, function, module = _locate_handler(self.handler, base_dir(info))
        language = _NOT_JAVASCRIPT.get(path.suffix) if path.suffix != ".py" else None
        if language is not None:
            # Else the runtime inferred for it (python3.12) was said not to match the file.
            raise ValueError(f"{path.name} is {language}; Lambda@Edge runs Python (.py) and Node.js (.js, .mjs, "
                             f".cjs) handlers: point lambda at the compiled JavaScript, e.g. \"dist/{path.stem}.js:"
                             f"{function or 'handler'}\"")
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "function", function)
        object.__setattr__(self, "module", module)
        if not self.runtime:
            object.__setattr__(self, "runtime", "nodejs20.x" if path.suffix in _NODE_EXT else "python3.12")
        if self.runtime.startswith("python") != (path.suffix == ".py"):
            raise ValueError(f"runtime {self.runtime!r} does not match handler file {path.name}")
        if not self.name:
            object.__setattr__(self, "name", path.stem)
        return self

    @property
    def kind(self) -> Literal["lambda"]:
        return "lambda"

    @property
    def language(self) -> Literal["python", "node"]:
        return "python" if self.runtime.startswith("python") else "node"


def _locate_handler(spec: str, base: Path) -> tuple[Path, str, str]:
    """(file, function, dotted module or "") of a handler string, relative to `base`.

    Lambda's Python runtime reads `Handler: app.edge.viewer.lambda_handler` as module
    `app.edge.viewer` (split at the last dot) imported from the task root, so that module's package
    is importable (`from app.edge import helpers`); here that root is `base`. Node.js has no such
    form (its runtime splits at the first dot), so a dotted module is Python's only."""
    if ":" in spec:
        file, function = spec.rsplit(":", 1)
        candidates = [(file, "")]
        if Path(file).suffix not in (".py", *_NODE_EXT):  # a dotted module path, pkg.module:fn
            candidates.append((file.replace(".", "/") + ".py", file if "." in file else ""))
    else:
        if "." not in spec:
            raise ValueError(f"handler {spec!r} names no function; write 'path/file.py:handler'")
        stem, function = spec.rsplit(".", 1)
        _refuse_bare_file(spec, base, function)
        candidates = [(stem + ext, "") for ext in (".py", *_NODE_EXT)]
        if "." in stem and "/" not in stem and "\\" not in stem:
            candidates.append((stem.replace(".", "/") + ".py", stem))
    for candidate, module in candidates:
        path = (base / candidate).resolve()
        if path.is_file():
            if not module and ":" not in spec and path.suffix == ".py" and "/" in stem:
                module = _package_module(stem, base)
            return path, function, module
    folder, _, name = spec.rpartition("/")
    if ":" not in spec and name.count(".") > 1:
        # Node.js splits at the first dot: `index.handlers.viewer` is index.js's handlers.viewer
        # (aws-lambda-nodejs-runtime-interface-client, UserFunction.js).
        file, nested = name.split(".", 1)
        for ext in _NODE_EXT:
            path = (base / folder / (file + ext)).resolve()
            if path.is_file():
                return path, nested, ""
    # Not found: name the file the spec most likely means, pkg/mod.py for a dotted `pkg.mod:fn`.
    dotted = ":" in spec and len(candidates) > 1 and "/" not in spec and "\\" not in spec
    return (base / candidates[1 if dotted else 0][0]).resolve(), function, ""


def _refuse_bare_file(spec: str, base: Path, function: str) -> None:
    """`lambda = "functions/auth.py"` names the file alone: read Lambda's way it is function `py` of
    module `auth`, which the worker then reports as "Handler 'py' missing", a riddle. Said here as
    the missing function, with the one the module probably means."""
    path = (base / spec).resolve()
    if path.suffix not in (".py", *_NODE_EXT) or not path.is_file():
        return
    # Imported here: only a config with this mistake pays for it (config loading loads no runtime).
    from edgesim.lambda_edge.handler_hint import module_functions

    defined = module_functions(path)
    if function in defined:  # a function really named `py` or `js`: Lambda's form, meant as written
        return
    preferred = [name for name in ("handler", "lambda_handler") if name in defined]
    meant = (preferred or defined or ["handler"])[0]
    raise ValueError(f"{spec!r} names the file but not the function Lambda calls; write "
                     f"{spec + ':' + meant!r}")


def _package_module(stem: str, base: Path) -> str:
    """`app/edge/viewer` as module `app.edge.viewer` when app/ and app/edge/ are packages.

    Lambda imports `Handler: app/edge/viewer.lambda_handler` as `app.edge.viewer` from the task root
    (awslambdaric: the module name with '/' made '.'). Folders that are packages say the config's
    folder is that root; without __init__.py (functions/lambda/robots_txt.handler) the handler's
    own folder stays the root, the zip being that folder (our reading)."""
    parts = stem.split("/")
    if any(not p.isidentifier() for p in parts):
        return ""
    folder = base
    for part in parts[:-1]:
        folder = folder / part
        if not (folder / "__init__.py").is_file():
            return ""
    return ".".join(parts)


def _function_kind(value: Any) -> str | None:
    """Which association a table is, from its key, for the same reason as origin_config._origin_kind."""
    if isinstance(value, dict):
        if "cloudfront_function" in value:
            # Both kinds in one table: told as such (config_errors._kind_message), not as an unknown key.
            return None if "lambda" in value or "handler" in value else "CloudFrontFunctionAssociation"
        return "LambdaFunctionAssociation" if "lambda" in value or "handler" in value else None
    return type(value).__name__


FunctionAssociation = Annotated[
    Union[Annotated[CloudFrontFunctionAssociation, Tag("CloudFrontFunctionAssociation")],
          Annotated[LambdaFunctionAssociation, Tag("LambdaFunctionAssociation")]],
    Discriminator(_function_kind, custom_error_type="function_kind",
                  custom_error_message="a function association needs `cloudfront_function` (a CloudFront "
                                       "Function) or `lambda` (a Lambda@Edge handler)"),
]
