"""Read a CloudFront distribution definition: its file, its shape, and the readers of its values.

Accepted shapes (`edgesim import` finds which): the AWS CLI's `get-distribution-config` output
({"ETag", "DistributionConfig"}), `get-distribution` / `create-distribution` output
({"Distribution": {"Id", "DomainName", "DistributionConfig"}}), a bare DistributionConfig, and a
CloudFormation template (JSON or YAML; CDK's synthesized templates are templates) with
AWS::CloudFront::Distribution resources. The API wraps lists as {"Quantity": n, "Items": [...]},
CloudFormation mostly writes plain lists and often writes booleans and numbers as strings ("true",
"80"): the readers here take every form, so the mapping in config_import.py is written once.

CloudFormation's intrinsic functions (`!Ref X`, `{"Fn::GetAtt": [X, "Arn"]}`) are loaded as their
JSON form, a one-key mapping; `Template` resolves the ones that name a resource of the template.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from edgesim.config import read_user_text
from edgesim.errors import ConfigError
from edgesim.template_values import TemplateValues

DISTRIBUTION_TYPE = "AWS::CloudFront::Distribution"
SAM_FUNCTION = "AWS::Serverless::Function"


class _TemplateLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation's short-form tags (`!Ref`, `!GetAtt`, `!Sub`, ...) as
    the long form's one-key mappings, so a YAML template reads like its JSON twin."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):  # !GetAtt Resource.Attribute
        value = value.split(".", 1)
    return {suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_document(path: Path) -> Any:
    """The file's content as JSON, else as YAML; a ConfigError naming the file when it is neither."""
    text = read_user_text(path, "distribution definition")
    try:
        return json.loads(text)
    except ValueError as exc:
        json_problem = f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})" \
            if isinstance(exc, json.JSONDecodeError) else f"not JSON ({exc})"
    try:
        return yaml.load(text, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        suffix = path.suffix.lower()
        if suffix == ".json":
            raise ConfigError(json_problem, file=str(path)) from None
        yaml_problem = f"not YAML{where}: {problem}"
        message = yaml_problem if suffix in (".yaml", ".yml", ".template") else f"{json_problem}, and {yaml_problem}"
        raise ConfigError(message, file=str(path)) from None


# --- value readers --------------------------------------------------------------------------


def items(value: Any) -> list[Any]:
    """A list in either form: plain (CloudFormation) or {"Quantity": n, "Items": [...]} (the API).
    A lone object where a list belongs (`CustomErrorResponses: {ErrorCode: 404, ...}`) is that one
    item; an expression edgesim cannot evaluate is no item (`unevaluated` says so)."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        if "Items" in value or "Quantity" in value:
            inner = value.get("Items")
            return list(inner) if isinstance(inner, list) else []
        return [] if unevaluated(value) or not value else [value]
    return []


def unevaluated(value: Any) -> bool:
    """An intrinsic function left for the deployment to evaluate (`!Ref`, `!GetAtt`, ...)."""
    if isinstance(value, Mapping) and len(value) == 1:
        (name, _), = value.items()
        return isinstance(name, str) and (name == "Ref" or name.startswith("Fn::"))
    return False


def flag(value: Any, default: bool = False) -> bool:
    """A boolean, also when CloudFormation writes it as "true" / "false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return default


def number(value: Any) -> int | None:
    """An integer, also when written as a string ("80"); None when absent or not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def identifier(value: Any) -> str | None:
    """An id (an origin's, a behavior's target): the literal, else the expression's own text, the
    same wherever the template repeats it (`!Sub "s3-${Bucket}"` as the origin's Id and as the
    behaviors' TargetOriginId), so that what refers to it still finds it."""
    literal = text(value)
    if literal is not None or value is None:
        return literal
    if isinstance(value, Mapping) and isinstance(value.get("Fn::Sub"), str):
        return str(value["Fn::Sub"])
    return describe(value)


def text(value: Any) -> str | None:
    """A literal string, or None for an intrinsic function edgesim cannot evaluate. A `Fn::Sub`
    without variables and a `Fn::Join` of literals are literals."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Mapping) and len(value) == 1:
        (name, arg), = value.items()
        if name == "Fn::Sub" and isinstance(arg, str) and "${" not in arg:
            return arg
        if name == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            parts = [text(p) for p in arg[1]]
            if isinstance(arg[0], str) and all(p is not None for p in parts):
                return arg[0].join(p for p in parts if p is not None)
    return None


def describe(value: Any) -> str:
    """A short rendering of a value for a note (an intrinsic function as `!Ref X`)."""
    if isinstance(value, Mapping) and len(value) == 1:
        (name, arg), = value.items()
        # Terraform's expressions (terraform_import.py): `${var.x}`, `${aws_lambda_function.edge.arn}`;
        # a CloudFormation logical id has no dot, a Terraform address always has one.
        if name == "Fn::Terraform":
            return "${" + str(arg) + "}"
        if name == "Fn::Serverless":  # a Serverless Framework variable (serverless_variables.py), as written
            return str(arg)
        if name == "Fn::GetAtt" and isinstance(arg, list) and arg and "." in str(arg[0]):
            return "${" + ".".join(map(str, arg)) + "}"
        if isinstance(name, str) and (name == "Ref" or name.startswith("Fn::")):
            shown = ".".join(map(str, arg)) if name == "Fn::GetAtt" and isinstance(arg, list) else json.dumps(arg)
            return f"!{name.removeprefix('Fn::')} {shown.strip(chr(34))}"
    rendered = json.dumps(_terraform_shown(value), default=str)
    return rendered if len(rendered) <= 80 else rendered[:77] + "..."


def _terraform_shown(value: Any) -> Any:
    """`value` with Terraform's expressions inside it as their `${...}` text (see `describe`)."""
    if isinstance(value, list):
        return [_terraform_shown(v) for v in value]
    if isinstance(value, Mapping):
        if len(value) == 1:
            (name, arg), = value.items()
            if name in ("Fn::Terraform", "Fn::Serverless") or (name == "Fn::GetAtt" and isinstance(arg, list) and arg
                                           and "." in str(arg[0])):
                return describe(value)
        return {k: _terraform_shown(v) for k, v in value.items()}
    return value


# --- the template and the shapes -------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    # The resource's Metadata: CDK names a Lambda function's local code folder there
    # (`aws:asset:path`, as `sam local` reads it).
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # What evaluating its properties assumed (a parameter's Default): said where its code is used,
    # since a value baked into a function's code is as much the stack's choice as the distribution's.
    notes: tuple[str, ...] = ()


@dataclass
class Template:
    """A CloudFormation template's resources, to resolve the references a distribution makes."""

    resources: dict[str, Resource] = field(default_factory=dict)

    def referenced(self, value: Any, *types: str) -> Resource | None:
        """The resource of one of `types` that `value` (`!Ref X`, `!GetAtt X.Attr`, or `!Sub
        "${X.Arn}:1"`) names, if any."""
        name: Any = None
        if isinstance(value, Mapping) and len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref":  # SAM's `!Ref Fn.Version` names the function Fn
                name = arg.split(".", 1)[0] if isinstance(arg, str) else arg
            elif fn == "Fn::GetAtt" and isinstance(arg, list) and arg:
                name = arg[0]
            elif fn == "Fn::Sub" and isinstance(arg, str) and arg.startswith("${"):
                name = arg[2:].split("}", 1)[0].split(".", 1)[0]
            elif fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
                # CDK's `!Join ["", [!GetAtt Fn.Arn, ":$LATEST"]]`: the first part that names one
                return next((r for r in map(lambda p: self.referenced(p, *types), arg[1]) if r is not None), None)
        resource = self.resources.get(name) if isinstance(name, str) else None
        return resource if resource is not None and (not types or resource.type in types) else None

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type == type_]


@dataclass(frozen=True)
class Source:
    """A distribution found in a document: its DistributionConfig and what came with it."""

    config: Mapping[str, Any]
    shape: str  # said in the config's header and in notes
    template: Template
    distribution_id: str | None = None
    domain_name: str | None = None
    notes: tuple[str, ...] = ()  # what evaluating the template's expressions assumed
    folder: Path | None = None  # the input file's folder: a template's CodeUri is relative to it


def find_distribution(document: Any, file: str, resource: str | None = None) -> Source:
    """The distribution in `document`, whatever its shape; a ConfigError naming `file` otherwise."""
    if not isinstance(document, Mapping):
        raise ConfigError(f"no CloudFront distribution found: the file holds a {type(document).__name__}, "
                          "not an object", file=file)
    if "Resources" in document:
        return _from_template(document, file, resource)
    if resource is not None:
        raise ConfigError("--resource names a resource of a CloudFormation template, and this file is not one",
                          file=file)
    outer = document.get("Distribution")
    if isinstance(outer, Mapping) and isinstance(outer.get("DistributionConfig"), Mapping):
        return Source(outer["DistributionConfig"], "get-distribution output", Template(),
                      text(outer.get("Id")), text(outer.get("DomainName")))
    inner = document.get("DistributionConfig")
    if isinstance(inner, Mapping):
        return Source(inner, "get-distribution-config output", Template())
    if "Origins" in document and "DefaultCacheBehavior" in document:
        return Source(document, "DistributionConfig", Template())
    raise ConfigError(
        "no CloudFront distribution found: expected `aws cloudfront get-distribution-config` output "
        '({"ETag", "DistributionConfig"}), `get-distribution` output, a DistributionConfig, or a CloudFormation '
        f"template with an {DISTRIBUTION_TYPE} resource; the top-level keys are {sorted(map(str, document))}",
        file=file)


def _sam_function_globals(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """A SAM template's `Globals: Function:` (Runtime, Handler, CodeUri...), which every
    AWS::Serverless::Function takes unless it sets its own (SAM's "Globals section": a
    resource's own scalar wins; the maps and lists SAM merges are not read here)."""
    sections = document.get("Globals")
    function = sections.get("Function") if isinstance(sections, Mapping) else None
    return function if isinstance(function, Mapping) else {}


def _resource_condition(resources: Any, logical_id: str) -> str | None:
    body = resources.get(logical_id) if isinstance(resources, Mapping) else None
    condition = body.get("Condition") if isinstance(body, Mapping) else None
    return condition if isinstance(condition, str) else None


def _from_template(document: Mapping[str, Any], file: str, wanted: str | None) -> Source:
    raw = document.get("Resources")
    template = Template()
    # The other resources' values (a bucket's name, a function's code) are evaluated as the
    # distribution's are; what they assumed is said where the distribution uses them (each resource's
    # own notes: a parameter used by two resources is said for each that is used).
    sam_globals = _sam_function_globals(document)
    if isinstance(raw, Mapping):
        for logical_id, body in raw.items():
            if isinstance(body, Mapping) and isinstance(body.get("Type"), str):
                properties = body.get("Properties")
                if body["Type"] == SAM_FUNCTION and sam_globals:
                    properties = {**sam_globals, **(properties if isinstance(properties, Mapping) else {})}
                others = TemplateValues.of(document, pseudo=False)
                properties = others.resolve(properties)
                metadata = body.get("Metadata")
                template.resources[str(logical_id)] = Resource(
                    str(logical_id), body["Type"], properties if isinstance(properties, Mapping) else {},
                    metadata if isinstance(metadata, Mapping) else {}, tuple(others.notes))
    found = template.of_type(DISTRIBUTION_TYPE)
    names = [r.logical_id for r in found]
    if not found:
        kinds = sorted({r.type for r in template.resources.values()})
        raise ConfigError(f"no {DISTRIBUTION_TYPE} resource in this CloudFormation template "
                          f"(its resources are of type: {', '.join(kinds) or 'none'})", file=file)
    values = TemplateValues.of(document)
    # A resource whose `Condition` is false is not created (CloudFormation's "Conditions" section):
    # at the parameters' defaults, such a distribution is not one the stack has.
    left_out = {r.logical_id: condition for r in found
                if (condition := _resource_condition(raw, r.logical_id)) is not None
                and values.condition(condition) is False}
    if wanted is not None:
        chosen = template.resources.get(wanted)
        if chosen is None or chosen.type != DISTRIBUTION_TYPE:
            raise ConfigError(f"--resource {wanted}: no {DISTRIBUTION_TYPE} of that logical id; "
                              f"the template has {', '.join(names)}", file=file)
        if wanted in left_out:
            values.notes.append(f"{wanted}: its Condition {left_out[wanted]} is false at the parameters' defaults "
                                "(the stack creates it only when deployed with other values); imported as "
                                "--resource names it")
    else:
        created = [r for r in found if r.logical_id not in left_out] or found
        if len(created) > 1:
            shown = [r.logical_id for r in created]
            raise ConfigError(f"the template has {len(created)} distributions ({', '.join(shown)}); "
                              "choose one with --resource LOGICAL_ID", file=file)
        chosen = created[0]
        for logical_id, condition in left_out.items():
            if logical_id != chosen.logical_id:
                values.notes.append(f"{logical_id}: its Condition {condition} is false at the parameters' defaults, "
                                    "so the stack does not create it; not imported (--resource "
                                    f"{logical_id} imports it)")
    body = raw.get(chosen.logical_id) if isinstance(raw, Mapping) else None
    properties = body.get("Properties") if isinstance(body, Mapping) else None
    config = values.resolve(properties.get("DistributionConfig")) if isinstance(properties, Mapping) else None
    if not isinstance(config, Mapping):
        raise ConfigError(f"{chosen.logical_id}: Properties.DistributionConfig is missing or not an object "
                          f"({describe(config)})", file=file)
    return Source(config, f"CloudFormation resource {chosen.logical_id}", template, notes=tuple(values.notes))
