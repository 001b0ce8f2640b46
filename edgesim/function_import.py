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

from edgesim.distribution_source import SAM_FUNCTION, Resource, Source, describe, flag, number, text
from edgesim.edge_runtimes import lambda_edge_runtime_problem
from edgesim.lambda_code import LambdaCode, lambda_code
from edgesim.toml_writer import Remark, TomlValue

CLOUDFRONT_FUNCTION = "AWS::CloudFront::Function"
LAMBDA_VERSION = "AWS::Lambda::Version"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
_CFF_RUNTIMES = ("cloudfront-js-1.0", "cloudfront-js-2.0")
# Lambda's defaults for a function that sets no Timeout / MemorySize (see Functions.lambda_function).
LAMBDA_DEFAULT_TIMEOUT = 3
LAMBDA_DEFAULT_MEMORY = 128
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
        self._missing(path)
        return False

    def _assumed(self, resource: Resource, what: str) -> None:
        """Say what evaluating the resource assumed (a parameter's Default in its inline code)."""
        for note in resource.notes:
            said = f"{what}: {note}"
            if said not in self.notes:
                self.notes.append(said)

    def cloudfront_function(self, association: Mapping[str, Any], where: str) -> TomlValue:
        arn = association.get("FunctionARN")
        resource = self.source.template.referenced(arn, CLOUDFRONT_FUNCTION)
        code = runtime = None
        path: Path | None = None
        if resource is not None:
            name = text(resource.properties.get("Name")) or resource.logical_id
            code = text(resource.properties.get("FunctionCode"))
            if code is not None:
                self._assumed(resource, f"{where}: CloudFront Function {name}'s code")
            config = resource.properties.get("FunctionConfig")
            config = config if isinstance(config, Mapping) else {}
            runtime = text(config.get("Runtime"))
            # Terraform's `code = file("fn.js")` (terraform_import.py): served from that file, not a copy.
            code_file = text(resource.metadata.get("edgesim:code-file"))
            if code_file and Path(code_file).is_file():
                code, path = None, Path(code_file)
            if config.get("KeyValueStoreAssociations"):
                self.notes.append(f"{where}: {name} uses a KeyValueStore; add `kvs = \"store.json\"` (CloudFront's "
                                  "import format) to its association to give it data")
        else:
            literal = text(arn)
            name = literal.rsplit("/", 1)[-1] if literal else _name_of(arn)
        path = path or self.folder / f"{_file_name(name)}.js"
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
        if path.stem != name:
            out["name"] = name
        return out if found else Remark(out, f"PLACEHOLDER: {self._relative(path)} is still to create")

    def lambda_function(self, association: Mapping[str, Any], where: str) -> TomlValue:
        arn = association.get("LambdaFunctionARN")
        function = self._lambda_resource(arn)
        runtime = handler = None
        code = LambdaCode()
        limits: dict[str, TomlValue] = {}
        defaulted: list[str] = []  # the limits that are Lambda's defaults, said in the config's comment
        if function is not None:
            name = text(function.properties.get("FunctionName")) or function.logical_id
            runtime = text(function.properties.get("Runtime"))
            handler = text(function.properties.get("Handler"))
            code = lambda_code(function, self.source.folder)
            # The function's own Timeout / MemorySize (a template's, SAM's Globals, Terraform's timeout /
            # memory_size, a Serverless function's), run as Lambda runs it: a handler that times out on
            # CloudFront times out here (edgesim check warns above Lambda@Edge's limits for the trigger,
            # which CloudFront refuses to associate; the value is kept, and the runtime stops at the limit).
            # Absent, it is Lambda's own default, not the trigger's maximum: CloudFormation's
            # AWS::Lambda::Function, SAM's AWS::Serverless::Function and Terraform's aws_lambda_function
            # all leave it to Lambda, which gives 3 s and 128 MB (Lambda Developer Guide, "Configure
            # Lambda function timeout"; the Lambda API's CreateFunction Timeout / MemorySize). A value
            # that is there but not a number here (a parameter without a Default, an unset variable)
            # says nothing either way: the trigger's maximum stays, as before.
            for ours, key, low, high, default in (("timeout", "Timeout", 1, 900, LAMBDA_DEFAULT_TIMEOUT),
                                                  ("memory", "MemorySize", 128, 10240, LAMBDA_DEFAULT_MEMORY)):
                given = function.properties.get(key)
                value = default if given is None else number(given)
                if value is not None and low <= value <= high:
                    limits[ours] = value
                if given is None:
                    defaulted.append(f"{ours} {default} {'s' if ours == 'timeout' else 'MB'}")
        else:
            literal = text(arn)
            parts = literal.split(":") if literal else []
            address = self._undeclared(arn)
            name = parts[6] if len(parts) > 6 and parts[5] == "function" \
                else address.rsplit(".", 1)[-1] if address else _name_of(arn)
        if code.folder is not None:  # the template's own folder: the config points into it
            path, entry = self._lambda_entry(code.folder, runtime, handler)
            found = path.is_file()
            if not found:
                self._missing(path)
                # A Serverless function's TypeScript is said by serverless_import, in the Framework's terms.
                hint = "" if function is not None and function.metadata.get("edgesim:code-folder") else _built_hint(path)
                self.notes.append(f"{where}: Lambda@Edge function {name}: its {code.said} has no "
                                  f"{self._relative(path)}{hint}")
        else:
            path, entry = self._lambda_entry(self.folder / _file_name(name), runtime, handler, flat=True)
            found = self._code_at(path, code.inline, where)
            if code.inline is not None and function is not None:
                self._assumed(function, f"{where}: Lambda@Edge function {name}'s code")
            if not found:
                elsewhere = self._elsewhere(code, arn, name, path, entry, function is not None)
                self.notes.append(f"{where}: Lambda@Edge function {name}: {elsewhere}")
        association_out: dict[str, TomlValue] = {"lambda": f"{self._relative(path)}:{entry}"}
        problem = lambda_edge_runtime_problem(runtime) if runtime else None
        if runtime and problem is None and runtime.startswith("python") == (path.suffix == ".py"):
            association_out["runtime"] = runtime
        elif problem is not None:
            # A runtime retired before Lambda@Edge's current list (nodejs6.10): the handler still
            # runs here, on edgesim's default for its language, which is not what the input says.
            self.notes.append(f"{where}: Lambda@Edge function {name}: {problem}; the config leaves `runtime` "
                              "out, so edgesim runs the handler on its default runtime for the language")
        if flag(association.get("IncludeBody")):
            if str(association.get("EventType")).endswith("-response"):
                # CloudFront gives the body to request events only (spec 2.4, Request body); the
                # Framework's own docs show `includeBody` on a viewer-response event, which deploys nothing more.
                self.notes.append(f"{where}: IncludeBody on a response event left out (CloudFront exposes the "
                                  "request body to viewer-request and origin-request functions only)")
            else:
                association_out["include_body"] = True
        association_out.update(limits)
        if path.stem != name:
            # Else the association takes its file's stem: two functions' `index.js` would both be
            # "index" in the serve log and the trace.
            association_out["name"] = name
        said = f"{' / '.join(defaulted)}: Lambda's default, not set on {name}" if defaulted else ""
        if found:
            return Remark(association_out, said) if said else association_out
        return Remark(association_out, f"PLACEHOLDER: {self._relative(path)} is still to create"
                      + (f"; {said}" if said else ""))

    def _elsewhere(self, code: LambdaCode, arn: Any, name: str, path: Path, entry: str, defined: bool) -> str:
        """What to do for a function whose code is not here: where it is, the command that fetches it."""
        relative, home = self._relative(path), self._relative(path.parent)
        if code.s3 is not None:
            return (f"its code is a zip in S3 ({code.said}: {code.s3}), which edgesim does not fetch: "
                    f"`aws s3 cp {code.s3.split('?', 1)[0]} {_file_name(name)}.zip` and unzip it into {home}/ "
                    f"(the config expects {relative} with a `{entry}` handler), or point `lambda` at your source")
        if code.archive is not None:
            return (f"its code is the zip {self._relative(code.archive)} ({code.said}): unzip it into {home}/ "
                    f"(the config expects {relative} with a `{entry}` handler), or point `lambda` at your source")
        if code.image is not None:
            return (f"its code is a container image ({code.image}); Lambda@Edge runs no container images, "
                    f"so neither does edgesim: write the handler as {relative} (`{entry}`), or point `lambda` at it")
        where = "the template does not define it (another stack's or account's function)" \
            if self.source.template.resources else "a distribution names it only by ARN"
        if defined:
            where = "the input defines it but not in a way that says where its code is here"
        address = self._undeclared(arn)
        if address is not None:
            # Terraform refuses a reference to a resource no file declares ("Reference to undeclared
            # resource"): a renamed or deleted resource, not a function deployed elsewhere.
            where = (f"its ARN is {address}.{arn['Fn::GetAtt'][1]}, and no file of the configuration declares "
                     f"{address} (`terraform plan` would refuse the reference: fix its name)")
        shown = text(arn) or name
        if isinstance(arn, Mapping) and isinstance(arn.get("Ref"), str) and len(arn) == 1:
            # A Ref that names no resource is a parameter without a Default: the ARN comes at deploy.
            where, shown = f"the template takes its ARN as the parameter {arn['Ref']}", "<that ARN>"
        expression = arn.get("Fn::Terraform") if isinstance(arn, Mapping) and len(arn) == 1 else None
        if isinstance(expression, str) and expression.startswith("var."):
            # Terraform's: a variable without a default, given at `terraform apply`.
            where, shown = f"the configuration takes its ARN as the variable {expression[4:]}", "<that ARN>"
        elif isinstance(expression, str) and expression.startswith("module."):
            where = (f"its ARN is {expression}, an output of a module whose files are not here (`terraform init` "
                     "installs a registry module where edgesim reads it)")
            shown = "<that ARN>"
        return (f"{where}: create {relative} with a `{entry}` handler, or point `lambda` at your handler "
                f"(`aws lambda get-function --function-name {shown} --query Code.Location` "
                "gives a link to its code)")

    def _undeclared(self, arn: Any) -> str | None:
        """The address of the Terraform resource an ARN references when the configuration declares
        none of that address (`aws_lambda_function.edge_stage.qualified_arn`, its resource renamed)."""
        if not self.source.shape.startswith("Terraform") or not isinstance(arn, Mapping) or len(arn) != 1:
            return None
        reference = arn.get("Fn::GetAtt")
        if not (isinstance(reference, list) and len(reference) == 2 and isinstance(reference[0], str)):
            return None
        address = reference[0]
        kind = address.split(".")[-2] if address.count(".") >= 1 else ""
        if kind != "aws_lambda_function" or address.startswith("data.") or address in self.source.template.resources:
            return None
        return address

    def _missing(self, path: Path) -> None:
        if path not in self.missing:
            self.missing.append(path)

    def _lambda_resource(self, arn: Any) -> Resource | None:
        """The AWS::Lambda::Function (or SAM function) behind a version (`!Ref Version`) or named directly."""
        template = self.source.template
        version = template.referenced(arn, LAMBDA_VERSION)
        if version is not None:
            return template.referenced(version.properties.get("FunctionName"), LAMBDA_FUNCTION, SAM_FUNCTION)
        return template.referenced(arn, LAMBDA_FUNCTION, SAM_FUNCTION)

    def _lambda_entry(self, home: Path, runtime: str | None, handler: str | None,
                      flat: bool = False) -> tuple[Path, str]:
        """(the handler's file, its function) under `home`: the template's Handler, else the first
        usual entry present, else the usual entry for the runtime (a placeholder the user is told to
        create). `flat`: `<functions>/NAME.py` (or .js) beside the folder counts too."""
        python = bool(runtime and runtime.startswith("python"))
        node = bool(runtime and runtime.startswith("node"))
        if handler and "." in handler:
            # The function is after the Handler's last dot; Python's module may be a dotted path
            # (`pkg.mod.fn` is pkg/mod.py under the code's folder, Lambda's task root).
            module, function = handler.rsplit(".", 1)
            if python:
                candidates = [f"{module.replace('.', '/')}.py"]
            else:
                candidates = [f"{module}{suffix}" for suffix in _NODE_SUFFIXES]
                candidates += [] if node else [f"{module.replace('.', '/')}.py"]
            for candidate in candidates:
                if (home / candidate).is_file():
                    return home / candidate, function
            return home / candidates[0], function
        for entry, function in _LAMBDA_ENTRIES:
            if (home / entry).is_file() and (runtime is None or python == entry.endswith(".py")):
                return home / entry, function
        for suffix in (".py", *_NODE_SUFFIXES) if flat else ():
            beside = home.parent / f"{home.name}{suffix}"
            if beside.is_file() and (runtime is None or python == (suffix == ".py")):
                return beside, "lambda_handler" if suffix == ".py" else "handler"
        return (home / "lambda_function.py", "lambda_handler") if python else (home / "index.js", "handler")


def _built_hint(path: Path) -> str:
    """A TypeScript source where the handler's .js belongs is built first (`sam build` with esbuild)."""
    for source in (path.with_suffix(".ts"), path.with_suffix(".mts")):
        if source.is_file():
            return (f" (there is {source.name}: edgesim runs JavaScript, so build it first - `sam build` - "
                    "and import the built template, .aws-sam/build/template.yaml)")
    return ""


def _file_name(name: str) -> str:
    """A function's name as a file name: CloudFront's and Lambda's names are already safe, an
    unresolved reference's rendering may not be."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "function"


def _name_of(reference: Any) -> str:
    """A name for a function whose ARN is an expression edgesim cannot evaluate (`!ImportValue X`)."""
    return _file_name(describe(reference).split(" ", 1)[-1])
