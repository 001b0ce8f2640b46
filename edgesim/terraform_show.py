"""`edgesim import` of `terraform show -json` output (a state, or a plan's planned values).

Every value is resolved there: an ARN or ID that a resource of the same output has is taken back to
that resource, so its code and settings are imported too (terraform_import.py maps the shapes).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edgesim.distribution_source import Source, Template, text
from edgesim.errors import ConfigError
from edgesim.terraform_import import (POLICIES, DISTRIBUTION, archive_source, choose, template_resource,
                                      distribution_config)


def is_show_json(document: Any) -> bool:
    return isinstance(document, Mapping) and "format_version" in document and (
        "values" in document or "planned_values" in document)


def _module_resources(module: Any) -> list[Mapping[str, Any]]:
    if not isinstance(module, Mapping):
        return []
    found = [r for r in module.get("resources") or [] if isinstance(r, Mapping)]
    for child in module.get("child_modules") or []:
        found.extend(_module_resources(child))
    return found


def _references(resources: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each resolved ARN or ID a resource of the output has -> the reference to that resource."""
    found: dict[str, dict[str, Any]] = {}
    for resource in resources:
        values, address = resource.get("values") or {}, str(resource.get("address"))
        kind = resource.get("type")
        if resource.get("mode") == "data" or not isinstance(values, Mapping):
            continue
        keys = {"aws_cloudfront_function": ("arn",), "aws_lambda_function": ("qualified_arn", "arn")}.get(
            str(kind), ("id",) if kind in POLICIES else ())
        for key in keys:
            if isinstance(values.get(key), str) and values[key]:
                found[values[key]] = {"Fn::GetAtt": [address, key]}
        if kind == "aws_lambda_function" and values.get("arn") and values.get("version"):
            found[f"{values['arn']}:{values['version']}"] = {"Fn::GetAtt": [address, "qualified_arn"]}
    return found


def _relinked(value: Any, references: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return references.get(value, value)
    if isinstance(value, list):
        return [_relinked(v, references) for v in value]
    if isinstance(value, Mapping):
        return {k: _relinked(v, references) for k, v in value.items()}
    return value


def _configuration_expressions(document: Mapping[str, Any], address: str) -> Mapping[str, Any]:
    """The plan's `configuration` expressions of the resource at `address` (root module's)."""
    configuration = document.get("configuration")
    root = configuration.get("root_module") if isinstance(configuration, Mapping) else None
    for resource in (root.get("resources") or []) if isinstance(root, Mapping) else []:
        if isinstance(resource, Mapping) and resource.get("address") == address:
            expressions = resource.get("expressions")
            return expressions if isinstance(expressions, Mapping) else {}
    return {}


def _planned_references(values: Any, expressions: Any) -> None:
    """A plan's value not known until apply (`function_arn` of a function still to create) is null;
    the configuration's expression says which resource it refers to, which is followed instead."""
    if isinstance(values, list) and isinstance(expressions, list):
        for value, expression in zip(values, expressions):
            _planned_references(value, expression)
        return
    if not (isinstance(values, dict) and isinstance(expressions, Mapping)):
        return
    for key, expression in expressions.items():
        references = expression.get("references") if isinstance(expression, Mapping) else None
        if isinstance(references, list) and values.get(key) in (None, ""):
            for reference in map(str, references):
                parts = reference.split(".")
                size = 3 if parts[0] == "data" else 2
                if len(parts) > size and parts[0] not in ("var", "local", "module"):
                    values[key] = {"Fn::GetAtt": [".".join(parts[:size]), parts[size]]}
                    break
        else:
            _planned_references(values.get(key), expression)


def show_json_source(document: Mapping[str, Any], path: Path, resource: str | None) -> Source:
    """The distribution in `terraform show -json` output (state, or a plan's planned values)."""
    plan = "planned_values" in document and "values" not in document
    values_root = document.get("planned_values" if plan else "values")
    resources = _module_resources(values_root.get("root_module") if isinstance(values_root, Mapping) else None)
    shape = "terraform show -json " + ("plan" if plan else "state")
    found = [str(r.get("address")) for r in resources if r.get("type") == DISTRIBUTION and r.get("mode") != "data"]
    if not found:
        kinds = sorted({str(r.get("type")) for r in resources})
        raise ConfigError(f"no {DISTRIBUTION} resource in this {shape} output (resources: "
                          f"{', '.join(kinds) or 'none'})", file=str(path))
    chosen = choose(found, resource, str(path), f"this {shape} output")
    # UNCERTAIN: the output does not say where Terraform ran; relative paths (a Lambda's filename,
    # an archive_file's source_dir) are read from the output's folder, as `terraform show -json >
    # FILE` is run in the configuration's folder.
    folder = path.resolve().parent
    archives = {}
    for r in resources:
        if r.get("type") == "archive_file" and isinstance(r.get("values"), Mapping):
            source = archive_source(r["values"], folder)
            if source is not None and isinstance(r["values"].get("output_path"), str):
                archives[str((folder / r["values"]["output_path"]).resolve())] = source
    template = Template()
    for r in resources:
        address, kind, own = str(r.get("address")), str(r.get("type")), r.get("values")
        if r.get("mode") != "data" and isinstance(own, Mapping):
            converted = template_resource(address, kind, own, folder, archives)
            if converted is not None:
                template.resources[address] = converted
    body = next(r for r in resources if str(r.get("address")) == chosen)
    values: Mapping[str, Any] = body["values"] if isinstance(body.get("values"), Mapping) else {}
    notes = ["paths in the output (a Lambda function's filename) are read relative to the output's folder, "
             "as `terraform show` was run in the configuration's"] if any(
        r.get("type") == "aws_lambda_function" for r in resources) else []
    if plan:
        notes.append("a plan's values not known until apply (an ARN of a resource still to create) are "
                     "placeholders: import the state's `terraform show -json` after apply, or the .tf files")
    relinked = _relinked(dict(values), _references(resources))
    if plan:
        _planned_references(relinked, _configuration_expressions(document, chosen))
    config = distribution_config(relinked)
    return Source(config, f"{shape}, {chosen}", template, text(values.get("id")), text(values.get("domain_name")),
                  notes=tuple(notes), folder=folder)
