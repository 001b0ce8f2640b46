"""Read Terraform's JSON syntax (`.tf.json`, `.tfvars.json`) into the shape python-hcl2 gives a `.tf` file.

Terraform's JSON syntax ("JSON Configuration Syntax", developer.hashicorp.com/terraform/language/
syntax/json) is its native syntax written as JSON: the root's properties are the top-level block
types, one nested object per label (`resource` -> type -> name -> body; an array of objects may
stand at any level, to repeat a label or keep order), a nested block an object or an array of
objects, `"//"` a comment in any block body. An argument's value is an expression: a string is a
string template (`"api.${var.domain}"`; one interpolation alone, `"${var.list}"`, is that value
itself), arrays and objects are tuples and objects of such. Some are taken literally: a
variable's `default` and `description`, an output's `description`, a module's `source`,
`version` and `providers`, `.tfvars.json` values; `provider` and `depends_on` are bare references.

terraform_hcl.py's `Module` is built from python-hcl2's shape, so this module writes that shape:
each block a list of bodies marked `__is_block__`, a label quoted or not, a string as the text of
its expression (`"\\"api.${var.domain}\\""`, a literal `"\\"hello\\""`) for terraform_expressions.py.
JSON cannot tell a nested block from an argument whose value is an object (Terraform asks the
provider's schema); without the schema, an object (or array of objects) in a resource or data body
is read as a block, except the few map arguments named in _MAP_ARGUMENTS (`tags`, a Lambda
function's environment `variables`). UNCERTAIN where another resource's map argument matters to
the import; none of those the import reads has one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edgesim.config import read_user_text
from edgesim.errors import ConfigError

# Block types and how many labels each has; the others (terraform, provider, moved, import, check...)
# hold nothing the import reads.
_LABELS = {"resource": 2, "data": 2, "variable": 1, "output": 1, "module": 1, "locals": 0}
# Arguments of the AWS resources the import reads whose value is a map, not a nested block.
_MAP_ARGUMENTS = frozenset({"tags", "tags_all", "variables", "triggers"})
# What a JSON string's characters are inside a quoted HCL template.
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def parse_tf_json(path: Path) -> dict[str, Any]:
    """A `.tf.json` file in python-hcl2's shape (terraform_hcl.parse_hcl's); a ConfigError naming
    the file and the line of a JSON syntax error."""
    document = _load(path)
    out: dict[str, list[Any]] = {}
    for kind, value in document.items():
        depth = _LABELS.get(kind)
        if depth is None:
            continue
        for labels, body in _labelled(value, depth):
            converted = _locals(body) if kind == "locals" else _BODIES[kind](body)
            for label in reversed(labels):
                converted = {f'"{label}"': converted}
            out.setdefault(kind, []).append(converted)
    return out


def parse_tfvars_json(path: Path) -> dict[str, Any]:
    """A `.tfvars.json` file: its values taken literally, as Terraform takes them."""
    return {name: _literal(value) for name, value in _load(path).items() if name != "//"}


def _load(path: Path) -> dict[str, Any]:
    text = read_user_text(path, "Terraform file")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        line = text.splitlines()[exc.lineno - 1].strip() if 0 < exc.lineno <= len(text.splitlines()) else ""
        raise ConfigError(f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
                          + (f": {line[:80]}" if line else ""), file=str(path)) from None
    if not isinstance(document, dict):
        raise ConfigError("Terraform's JSON syntax has an object at its root, its properties the block types "
                          f"(resource, variable...); this file has a {type(document).__name__}", file=str(path))
    return document


def _labelled(value: Any, depth: int) -> list[tuple[list[str], Mapping[str, Any]]]:
    """(labels, body) of each block under a block type's property: an object per label level, an
    array of objects at any level."""
    if isinstance(value, list):
        return [found for item in value for found in _labelled(item, depth)]
    if not isinstance(value, Mapping):
        return []
    if depth == 0:
        return [([], value)]
    return [([str(label), *labels], body) for label, inner in value.items() if label != "//"
            for labels, body in _labelled(inner, depth - 1)]


# --- block bodies ---------------------------------------------------------------------------------


def _resource(body: Mapping[str, Any]) -> dict[str, Any]:
    """A resource's or data source's body, or a block nested in one."""
    out: dict[str, Any] = {"__is_block__": True}
    for key, value in body.items():
        if key == "//":
            continue
        if key == "dynamic":
            out[key] = [{f'"{labels[0]}"': _dynamic(spec)} for labels, spec in _labelled(value, 1)]
        elif key == "provider" and isinstance(value, str):
            out[key] = _reference(value)
        elif key == "depends_on" and isinstance(value, list):
            out[key] = [_reference(v) if isinstance(v, str) else v for v in value]
        elif key not in _MAP_ARGUMENTS and _blocks(value):
            out[key] = [_resource(b) for _, b in _labelled(value, 0)]
        else:
            out[key] = _expression(value)
    return out


def _blocks(value: Any) -> bool:
    return isinstance(value, Mapping) or (isinstance(value, list) and bool(value)
                                          and all(isinstance(v, Mapping) for v in value))


def _dynamic(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A `dynamic "label"` block: for_each an expression, `iterator` a bare name, `content` its body."""
    out: dict[str, Any] = {"__is_block__": True}
    for key, value in spec.items():
        if key == "content":
            out[key] = [_resource(b) for _, b in _labelled(value, 0)]
        elif key == "iterator" and isinstance(value, str):
            out[key] = _reference(value)  # python-hcl2 writes the bare name as "${name}"
        elif key != "//":
            out[key] = _expression(value)
    return out


def _variable(body: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"__is_block__": True}
    for key, value in body.items():
        if key == "type" and isinstance(value, str):
            out[key] = value  # a type expression, as python-hcl2 gives `type = string`
        elif key in ("default", "description", "sensitive", "nullable"):
            out[key] = _literal(value)
        # `validation` blocks check values at apply: nothing the import reads
    return out


def _output(body: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"__is_block__": True}
    for key, value in body.items():
        if key == "value":
            out[key] = _expression(value)
        elif key in ("description", "sensitive"):
            out[key] = _literal(value)
    return out


def _module(body: Mapping[str, Any]) -> dict[str, Any]:
    """A module call: its arguments expressions (no nested blocks), its meta-arguments literal."""
    out: dict[str, Any] = {"__is_block__": True}
    for key, value in body.items():
        if key in ("source", "version", "providers"):
            out[key] = _literal(value)
        elif key == "depends_on" and isinstance(value, list):
            out[key] = [_reference(v) if isinstance(v, str) else v for v in value]
        elif key != "//":
            out[key] = _expression(value)
    return out


def _locals(body: Mapping[str, Any]) -> dict[str, Any]:
    return {"__is_block__": True, **{k: _expression(v) for k, v in body.items() if k != "//"}}


_BODIES = {"resource": _resource, "data": _resource, "variable": _variable, "output": _output, "module": _module}


# --- values ---------------------------------------------------------------------------------------


def _expression(value: Any) -> Any:
    """A JSON value where Terraform expects an expression: strings are templates."""
    return _strings(value, _template)


def _literal(value: Any) -> Any:
    """A JSON value taken literally: a string quoted, its `${` and `%{` escaped as `$${` and `%%{`."""
    return _strings(value, _quoted)


def _quoted(text: str) -> str:
    escaped = "".join(_ESCAPES.get(c, c) for c in text).replace("${", "$${").replace("%{", "%%{")
    return f'"{escaped}"'


def _strings(value: Any, convert: Callable[[str], Any]) -> Any:
    """`value` with every string in it converted; lists and objects walked, other values kept."""
    if isinstance(value, str):
        return convert(value)
    if isinstance(value, list):
        return [_strings(v, convert) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _strings(v, convert) for k, v in value.items()}
    return value


def _reference(text: str) -> str:
    """A bare reference or keyword given as a string (`"aws.east"`, `"aws_s3_bucket.site"`)."""
    return "${" + text + "}"


def _template(text: str) -> str:
    """A JSON string as the quoted HCL template python-hcl2 would give: its literal characters
    escaped, its `${...}` and `%{...}` sequences as written (their own strings keep their quotes)."""
    out = ['"']
    i = 0
    while i < len(text):
        if text.startswith(("$${", "%%{"), i):  # an escaped sequence: literal, kept escaped
            out.append(text[i:i + 3])
            i += 3
        elif text.startswith(("${", "%{"), i):
            end = _after_sequence(text, i + 2)
            out.append(text[i:end])
            i = end
        else:
            out.append(_ESCAPES.get(text[i], text[i]))
            i += 1
    out.append('"')
    return "".join(out)


def _after_sequence(text: str, i: int) -> int:
    """Where the `${` (or `%{`) sequence whose body starts at `i` ends: after its closing brace,
    braces in its expression counted, its quoted strings (with sequences of their own) skipped."""
    depth = 1
    while i < len(text):
        char = text[i]
        if char == '"':
            i = _after_string(text, i + 1)
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i  # not closed: the rest, which terraform_expressions then cannot read (said as such)


def _after_string(text: str, i: int) -> int:
    """Where the quoted string whose characters start at `i` ends: after its closing quote."""
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        elif text.startswith(("$${", "%%{"), i):
            i += 3
        elif text.startswith(("${", "%{"), i):
            i = _after_sequence(text, i + 2)
        else:
            i += 1
    return i
