"""Read a Terraform configuration: its `.tf` files (HCL), parsed by python-hcl2, as a `Module`.

Its `.tf.json` files (Terraform's JSON syntax) are read by terraform_json.py into the same shape.

python-hcl2 gives each block as a list of bodies and each attribute's expression as text
(`"${local.origin_id}"`, a quoted template `"\\"api.${var.domain}\\""`); terraform_expressions.py
evaluates those. A syntax error is a ConfigError naming the file and the line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgesim.config import read_user_text
from edgesim.errors import ConfigError

_META_KEYS = ("__is_block__", "__start_line__", "__end_line__", "__comments__", "__inline_comments__")


def _unquote(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


def strip_meta(body: Mapping[str, Any]) -> dict[str, Any]:
    return {_unquote(k): v for k, v in body.items() if k not in _META_KEYS}


@dataclass
class Module:
    """A folder's Terraform configuration, its blocks by kind."""

    folder: Path
    files: list[Path]
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # "type.name" -> raw body
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # "data.type.name" -> raw body
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    tfvars: dict[str, tuple[Any, str]] = field(default_factory=dict)  # name -> (raw value, file name)


def parse_hcl(path: Path) -> dict[str, Any]:
    """One file parsed by python-hcl2; a ConfigError naming the file and the line of a syntax error."""
    import hcl2
    from hcl2.utils import SerializationOptions
    from lark.exceptions import UnexpectedInput

    text = read_user_text(path, "Terraform file")
    options = SerializationOptions(with_comments=False, preserve_heredocs=False)
    try:
        return dict(hcl2.loads(text, serialization_options=options))
    except UnexpectedInput as exc:
        line, column = getattr(exc, "line", -1), getattr(exc, "column", -1)
        where = f" (line {line}, column {column})" if isinstance(line, int) and line > 0 else ""
        shown = text.splitlines()[line - 1].strip() if isinstance(line, int) and 0 < line <= len(text.splitlines()) \
            else ""
        raise ConfigError(f"not valid HCL{where}" + (f": {shown[:80]}" if shown else ""), file=str(path)) from None
    except Exception as exc:  # python-hcl2's transformer raises plain exceptions on odd input
        raise ConfigError(f"not valid HCL: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                          file=str(path)) from None


def _labelled(blocks: Any, depth: int) -> list[tuple[list[str], dict[str, Any]]]:
    """(labels, body) of each `resource "type" "name" {}` (depth 2) or `variable "x" {}` (depth 1)."""
    found: list[tuple[list[str], dict[str, Any]]] = []
    for block in blocks if isinstance(blocks, list) else []:
        def walk(value: Any, labels: list[str]) -> None:
            if len(labels) == depth:
                if isinstance(value, Mapping):
                    found.append((labels, strip_meta(value)))
                return
            if isinstance(value, Mapping):
                for key, inner in value.items():
                    if key not in _META_KEYS:
                        walk(inner, [*labels, _unquote(key)])
        walk(block, [])
    return found


def is_terraform_file(path: Path) -> bool:
    """A file of Terraform's native syntax (`.tf`) or of its JSON syntax (`.tf.json`)."""
    return path.suffix == ".tf" or path.name.endswith(".tf.json")


def terraform_files(folder: Path) -> list[Path]:
    """The folder's configuration files, both syntaxes, in the lexical order Terraform reads them."""
    return sorted([*folder.glob("*.tf"), *folder.glob("*.tf.json")], key=lambda p: p.name)


def _parse(path: Path) -> dict[str, Any]:
    if path.name.endswith(".json"):  # Terraform's JSON syntax, in python-hcl2's shape (terraform_json.py)
        from edgesim.terraform_json import parse_tf_json, parse_tfvars_json

        return parse_tfvars_json(path) if path.name.endswith(".tfvars.json") else parse_tf_json(path)
    return parse_hcl(path)


def load_module(path: Path) -> Module:
    """The `.tf` (or `.tf.json`) file at `path`, or every such file of the folder at `path` (one
    module, as Terraform reads it), with the folder's terraform.tfvars and *.auto.tfvars (`.json` too)."""
    folder = path if path.is_dir() else path.parent
    files = terraform_files(folder) if path.is_dir() else [path]
    if not files:
        # A folder is read as Terraform unless it holds a Serverless service (config_import.read_source).
        raise ConfigError("no Terraform files (*.tf, *.tf.json) and no serverless.yml in this folder; import the "
                          "folder that holds them, or a distribution's JSON or template file", file=str(path))
    module = Module(folder.resolve(), files)
    for file in files:
        document = _parse(file)
        for labels, body in _labelled(document.get("resource"), 2):
            module.resources[".".join(labels)] = body
        for labels, body in _labelled(document.get("data"), 2):
            module.data["data." + ".".join(labels)] = body
        for labels, body in _labelled(document.get("variable"), 1):
            module.variables[labels[0]] = body
        for labels, body in _labelled(document.get("module"), 1):
            module.modules[labels[0]] = body
        for labels, body in _labelled(document.get("output"), 1):
            module.outputs[labels[0]] = body
        for block in document.get("locals") or []:
            if isinstance(block, Mapping):
                module.locals.update(strip_meta(block))
    # Terraform's order, a later file's value winning: terraform.tfvars, terraform.tfvars.json, then
    # the *.auto.tfvars and *.auto.tfvars.json files by name.
    autos = sorted([*folder.glob("*.auto.tfvars"), *folder.glob("*.auto.tfvars.json")], key=lambda p: p.name)
    for tfvars in [folder / "terraform.tfvars", folder / "terraform.tfvars.json", *autos]:
        if tfvars.is_file():
            for name, value in strip_meta(_parse(tfvars)).items():
                module.tfvars[name] = (value, tfvars.name)
    return module
