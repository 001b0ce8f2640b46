"""`edgesim import` of a Terraform configuration: `.tf` / `.tf.json` files, or `terraform show -json` output.

Terraform's AWS provider writes a distribution in the API's words, snake_cased, with repeated blocks
for lists (`origin {}`, `ordered_cache_behavior {}`, `custom_error_response {}`; provider docs,
aws_cloudfront_distribution). Both inputs become the CloudFormation shape that config_import.py
already maps: the attributes renamed (`origin_id` -> `Id`, `lambda_arn` -> `LambdaFunctionARN`,
`min_ttl` -> `MinTTL`...), a block Terraform allows once unwrapped, `{items = [...]}` read as its list,
and the resources a distribution refers to (aws_cloudfront_function, aws_cloudfront_cache_policy,
aws_cloudfront_origin_request_policy, aws_cloudfront_response_headers_policy, aws_lambda_function,
aws_s3_bucket) as the template's resources of the matching CloudFormation type, addressed by their
Terraform address. A reference (`aws_cloudfront_function.rewrite.arn`) is the `Fn::GetAtt` that
names that resource; what nothing here decides is a `Fn::Terraform` expression, shown as `${...}`
in notes and imported as a marked placeholder.

`terraform show -json` output (state or plan) is read by terraform_show.py with these mappings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edgesim.distribution_source import Resource, Source, Template
from edgesim.errors import ConfigError
from edgesim.policies import managed_cache_policy, managed_origin_request_policy, managed_response_headers_policy
from edgesim.terraform_expressions import Evaluator
from edgesim.terraform_hcl import Module, load_module, strip_meta
from edgesim.terraform_modules import module_calls, output_reader
from edgesim.terraform_values import FileText, TemplateParts, Unknown, string_of

DISTRIBUTION = "aws_cloudfront_distribution"
# Terraform's repeated blocks -> the list CloudFormation writes.
_LISTS = {"origin": "Origins", "ordered_cache_behavior": "CacheBehaviors",
          "custom_error_response": "CustomErrorResponses", "origin_group": "OriginGroups",
          "function_association": "FunctionAssociations", "lambda_function_association": "LambdaFunctionAssociations",
          "custom_header": "OriginCustomHeaders", "member": "Members"}
# Names that are not the attribute's words in PascalCase.
_NAMES = {"origin_id": "Id", "function_arn": "FunctionARN", "lambda_arn": "LambdaFunctionARN",
          "is_ipv6_enabled": "IsIPV6Enabled", "web_acl_id": "WebACLId", "logging_config": "Logging",
          "xss_protection": "XSSProtection", "origin_ssl_protocols": "OriginSSLProtocols", "http_port": "HTTPPort",
          "https_port": "HTTPSPort"}
_IN = {("Members", "origin_id"): "OriginId", ("OriginCustomHeaders", "name"): "HeaderName",
       ("OriginCustomHeaders", "value"): "HeaderValue"}
# What a distribution's resource has that is Terraform's or computed by CloudFront, not its config.
_NOT_CONFIG = {"arn", "caller_reference", "domain_name", "etag", "hosted_zone_id", "id", "last_modified_time",
               "in_progress_validation_batches", "status", "tags", "tags_all", "trusted_key_groups",
               "trusted_signers", "retain_on_delete", "wait_for_deployment", "provider", "depends_on", "lifecycle",
               "count", "for_each", "region"}
POLICIES = {  # resource type -> (CloudFormation type, its config's key, the managed policies' lookup)
    "aws_cloudfront_cache_policy": ("AWS::CloudFront::CachePolicy", "CachePolicyConfig", managed_cache_policy),
    "aws_cloudfront_origin_request_policy": ("AWS::CloudFront::OriginRequestPolicy", "OriginRequestPolicyConfig",
                                             managed_origin_request_policy),
    "aws_cloudfront_response_headers_policy": ("AWS::CloudFront::ResponseHeadersPolicy",
                                               "ResponseHeadersPolicyConfig", managed_response_headers_policy),
}
# UNCERTAIN: the account and region a data source's ARN is built with only carry the name along.
_ACCOUNT, _REGION = "123456789012", "us-east-1"


class ArchivePath(str):
    """`data.archive_file.x.output_path`: the zip Terraform builds, and the source it builds it from."""

    source: Path

    def __new__(cls, output: str, source: Path) -> ArchivePath:
        made = super().__new__(cls, output)
        made.source = source
        return made


# --- the CloudFormation shape ------------------------------------------------------------------


def _pascal(key: str) -> str:
    return "".join("TTL" if part == "ttl" else part[:1].upper() + part[1:] for part in key.split("_"))


def marker(value: Any) -> Any:
    """An evaluated value with its unknown parts as the expressions distribution_source reads."""
    if isinstance(value, Unknown):
        if value.reference is not None:
            return {"Fn::GetAtt": list(value.reference)}
        return {"Fn::Terraform": value.text}
    if isinstance(value, TemplateParts):
        if any(isinstance(p, Unknown) and p.reference for p in value.parts):
            return {"Fn::Join": ["", [marker(p) for p in value.parts]]}
        return {"Fn::Terraform": value.text}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list):
        return [marker(v) for v in value]
    if isinstance(value, Mapping):
        return {k: marker(v) for k, v in value.items()}
    return value


def cloudformation(value: Any, parent: str = "") -> Any:
    """Terraform's attributes and blocks (evaluated, or `terraform show -json` values) in
    CloudFormation's names; nulls and empty strings and lists (show -json's unset values) left out."""
    if isinstance(value, list):
        return [cloudformation(v, parent) for v in value]
    if not isinstance(value, Mapping):
        return marker(value)
    if set(value) == {"items"}:  # `headers { items = [...] }`, `custom_headers_config { items {...} }`
        return cloudformation(value["items"], parent)
    out: dict[str, Any] = {}
    for key, inner in value.items():
        if inner is None or (isinstance(inner, str) and inner == "") or inner == []:
            continue
        name = _IN.get((parent, key)) or _NAMES.get(key) or _LISTS.get(key) or _pascal(key)
        if key not in _LISTS and isinstance(inner, list) and all(isinstance(v, Mapping) for v in inner):
            inner = inner[0]  # a block Terraform allows once
        out[name] = cloudformation(inner, name)
    return out


def distribution_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """A distribution resource's values -> its DistributionConfig (CloudFormation's shape)."""
    config = {k: v for k, v in values.items() if k not in _NOT_CONFIG}
    behaviors = [*config.get("default_cache_behavior", []), *config.get("ordered_cache_behavior", [])]
    for behavior in (b for b in behaviors if isinstance(b, dict)):
        if behavior.get("cache_policy_id") and not behavior.get("forwarded_values"):
            # Terraform keeps the legacy TTLs at 0 beside a cache policy (show -json writes them);
            # a value set there is still said by the mapper.
            for ttl in ("min_ttl", "default_ttl", "max_ttl"):
                if behavior.get(ttl) in (0, None):
                    behavior.pop(ttl, None)
    for response in config.get("custom_error_response", []):
        if isinstance(response, dict) and response.get("response_code") in (0, "0"):
            response.pop("response_code")  # show -json's unset
    converted = cloudformation(config)
    return converted if isinstance(converted, dict) else {}


def template_resource(address: str, kind: str, values: Mapping[str, Any], folder: Path,
              archives: Mapping[str, Path]) -> Resource | None:
    """A resource a distribution refers to, as the CloudFormation resource config_import follows."""
    if kind in POLICIES:
        cfn_type, config_key, _ = POLICIES[kind]
        body = {k: v for k, v in values.items() if k not in ("id", "etag", "arn")}
        return Resource(address, cfn_type, {config_key: cloudformation(body)})
    if kind == "aws_cloudfront_function":
        code = values.get("code")
        config: dict[str, Any] = {"Runtime": marker(values.get("runtime"))}
        if values.get("key_value_store_associations"):
            config["KeyValueStoreAssociations"] = marker(values["key_value_store_associations"])
        properties = {"Name": marker(values.get("name")), "FunctionConfig": config}
        if isinstance(code, str):
            properties["FunctionCode"] = str(code)
        metadata = {"edgesim:code-file": str(code.path)} if isinstance(code, FileText) else {}
        return Resource(address, "AWS::CloudFront::Function", properties, metadata)
    if kind == "aws_lambda_function":
        properties = {"FunctionName": marker(values.get("function_name")), "Runtime": marker(values.get("runtime")),
                      "Handler": marker(values.get("handler"))}
        for key, attribute in (("Timeout", "timeout"), ("MemorySize", "memory_size")):
            if values.get(attribute) is not None:
                properties[key] = marker(values[attribute])
        code = _lambda_code(values, folder, archives)
        if code is not None:
            properties["Code"] = code
        return Resource(address, "AWS::Lambda::Function", properties)
    if kind == "aws_s3_bucket":
        return Resource(address, "AWS::S3::Bucket", {"BucketName": marker(values.get("bucket"))})
    return None


def _lambda_code(values: Mapping[str, Any], folder: Path, archives: Mapping[str, Path]) -> Any:
    """Where a Lambda function's code is (lambda_code.py reads it): an archive_file's source folder
    (or its source file's folder), else the local zip, the S3 object or the image."""
    filename = values.get("filename")
    if isinstance(filename, ArchivePath):
        return str(filename.source)
    if isinstance(filename, str) and filename:
        path = (folder / filename).resolve()
        return str(archives.get(str(path), path))
    if values.get("s3_bucket") and values.get("s3_key"):
        return {"S3Bucket": marker(values["s3_bucket"]), "S3Key": marker(values["s3_key"]),
                "S3ObjectVersion": marker(values.get("s3_object_version"))}
    if values.get("image_uri"):
        return {"ImageUri": marker(values["image_uri"])}
    return None


def archive_source(values: Mapping[str, Any], folder: Path) -> Path | None:
    """The folder a data.archive_file zips (its source_dir, else its source_file's folder, else the
    folder of the files its `source { content = file(...) }` blocks copy under their own names)."""
    for key, as_folder in (("source_dir", True), ("source_file", False)):
        value = values.get(key)
        if isinstance(value, str) and value:
            path = (folder / value).resolve()
            return path if as_folder else path.parent
    blocks = [b for b in values.get("source") or [] if isinstance(b, Mapping)]
    folders = {b["content"].path.parent for b in blocks
               if isinstance(b.get("content"), FileText) and b["content"].path.name == b.get("filename")}
    return folders.pop() if blocks and len(folders) == 1 and len(blocks) == len(
        [b for b in blocks if isinstance(b.get("content"), FileText)]) else None


def choose(found: list[str], wanted: str | None, file: str, what: str) -> str:
    if wanted is not None:
        for address in found:
            if wanted in (address, address.split(".", 1)[-1], address.rsplit(".", 1)[-1]):
                return address
        raise ConfigError(f"--resource {wanted}: no {DISTRIBUTION} of that name; {what} has "
                          f"{', '.join(found)}", file=file)
    if len(found) > 1:
        raise ConfigError(f"{what} has {len(found)} distributions ({', '.join(found)}); choose one with "
                          "--resource NAME", file=file)
    return found[0]


# --- .tf files -----------------------------------------------------------------------------------


def _blocks(raw: Any) -> bool:
    return isinstance(raw, list) and bool(raw) and all(isinstance(v, Mapping) and v.get("__is_block__") for v in raw)


def _body(raw: Mapping[str, Any], ev: Evaluator, scope: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A block's attributes evaluated, its nested blocks as lists of bodies, its `dynamic` blocks
    expanded when their for_each is known."""
    out: dict[str, Any] = {}
    for key, value in strip_meta(raw).items():
        if key == "dynamic":
            continue
        out[key] = [_body(b, ev, scope, f"{where}.{key}") for b in value] if _blocks(value) else ev.value(value, scope)
    dynamic = raw.get("dynamic")
    for block in dynamic if isinstance(dynamic, list) else []:
        for label, spec in strip_meta(block).items() if isinstance(block, Mapping) else ():
            spec = strip_meta(spec) if isinstance(spec, Mapping) else {}
            items = ev.value(spec.get("for_each"), scope)
            content = spec.get("content")
            named = spec.get("iterator")  # `iterator = item`: a bare name, which python-hcl2 writes as "${item}"
            iterator = named[2:-1] if isinstance(named, str) and named.startswith("${") else named or label
            # A known list or map makes the blocks, though some of its values are not known (a module
            # input's references): those stay placeholders in the blocks made.
            if not isinstance(items, (list, Mapping)) or not _blocks(content):
                given = spec.get("for_each")
                shown = given[2:-1] if isinstance(given, str) and given.startswith("${") else given
                why = ("is null here (a module input the module's caller gives)" if items is None
                       else "cannot be evaluated here")
                ev.note(f"dynamic:{where}.{label}", f"{where}: dynamic \"{label}\" block's for_each ({shown}) "
                        f"{why}; its blocks are not imported: write them out as {label} blocks, or as the "
                        "config's tables")
                continue
            pairs = items.items() if isinstance(items, Mapping) else enumerate(items)
            # UNCERTAIN: python-hcl2 gives no source order between static and dynamic blocks of one
            # name; the dynamic ones are put after (said, as behaviors' order decides the match).
            if label in out and label == "ordered_cache_behavior":
                ev.note(f"order:{where}", f"{where}: the dynamic ordered_cache_behavior blocks are put after the "
                                          "static ones; check the order of [[cache_behaviors]]")
            assert isinstance(content, list)  # _blocks said so
            expanded = [_body(content[0], ev, {**scope, str(iterator): {"key": k, "value": v}}, f"{where}.{label}")
                        for k, v in pairs]
            out.setdefault(label, []).extend(expanded)
    return out


def _attribute(address: str, attribute: str, ev: Evaluator) -> Any:
    """A reference to a resource's or data source's attribute, as far as the configuration decides it."""
    module = ev.module
    reference = Unknown(f"{address}.{attribute}", (ev.prefix + address, attribute))
    kind = address.split(".")[1] if address.startswith("data.") else address.split(".")[0]
    body = module.data.get(address) if address.startswith("data.") else module.resources.get(address)
    if body is None:
        return reference
    if address.startswith("data."):
        name = ev.value(body.get("name"))
        if kind in POLICIES and attribute == "id":
            # A managed policy looked up by name ("Managed-CachingOptimized"): the config names it so.
            try:
                return name if isinstance(name, str) and POLICIES[kind][2](name) else reference
            except ValueError:
                return reference
        if kind == "aws_cloudfront_function" and attribute == "arn" and isinstance(name, str):
            return f"arn:aws:cloudfront::{_ACCOUNT}:function/{name}"
        function = ev.value(body.get("function_name"))
        if kind == "aws_lambda_function" and attribute in ("arn", "qualified_arn") and isinstance(function, str):
            return f"arn:aws:lambda:{_REGION}:{_ACCOUNT}:function:{function}"
        if kind == "archive_file" and attribute == "output_path":
            values = {k: ev.value(body.get(k)) for k in ("output_path", "source_dir", "source_file", "source")}
            source = archive_source(values, module.folder)
            output = values["output_path"]
            return ArchivePath(output if isinstance(output, str) else "", source) if source else reference
    if kind == "aws_s3_bucket" and attribute in ("bucket", "id"):
        bucket = ev.value(body.get("bucket"))
        return bucket if isinstance(bucket, str) else reference
    if address.startswith("data.aws_s3_bucket.") and attribute in ("bucket_domain_name", "bucket_regional_domain_name"):
        # An existing bucket looked up by name: its REST endpoint, as a template's bucket is imported
        # (UNCERTAIN: the region-less form; S3 redirects it for a bucket outside us-east-1).
        bucket = ev.value(body.get("bucket"))
        return f"{bucket}.s3.amazonaws.com" if isinstance(bucket, str) else reference
    if (kind, attribute) in (("aws_s3_bucket_website_configuration", "website_endpoint"),
                             ("aws_s3_bucket", "website_endpoint")):
        # A static website's origin (S3's "Website endpoints", the dash form); the region is assumed.
        bucket = ev.value(body.get("bucket"))
        if isinstance(bucket, str):
            ev.note(f"region:{address}", f"{address}.{attribute}: the bucket's region is known at deploy; "
                                         f"{_REGION} is assumed (a placeholder: edit the origin's url)")
            return f"{bucket}.s3-website-{_REGION}.amazonaws.com"
    if attribute in body and attribute not in ("id", "arn"):  # an argument of its own, not computed
        return ev.value(body[attribute])
    return reference


def terraform_source(path: Path, resource: str | None) -> Source:
    """The distribution in the Terraform file (or folder of files) at `path`, or in a local module
    it calls (terraform_modules.py)."""
    module = load_module(path)
    shown = str(path)
    ev = Evaluator(module, _attribute, outputs=output_reader(module.folder))
    # address -> (the module defining it, its evaluator, its address there)
    found = {a: (module, ev, a) for a in module.resources if a.startswith(DISTRIBUTION + ".")}
    calls = list(module_calls(module, ev))
    for call in calls if not found else ():
        found.update({f"{call.name}.{a}": (call.module, call.evaluator, a)
                      for a in call.module.resources if a.startswith(DISTRIBUTION + ".")})
    if not found:
        kinds = sorted({a.split(".")[0] for a in module.resources})
        where = "this file" if path.is_file() else f"these files ({', '.join(f.name for f in module.files)})"
        modules = [f"{name} (source {str(strip_meta(body).get('source', '?')).strip(chr(34))})"
                   for name, body in module.modules.items()]
        hint = (f"; it may be in a module: {', '.join(modules)} - import that module's folder, or run `terraform "
                "init` here (edgesim reads the modules it installs) and import again" if modules else "")
        raise ConfigError(f"no {DISTRIBUTION} resource in {where} (resources: {', '.join(kinds) or 'none'}){hint}",
                          file=shown)
    candidates = list(found)
    if resource is None:
        # `count = var.cdn ? 1 : 0` on two distributions, one for each setting: the one the
        # configuration's values leave at no instance is not one to choose between.
        live = [a for a in candidates if _instances(found[a][0].resources[found[a][2]], found[a][1]) != 0]
        for address in (a for a in candidates if a not in live and live):
            ev.note(f"none:{address}", f"{address}: its count or for_each gives no instance with these values; "
                                       "not imported (--resource imports it)")
        candidates = live or candidates
    chosen = choose(candidates, resource, shown, "the configuration")
    home, home_ev, local = found[chosen]
    if home is not module:
        call = next(c for c in calls if c.module is home)
        ev.note(f"module:{call.name}", f"{chosen} is defined by {call.name} (source {call.source}), imported with "
                                       "the module block's arguments as its variables")
    values = _body(home.resources[local], home_ev, _first_instance(home.resources[local], home_ev, chosen), chosen)
    template = Template()
    _add_resources(template, module, ev)
    for call in calls:  # what the called modules define, by their `module.NAME.` addresses
        _add_resources(template, call.module, call.evaluator)
    config = distribution_config(values)
    return Source(config, f"Terraform resource {chosen}", template, notes=tuple(ev.notes), folder=module.folder)


def _add_resources(template: Template, module: Module, ev: Evaluator) -> None:
    """The resources of `module` a distribution refers to, by their addresses (`ev.prefix` before)."""
    # A Lambda function's `filename` written as the same path an archive_file's output_path is.
    archives: dict[str, Path] = {}
    for address, body in module.data.items():
        if address.startswith("data.archive_file."):
            output = ev.value(body.get("output_path"))
            archive = archive_source({k: ev.value(body.get(k)) for k in ("source_dir", "source_file", "source")},
                                      module.folder)
            if isinstance(output, str) and archive is not None:
                archives[str((module.folder / output).resolve())] = archive
    for address, body in module.resources.items():
        kind = address.split(".")[0]
        if kind in (*POLICIES, "aws_cloudfront_function", "aws_lambda_function", "aws_s3_bucket"):
            resource_values = _body(body, ev, {}, ev.prefix + address)
            converted = template_resource(ev.prefix + address, kind, resource_values, module.folder, archives)
            if converted is not None:
                template.resources[ev.prefix + address] = converted
                _code_note(ev.prefix + address, kind, resource_values, ev)


def _first_instance(body: Mapping[str, Any], ev: Evaluator, address: str) -> dict[str, Any]:
    """`count.index` and `each.key` / `each.value` of the one instance imported: the first, when the
    configuration decides the collection (else they stay unknown), said either way."""
    if "count" in body:
        ev.note(f"meta:{address}", f"{address} has count; imported as one distribution, count.index = 0")
        return {"count": {"index": 0}}
    if "for_each" in body:
        each = ev.value(body["for_each"])
        pairs = list(each.items() if isinstance(each, Mapping) else ((v, v) for v in each)) \
            if isinstance(each, (list, Mapping)) else []
        if pairs:
            key, value = pairs[0]
            ev.note(f"meta:{address}", f"{address} has for_each; imported as one distribution, its instance "
                                       f"[{string_of(key) or repr(key)}] ({len(pairs)} in all)")
            return {"each": {"key": key, "value": value}}
        ev.note(f"meta:{address}", f"{address} has for_each; imported as one distribution (each.key and "
                                   "each.value cannot be evaluated here)")
    return {}


def _instances(body: Mapping[str, Any], ev: Evaluator) -> int | None:
    """How many instances a resource's count or for_each makes, when the configuration decides it."""
    if "count" in body:
        count = ev.value(body["count"])
        return int(count) if isinstance(count, (int, float)) and not isinstance(count, bool) else None
    if "for_each" in body:
        each = ev.value(body["for_each"])
        return len(each) if isinstance(each, (list, Mapping)) else None
    return 1


def _code_note(address: str, kind: str, values: Mapping[str, Any], ev: Evaluator) -> None:
    code = values.get("code")
    if kind == "aws_cloudfront_function" and code is not None and not isinstance(code, str):
        ev.note(f"code:{address}", f"{address}: its code ({getattr(code, 'text', code)}) cannot be evaluated here; "
                                   "the function's file is looked for under the functions folder")
