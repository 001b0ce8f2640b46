"""Import a cache behavior's function associations: each ARN becomes a function file of the project.

A distribution names its functions only by ARN: a CloudFront Function's name ends its ARN
(`arn:aws:cloudfront::111122223333:function/NAME`), a Lambda@Edge function's is before its version
(`arn:aws:lambda:us-east-1:111122223333:function:NAME:3`). The code is looked for under the
functions folder (`NAME.js`; `NAME/index.js`, `NAME/lambda_function.py`...). A CloudFormation
template can say more: an AWS::CloudFront::Function's inline FunctionCode and Runtime, an
AWS::Lambda::Function's Runtime, Handler and inline Code.ZipFile; inline code is returned to be
written. A function whose code is nowhere gets a placeholder path, and a note on how to fetch it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgesim.distribution_source import Resource, Source, describe, flag, text
from edgesim.edge_runtimes import lambda_edge_runtime_problem
from edgesim.toml_writer import Remark, TomlValue

CLOUDFRONT_FUNCTION = "AWS::CloudFront::Function"
LAMBDA_VERSION = "AWS::Lambda::Version"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
SAM_FUNCTION = "AWS::Serverless::Function"  # AWS SAM: InlineCode in place of Code.ZipFile
_CFF_RUNTIMES = ("cloudfront-js-1.0", "cloudfront-js-2.0")
_NODE_SUFFIXES = (".js", ".mjs", ".cjs")
# Where a Lambda function's code is looked for under <functions>/<name>/, with its handler's name:
# Node's `index.handler` and the Lambda console's Python `lambda_function.lambda_handler` first.
_LAMBDA_ENTRIES = (("index.js", "handler"), ("index.mjs", "handler"), ("index.cjs", "handler"),
                   ("lambda_function.py", "lambda_handler"), ("handler.py", "handler"), ("index.py", "handler"),
                   ("app.py", "handler"), ("main.py", "handler"))


@dataclass(frozen=True)
class FunctionFile:
    """Code from the template, to be written where the config expects it."""

    path: Path
    code: str


@dataclass
class Functions:
    """The function files of an import: what to write, what the user must still provide."""

    source: Source
    config_dir: Path
    folder: Path
    notes: list[str]
    to_write: list[FunctionFile] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)

    def _relative(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.config_dir)).as_posix()

    def _code_at(self, path: Path, code: str | None, where: str) -> bool:
        """True when `path` holds (or will hold) the function's code."""
        if code is not None:
            if path.is_file() and path.read_text(encoding="utf-8", errors="replace") != code:
                self.notes.append(f"{where}: kept your {self._relative(path)}; the template's code for it differs")
            elif not path.is_file() and all(f.path != path for f in self.to_write):
                self.to_write.append(FunctionFile(path, code))
            return True
        if path.is_file():
            return True
        if path not in self.missing:
            self.missing.append(path)
        return False

    def cloudfront_function(self, association: Mapping[str, Any], where: str) -> TomlValue:
        arn = association.get("FunctionARN")
        resource = self.source.template.referenced(arn, CLOUDFRONT_FUNCTION)
        code = runtime = None
        if resource is not None:
            name = text(resource.properties.get("Name")) or resource.logical_id
            code = text(resource.properties.get("FunctionCode"))
            config = resource.properties.get("FunctionConfig")
            config = config if isinstance(config, Mapping) else {}
            runtime = text(config.get("Runtime"))
            if config.get("KeyValueStoreAssociations"):
                self.notes.append(f"{where}: {name} uses a KeyValueStore; add `kvs = \"store.json\"` (CloudFront's "
                                  "import format) to its association to give it data")
        else:
            literal = text(arn)
            name = literal.rsplit("/", 1)[-1] if literal else _name_of(arn)
        path = self.folder / f"{_file_name(name)}.js"
        found = self._code_at(path, code, where)
        if not found:
            self.notes.append(f"{where}: CloudFront Function {name}: create {self._relative(path)} "
                              f"(`aws cloudfront get-function --name {name} --stage LIVE {self._relative(path)}` "
                              "fetches its code)")
        out: dict[str, TomlValue] = {"cloudfront_function": self._relative(path)}
        if runtime in _CFF_RUNTIMES:
            out["runtime"] = runtime
        else:
            out["runtime"] = Remark("cloudfront-js-2.0", "assumed: the distribution does not say")
            self.notes.append(f"{where}: CloudFront Function {name}: runtime cloudfront-js-2.0 assumed (a distribution "
                              f"does not name it; `aws cloudfront describe-function --name {name}` does)")
        if _file_name(name) != name:
            out["name"] = name
        return out

    def lambda_function(self, association: Mapping[str, Any], where: str) -> TomlValue:
        arn = association.get("LambdaFunctionARN")
        function = self._lambda_resource(arn)
        runtime = handler = code = None
        if function is not None:
            name = text(function.properties.get("FunctionName")) or function.logical_id
            runtime = text(function.properties.get("Runtime"))
            handler = text(function.properties.get("Handler"))
            inline = function.properties.get("Code")
            code = text(inline.get("ZipFile")) if isinstance(inline, Mapping) \
                else text(function.properties.get("InlineCode"))
        else:
            literal = text(arn)
            parts = literal.split(":") if literal else []
            name = parts[6] if len(parts) > 6 and parts[5] == "function" else _name_of(arn)
        path, entry = self._lambda_entry(_file_name(name), runtime, handler)
        if not self._code_at(path, code, where):
            self.notes.append(f"{where}: Lambda@Edge function {name}: create {self._relative(path)} with a `{entry}` "
                              "handler, or point `lambda` at your handler (`aws lambda get-function --function-name "
                              f"{text(arn) or name} --query Code.Location` gives a link to its code)")
        out: dict[str, TomlValue] = {"lambda": f"{self._relative(path)}:{entry}"}
        if runtime and lambda_edge_runtime_problem(runtime) is None \
                and runtime.startswith("python") == (path.suffix == ".py"):
            out["runtime"] = runtime
        if flag(association.get("IncludeBody")):
            out["include_body"] = True
        if _file_name(name) != name:
            out["name"] = name
        return out

    def _lambda_resource(self, arn: Any) -> Resource | None:
        """The AWS::Lambda::Function behind a version (`!Ref Version`) or named directly."""
        template = self.source.template
        version = template.referenced(arn, LAMBDA_VERSION)
        if version is not None:
            return template.referenced(version.properties.get("FunctionName"), LAMBDA_FUNCTION)
        return template.referenced(arn, LAMBDA_FUNCTION, SAM_FUNCTION)

    def _lambda_entry(self, name: str, runtime: str | None, handler: str | None) -> tuple[Path, str]:
        """(the handler's file, its function): the template's Handler, else the first usual entry
        present, else the usual entry for the runtime (a placeholder the user is told to create)."""
        python = bool(runtime and runtime.startswith("python"))
        home = self.folder / name
        if handler and "." in handler:
            module, function = handler.rsplit(".", 1)
            suffixes = (".py",) if python else _NODE_SUFFIXES
            for suffix in suffixes:
                if (home / f"{module}{suffix}").is_file():
                    return home / f"{module}{suffix}", function
            return home / f"{module}{suffixes[0]}", function
        for entry, function in _LAMBDA_ENTRIES:
            if (home / entry).is_file() and (runtime is None or python == entry.endswith(".py")):
                return home / entry, function
        for suffix in (".py", *_NODE_SUFFIXES):
            if (self.folder / f"{name}{suffix}").is_file() and (runtime is None or python == (suffix == ".py")):
                return self.folder / f"{name}{suffix}", "lambda_handler" if suffix == ".py" else "handler"
        return (home / "lambda_function.py", "lambda_handler") if python else (home / "index.js", "handler")


def _file_name(name: str) -> str:
    """A function's name as a file name: CloudFront's and Lambda's names are already safe, an
    unresolved reference's rendering may not be."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "function"


def _name_of(reference: Any) -> str:
    """A name for a function whose ARN is an expression edgesim cannot evaluate (`!ImportValue X`)."""
    return _file_name(describe(reference).split(" ", 1)[-1])
