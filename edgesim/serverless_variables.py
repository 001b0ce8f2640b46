"""The Serverless Framework's variables in a `serverless.yml`, as far as the file decides them.

`${self:custom.domain}`, `${opt:stage, 'dev'}`, `${env:API_HOST, 'api.example.com'}`,
`${sls:stage}`, `${aws:region}`, `${param:origin}`: the Framework's "Variables" docs (v3 and v4)
write a variable as `${source:address, fallback, ...}`, fallbacks tried in order, nestable. An
import has no CLI options and no AWS account: `opt:` takes its fallback (the stage and region the
Framework's defaults, `dev` and `us-east-1`), `env:` the environment, else its fallback; what
only the deployment knows (`ssm:`, `cf:`, `s3:`, `file(...)`, an `env:` variable that is not set
and has no fallback) is left as `{"Fn::Serverless": "<the text>"}`, which distribution_source
shows as the text and config_import replaces by a marked placeholder; each is said in a note.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgesim.distribution_source import load_document
from edgesim.errors import ConfigError

UNRESOLVED = "Fn::Serverless"
# UNCERTAIN: the account an ARN is built with; AWS's documentation example account, as elsewhere.
_ACCOUNT = "123456789012"
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
# A Framework variable's inside: `source:address` (one colon: `AWS::Region` is CloudFormation's) or `file(...)`.
_VARIABLE = re.compile(r"^\s*(file\(|strToBool\(|[A-Za-z][A-Za-z0-9]*:(?!:))")


class _Missing:
    """A source that gives no value: the next fallback is tried."""


_MISSING = _Missing()
_SAID = _Missing()  # a `self:` reference to a value whose own variable could not be resolved, said there


def _split_top(text: str) -> list[str]:
    """`a, ${b, c}, 'd,e'` -> ["a", "${b, c}", "'d,e'"]: the commas outside nesting and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif text.startswith("${", i):
            depth += 1
            i += 1
        elif char == "}" and depth:
            depth -= 1
        elif char == "," and not depth:
            parts.append(text[start:i].strip())
            start = i + 1
        i += 1
    parts.append(text[start:].strip())
    return parts


def _close(text: str, start: int) -> int:
    """The index of the `}` closing the `${` at `start`, or -1."""
    depth, i = 0, start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


@dataclass
class Variables:
    """Resolves a serverless.yml's variables against the file itself (see the module's docstring)."""

    document: Mapping[str, Any]
    notes: list[str] = field(default_factory=list)
    _noted: set[str] = field(default_factory=set)
    folder: Path | None = None  # the service file's, for `${file(...)}`
    _depth: int = 0

    def _note(self, key: str, note: str) -> None:
        if key not in self._noted:
            self._noted.add(key)
            self.notes.append(note)

    # --- the stage and region the Framework would deploy to -----------------------------------

    def stage(self) -> str:
        provider = self.document.get("provider")
        configured = self.resolve(provider.get("stage"), "provider.stage") if isinstance(provider, Mapping) else None
        if isinstance(configured, str) and configured:
            return configured
        self._note("stage", "the stage is not known to an import (no --stage, and provider.stage gives none "
                            "here): the Framework's default 'dev' is taken where the file uses it")
        return "dev"

    def region(self) -> str:
        provider = self.document.get("provider")
        configured = self.resolve(provider.get("region"), "provider.region") if isinstance(provider, Mapping) else None
        if isinstance(configured, str) and configured:
            return configured
        return "us-east-1"  # the Framework's default, and Lambda@Edge's only region

    def service(self) -> str:
        service = self.document.get("service")
        if isinstance(service, Mapping):  # the v1 form, `service: {name: x}`
            service = service.get("name")
        value = self.resolve(service, "service")
        return value if isinstance(value, str) and value else "service"

    # --- resolution ---------------------------------------------------------------------------

    def resolve(self, value: Any, where: str) -> Any:
        """`value` with its variables resolved; unresolved strings become `{"Fn::Serverless": text}`."""
        if isinstance(value, str):
            return self._string(value, where)
        if isinstance(value, list):
            return [self.resolve(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, Mapping):
            return {k: self.resolve(v, f"{where}.{k}") for k, v in value.items()}
        return value

    def _string(self, text: str, where: str) -> Any:
        if "${" not in text:
            return text
        # The Framework's variables, each (the text before it, its inside, its whole text); a
        # `${AWS::Region}` or `${Bucket}` is CloudFormation's (`!Sub`), not the Framework's, and stays.
        found: list[tuple[str, str, str]] = []
        position, start = 0, text.find("${")
        while start >= 0:
            end = _close(text, start)
            if end < 0:
                break
            if _VARIABLE.match(text[start + 2:end]):
                found.append((text[position:start], text[start + 2:end], text[start:end + 1]))
                position = end + 1
            start = text.find("${", end + 1)
        if not found:
            return text
        if len(found) == 1 and found[0][2] == text:  # the whole value: it may be a number, a list, an object
            value = self._variable(found[0][1], where)
            return {UNRESOLVED: text} if value is _MISSING else value
        parts: list[str] = []
        unresolved = False
        for before, inner, whole in found:
            parts.append(before)
            value = self._variable(inner, where)
            if value is _MISSING or not isinstance(value, (str, int, float)):
                unresolved = True
                parts.append(whole)
            else:
                parts.append(str(value).lower() if isinstance(value, bool) else str(value))
        parts.append(text[position:])
        joined = "".join(parts)
        return {UNRESOLVED: joined} if unresolved else joined

    def _variable(self, inner: str, where: str) -> Any:
        """The value of `${inner}`: its sources in order, the first that gives one."""
        sources = _split_top(inner)
        said = False
        for index, source in enumerate(sources):
            value = self._source(source, where, alone=len(sources) == 1)
            if isinstance(value, _Missing):
                said = said or value is _SAID
                continue
            if index > 0 and not sources[0].startswith("self:"):
                why = "is not set" if sources[0].startswith("env:") else "is not known to an import"
                shown = source if source[:1] in "'\"" or _NUMBER.match(source) else f"{source} ({value!r})"
                self._note(f"fallback:{inner}", f"{where}: ${{{inner}}} - {sources[0]} {why}; its fallback "
                                                f"{shown} is used")
            return value
        if said:
            return _MISSING
        self._note(f"unresolved:{inner}", f"{where}: ${{{inner}}} cannot be resolved here (only the deployment "
                                          "knows it); the value is a placeholder: write yours in the config, or "
                                          "import `serverless print > resolved.yml` output, where it is resolved")
        return _MISSING

    def _source(self, source: str, where: str, alone: bool = False) -> Any:
        if len(source) >= 2 and source[0] == source[-1] and source[0] in "'\"":
            return source[1:-1]
        if _NUMBER.match(source):
            return float(source) if "." in source else int(source)
        if source in ("true", "false"):
            return source == "true"
        if source == "null":
            return _MISSING
        if source.startswith("${"):
            value = self._string(source, where)
            return _SAID if isinstance(value, Mapping) and UNRESOLVED in value else value
        if source.startswith("file(") and ")" in source:
            return self._file(source, where)
        kind, _, address = source.partition(":")
        kind, address = kind.strip(), address.strip()
        if kind == "self":
            return self._self(address, where)
        if kind in ("opt", "sls"):
            # No CLI options in an import: `opt:` goes to its fallback; `${opt:stage}` without one,
            # and `${sls:stage}`, are the stage (the Framework's "CLI options" and "sls" sources).
            return self.stage() if address == "stage" and (kind == "sls" or alone) else _MISSING
        if kind == "aws":
            if address == "region":
                return self.region()
            if address == "accountId":
                self._note("account", f"${{aws:accountId}} is your account's ID; {_ACCOUNT} stands in for it")
                return _ACCOUNT
            return _MISSING
        if kind == "env":
            name = address or ""
            if name in os.environ:
                self._note(f"env:{name}", f"{where}: ${{env:{name}}} taken from the environment "
                                          f"({os.environ[name]!r})")
                return os.environ[name]
            return _MISSING
        if kind == "param":
            return self._param(address)
        return _MISSING

    def _self(self, address: str, where: str) -> Any:
        if address == "provider.stage":
            return self.stage()
        if address == "provider.region":
            return self.region()
        if address in ("service", "service.name"):
            return self.service()
        node: Any = self.document
        for key in address.split(".") if address else ():
            if isinstance(node, str) and "${" in node and self._depth <= 20:  # `custom: ${file(...)}`
                self._depth += 1
                try:
                    node = self.resolve(node, where)
                finally:
                    self._depth -= 1
            if isinstance(node, Mapping) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return _MISSING
        if self._depth > 20:  # a self-reference cycle
            return _MISSING
        self._depth += 1
        try:
            value = self.resolve(node, where)
        finally:
            self._depth -= 1
        return _SAID if isinstance(value, Mapping) and set(value) == {UNRESOLVED} else value

    def _file(self, source: str, where: str) -> Any:
        """`${file(./config/dev.yml):origin.host}`: a YAML or JSON file beside the service file, or one
        of its values (the Framework's "Reference Variables in Other Files"); a .js/.ts file is code
        that only the Framework runs."""
        inner, _, address = source[len("file("):].partition(")")
        name = self._string(inner.strip().strip("'\""), where)
        if self.folder is None or not isinstance(name, str) or Path(name).suffix not in (".yml", ".yaml", ".json"):
            return _MISSING
        path = (self.folder / name).resolve()
        try:
            document = load_document(path)
        except (ConfigError, OSError):
            return _MISSING
        node: Any = document
        for key in address.lstrip(":").strip().split(".") if address.lstrip(":").strip() else ():
            node = node.get(key) if isinstance(node, Mapping) else None
        if node is None:
            return _MISSING
        return self.resolve(node, where)  # `self:` in that file is still the service's (the Framework's reading)

    def _param(self, name: str) -> Any:
        """`${param:x}`: the stage's params, else the defaults (v3's `params:`, v4's `stages:`)."""
        stage = self.stage()
        for section, inner in (("params", None), ("stages", "params")):
            block = self.document.get(section)
            for key in (stage, "default"):
                scope = block.get(key) if isinstance(block, Mapping) else None
                scope = scope.get(inner) if inner and isinstance(scope, Mapping) else scope
                if isinstance(scope, Mapping) and name in scope:
                    return self.resolve(scope[name], f"{section}.{key}.{name}")
        return _MISSING
