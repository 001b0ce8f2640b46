"""`edgesim import`: a CloudFront distribution (the API's, CloudFormation's, Terraform's or the Serverless
Framework's) as an edgesim config.

What edgesim models is mapped field by field (origins, origin groups, cache behaviors with their
policies and function associations, custom error responses, geographic restrictions, the default root object); everything
else becomes a note, printed by the command and written as comments at the top of the TOML, so that
nothing is dropped silently. A value the input does not give (a policy defined elsewhere, a
function's code, an origin's domain behind `!GetAtt`) gets a placeholder marked as one. The TOML is
read back through edgesim's own parse_config before it is returned: the import never writes a
config edgesim refuses, apart from the function files it names for the user to create.
"""

from __future__ import annotations

import re
import textwrap
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edgesim import serverless_import, terraform_import, terraform_show
from edgesim.config import parse_config
from edgesim.config_schema import SCHEMA_LINE, write_schema_beside
from edgesim.distribution_source import (Source, describe, find_distribution, flag, identifier, items, load_document,
                                         number, text, unevaluated)
from edgesim.errors import ConfigError
from edgesim.function_import import FunctionFile, Functions
from edgesim.policy_files import FetchedPolicies, load_policy_files
from edgesim.policy_import import cache_policy, legacy_cache_settings, origin_request_policy, response_headers_policy
from edgesim.terraform_hcl import is_terraform_file
from edgesim.toml_writer import CommentedOut, Remark, Table, TomlValue, render

S3_BUCKET = "AWS::S3::Bucket"
_EVENT_TYPES = ("viewer-request", "origin-request", "origin-response", "viewer-response")

# What edgesim does not simulate, by DistributionConfig key, with what it is.
_DISTRIBUTION_NOT_SIMULATED = {
    "Logging": "standard access logs",
    "WebACLId": "the AWS WAF web ACL",
    "ViewerCertificate": "the viewer certificate and TLS settings; edgesim serves plain http locally",
    "PriceClass": "the price class; edgesim is one edge location",
    "HttpVersion": "the HTTP versions; edgesim serves HTTP/1.1",
    "IsIPV6Enabled": "IPv6",
    "IPV6Enabled": "IPv6",
    "ContinuousDeploymentPolicyId": "continuous deployment",
    "Staging": "a staging distribution",
    "AnycastIpListId": "an Anycast static IP list",
    "CNAMEs": "alternate domain names",
}
_BEHAVIOR_NOT_SIMULATED = {
    "FieldLevelEncryptionId": "field-level encryption",
    "RealtimeLogConfigArn": "real-time logs",
    "SmoothStreaming": "Microsoft Smooth Streaming",
    "TrustedSigners": "trusted signers (AWS accounts' CloudFront key pairs); edgesim checks key groups only",
    "GrpcConfig": "gRPC",
}
_ORIGIN_NOT_SIMULATED = {
    "OriginShield": "Origin Shield",
    "OriginAccessControlId": "origin access control; edgesim signs no request to the origin",
    "VpcOriginConfig": "a VPC origin",
    "ResponseCompletionTimeout": "the response completion timeout",
}
# A DNS name or an IP address: what an origin's DomainName must be once evaluated (a Serverless
# Framework `${sls:stage}` or a stray space is not one).
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?)$")
_BEHAVIOR_MAPPED = {"PathPattern", "TargetOriginId", "ViewerProtocolPolicy", "AllowedMethods", "CachedMethods",
                    "CachePolicyId", "OriginRequestPolicyId", "ResponseHeadersPolicyId", "Compress",
                    "FunctionAssociations", "LambdaFunctionAssociations", "TrustedKeyGroups", "ForwardedValues",
                    "MinTTL", "DefaultTTL", "MaxTTL"}


@dataclass(frozen=True)
class ImportResult:
    """An imported config: its TOML, the notes on what did not map, and the function files."""

    toml: str
    notes: list[str]
    to_write: list[FunctionFile]  # code from the template, for the command to write
    missing: list[Path]  # function files the config names that the user must provide
    shape: str

    def write(self, output: Path) -> list[Path]:
        """Write the config at `output` and the template's function code; the function files written."""
        output.parent.mkdir(parents=True, exist_ok=True)
        # As `edgesim init` does: the schema beside the config and named on its first line, for editors.
        named = write_schema_beside(output)
        output.write_text((SCHEMA_LINE if named else "") + self.toml, encoding="utf-8")
        for function in self.to_write:  # never one the user has: Functions leaves those out
            function.path.parent.mkdir(parents=True, exist_ok=True)
            function.path.write_text(function.code, encoding="utf-8")
        return [f.path for f in self.to_write]


def import_file(path: Path, *, output: Path, functions_dir: Path, resource: str | None = None,
                policy_files: Sequence[Path] = ()) -> ImportResult:
    """Read the distribution definition at `path` and import it as the config `output` will hold;
    `policy_files` hold custom policies the distribution names by ID (policy_files.py)."""
    return import_distribution(read_source(path, resource), output=output, functions_dir=functions_dir,
                               label=path.name, policies=load_policy_files(policy_files))


def read_source(path: Path, resource: str | None = None) -> Source:
    """The distribution defined at `path`, whichever shape it has: a Serverless Framework service
    (serverless.yml, or its folder), Terraform's `.tf` / `.tf.json` files (a file or a folder of them) or
    `terraform show -json` output, else the API's or CloudFormation's shapes."""
    if serverless_import.is_service(path):
        return serverless_import.serverless_source(path, resource)
    if path.is_dir() or is_terraform_file(path):
        return terraform_import.terraform_source(path, resource)
    document = load_document(path)
    if terraform_show.is_show_json(document):
        return terraform_show.show_json_source(document, path, resource)
    if isinstance(document, Mapping) and "format_version" in document:
        # `terraform show -json` with no state yet: its format version and no values
        raise ConfigError("Terraform's `show -json` output without resources (an empty state: run it after "
                          "`terraform apply`, or import the configuration's .tf files instead)", file=str(path))
    if serverless_import.looks_like_service(document):
        return serverless_import.serverless_source(path, resource, document)
    return replace(find_distribution(document, str(path), resource), folder=path.resolve().parent)


def _empty(value: Any) -> bool:
    """A setting left at nothing: absent, "", false, no items (`{"Quantity": 0}`, `{"Enabled": false}`)."""
    if value is None or value is False or value in ("", [], {}) or (isinstance(value, str) and value.lower() == "false"):
        return True
    if isinstance(value, Mapping):
        return all(_empty(v) for k, v in value.items() if k != "Quantity")
    return False


def _unmapped(body: Mapping[str, Any], where: str, mapped: set[str], known: Mapping[str, str],
              notes: list[str]) -> None:
    for name, value in body.items():
        if name in mapped or _empty(value):
            continue
        what = f": {known[name]}" if name in known else ""
        notes.append(f"not simulated: {where}.{name} = {describe(value)}{what}")


@dataclass
class _Importer:
    source: Source
    functions: Functions
    notes: list[str]
    fetched: FetchedPolicies = field(default_factory=FetchedPolicies)  # `--policy` files' policies
    origin_ids: list[str] = field(default_factory=list)  # origins and origin groups, once imported
    ids_noted: set[str] = field(default_factory=set)

    # --- origins -----------------------------------------------------------------------------

    def _id(self, value: Any, where: str) -> str | None:
        """An id written as an expression keeps the expression's text (see `identifier`), said once."""
        found = identifier(value)
        if found is not None and text(value) is None and found not in self.ids_noted:
            self.ids_noted.add(found)
            self.notes.append(f"{where}: the id {describe(value)} cannot be evaluated here; written as {found!r} "
                              "wherever the input uses it")
        return found

    def origin(self, origin: Mapping[str, Any], where: str) -> dict[str, TomlValue]:
        origin_id = self._id(origin.get("Id"), where) or where
        if origin.get("Id") is None:
            self.notes.append(f"{where}: the origin has no Id (CloudFront requires one); imported as {where!r}")
        where = f"origin {origin_id}"
        custom = origin.get("CustomOriginConfig")
        custom = custom if isinstance(custom, Mapping) else None
        domain = self._domain(origin.get("DomainName"), origin_id, where)
        s3 = custom is None and ("S3OriginConfig" in origin or ".s3." in domain or domain.startswith("s3."))
        scheme, port = "https", 443
        if custom is not None:
            policy = text(custom.get("OriginProtocolPolicy")) or "https-only"
            if policy == "http-only":
                scheme, port = "http", number(custom.get("HTTPPort")) or 80
            else:
                port = number(custom.get("HTTPSPort")) or 443
            if policy == "match-viewer":
                # UNCERTAIN: edgesim sends one protocol per origin; https, as CloudFront's viewers mostly arrive.
                self.notes.append(f"{where}: OriginProtocolPolicy match-viewer; edgesim sends every request over "
                                  "https (one protocol per origin)")
        default_port = 80 if scheme == "http" else 443
        host = f"[{domain}]" if ":" in domain else domain  # an IPv6 address
        url = f"{scheme}://{host}{'' if port == default_port else f':{port}'}{text(origin.get('OriginPath')) or ''}"
        out: dict[str, TomlValue] = {"id": origin_id, "url": url}
        if domain.endswith(".invalid"):
            out["url"] = Remark(url, "PLACEHOLDER: the input does not give this origin's domain")
        # The API says CustomHeaders, CloudFormation OriginCustomHeaders.
        key = "CustomHeaders" if "CustomHeaders" in origin else "OriginCustomHeaders"
        if unevaluated(origin.get(key)):
            self.notes.append(f"{where}.{key} = {describe(origin[key])} cannot be evaluated here; left out")
        headers = {text(h.get("HeaderName")) or "": text(h.get("HeaderValue")) or ""
                   for h in items(origin.get(key)) if isinstance(h, Mapping)}
        if headers:
            out["custom_headers"] = headers
        s3_config = origin.get("S3OriginConfig")
        s3_config = s3_config if isinstance(s3_config, Mapping) else {}
        # An S3 origin's read timeout is in its S3OriginConfig (API 2020-05-31, added in 2024).
        out.update(self._timeouts(origin, custom if custom is not None else s3_config, where))
        if custom is not None and (protocols := [p for p in map(text, items(custom.get("OriginSSLProtocols") or custom.get("OriginSslProtocols"))) if p]):
            out["ssl_protocols"] = protocols
        if s3:
            self._s3_note(origin, origin_id, domain)
        mapped = {"Id", "DomainName", "OriginPath", "CustomOriginConfig", "CustomHeaders", "OriginCustomHeaders",
                  "ConnectionAttempts", "ConnectionTimeout", "S3OriginConfig"}
        if s3:  # the S3 note says it
            mapped.add("OriginAccessControlId")
        _unmapped(origin, where, mapped, _ORIGIN_NOT_SIMULATED, self.notes)
        _unmapped(s3_config, f"{where}.S3OriginConfig", {"OriginAccessIdentity", "OriginReadTimeout"}, {}, self.notes)
        if custom is not None:
            _unmapped(custom, f"{where}.CustomOriginConfig", {"HTTPPort", "HTTPSPort", "OriginProtocolPolicy",
                      "OriginReadTimeout", "OriginKeepaliveTimeout", "OriginSSLProtocols",
                      "OriginSslProtocols"}, {}, self.notes)
        return out

    def placeholder_origin(self, default: Any) -> dict[str, TomlValue]:
        """The origin of a distribution whose input gives none that can be read (a module's origins
        given by its caller, a service's `DistributionConfig: {}`): a marked placeholder, under the id
        the default behavior targets, so that the rest of the distribution still imports."""
        target = default.get("TargetOriginId") if isinstance(default, Mapping) else None
        origin_id = self._id(target, "default_cache_behavior") or "origin"
        host = re.sub(r"[^a-z0-9-]+", "-", origin_id.lower()).strip("-") or "origin"
        self.notes.append(f"the input gives no origin that can be read here; origin {origin_id} is a placeholder "
                          f"({host}.invalid): write your origin's URL")
        return {"id": origin_id, "url": Remark(f"https://{host}.invalid",
                                               "PLACEHOLDER: the input does not give this origin")}

    def _domain(self, value: Any, origin_id: str, where: str) -> str:
        literal = text(value)
        if literal and _HOST.match(literal):
            return literal
        bucket = self.source.template.referenced(value, S3_BUCKET)
        if bucket is not None:
            # Terraform's `aws_s3_bucket.x.website_endpoint`: the bucket's static website endpoint (S3's
            # "Website endpoints", dash form), not its REST one; UNCERTAIN: the region is assumed.
            website = isinstance(value, Mapping) and value.get("Fn::GetAtt", [None, None])[1:] == ["website_endpoint"]
            suffix = "s3-website-us-east-1.amazonaws.com" if website else "s3.amazonaws.com"
            name = text(bucket.properties.get("BucketName"))
            if name and _HOST.match(name):
                self.notes.append(f"{where}: DomainName {describe(value)} is the template's bucket {name}; "
                                  f"imported as {name}.{suffix}")
            else:
                named = bucket.properties.get("BucketName")
                # A Terraform address has a dot, a CloudFormation logical id none.
                namer = "Terraform" if "." in bucket.logical_id else "CloudFormation"
                how = (f"whose BucketName {describe(named)} is evaluated at deploy" if named is not None
                       else f"which {namer} names at deploy")
                name = re.sub(r"[^a-z0-9-]+", "-", bucket.logical_id.lower()).strip("-") or "bucket"
                self.notes.append(f"{where}: DomainName {describe(value)} is the template's bucket "
                                  f"{bucket.logical_id}, {how}: {name}.{suffix} "
                                  "is a guess, write the bucket's real domain")
            return f"{name}.{suffix}"
        host = re.sub(r"[^a-z0-9-]+", "-", origin_id.lower()).strip("-") or "origin"
        why = f"is not a host name ({literal!r})" if literal else "cannot be evaluated here"
        self.notes.append(f"{where}: DomainName {describe(value)} {why}; the url is a placeholder "
                          f"({host}.invalid): write your origin's URL")
        return f"{host}.invalid"

    def _timeouts(self, origin: Mapping[str, Any], custom: Mapping[str, Any], where: str) -> dict[str, TomlValue]:
        out: dict[str, TomlValue] = {}
        # edgesim's ranges are CloudFront's defaults' (config.CustomOrigin); a raised quota is clamped.
        for ours, value, low, high in (("connect_timeout", origin.get("ConnectionTimeout"), 1, 10),
                                       ("connection_attempts", origin.get("ConnectionAttempts"), 1, 3),
                                       ("read_timeout", custom.get("OriginReadTimeout"), 1, 120),
                                       ("keepalive_timeout", custom.get("OriginKeepaliveTimeout"), 1, 120)):
            seconds = number(value)
            if seconds is None:
                continue
            if not low <= seconds <= high:
                self.notes.append(f"{where}: {ours} {seconds} is outside edgesim's {low}-{high}; "
                                  f"set to {min(max(seconds, low), high)}")
                seconds = min(max(seconds, low), high)
            out[ours] = seconds
        return out

    def _s3_note(self, origin: Mapping[str, Any], origin_id: str, domain: str) -> None:
        s3 = origin.get("S3OriginConfig")
        # An identity written as an expression (`!Sub origin-access-identity/cloudfront/${OAI}`, a
        # Terraform reference to the OAI) is one all the same.
        identity = s3.get("OriginAccessIdentity") if isinstance(s3, Mapping) else None
        private = not _empty(identity) or not _empty(origin.get("OriginAccessControlId"))
        self.notes.append(
            f"origin {origin_id}: an S3 bucket, imported as a custom origin on https://{domain}"
            + (" (its origin access identity or control is not simulated: the bucket will refuse edgesim's "
               "unsigned requests)" if private else "")
            + f"; to serve a local copy instead, replace its url with `directory = \"path/to/files\"` "
              f"(and `domain_name = \"{domain}\"` to keep the name functions see)")

    def origin_group(self, group: Mapping[str, Any]) -> dict[str, TomlValue] | None:
        group_id = self._id(group.get("Id"), "origin group") or "group"
        members = [self._id(m.get("OriginId"), f"origin group {group_id}")
                   for m in items(group.get("Members")) if isinstance(m, Mapping)]
        if len(members) != 2 or not all(members):
            self.notes.append(f"origin group {group_id}: needs two member origins, has {describe(group.get('Members'))}; "
                              "left out")
            return None
        criteria = group.get("FailoverCriteria")
        codes = [c for c in (number(s) for s in items(criteria.get("StatusCodes") if isinstance(criteria, Mapping)
                                                      else None)) if c is not None]
        out: dict[str, TomlValue] = {"id": group_id, "primary": members[0] or "", "secondary": members[1] or ""}
        if codes:
            out["failover_status_codes"] = codes
        _unmapped(group, f"origin group {group_id}", {"Id", "Members", "FailoverCriteria"},
                  {"SelectionCriteria": "media-quality-based selection"}, self.notes)
        return out

    # --- behaviors ---------------------------------------------------------------------------

    def behavior(self, behavior: Mapping[str, Any], where: str, default: bool) -> dict[str, TomlValue]:
        out: dict[str, TomlValue] = {}
        if not default:
            out["path_pattern"] = text(behavior.get("PathPattern")) or "*"
        out["target_origin"] = self._target(behavior.get("TargetOriginId"), where)
        if (policy := text(behavior.get("ViewerProtocolPolicy"))) is not None:
            out["viewer_protocol_policy"] = policy
        allowed = behavior.get("AllowedMethods")
        cached = behavior.get("CachedMethods")
        if cached is None and isinstance(allowed, Mapping):  # the API nests CachedMethods in AllowedMethods
            cached = allowed.get("CachedMethods")
        for name, methods in (("allowed_methods", allowed), ("cached_methods", cached)):
            listed = [m for m in map(text, items(methods)) if m]
            if listed:
                out[name] = listed
        self._policies(behavior, where, out)
        if flag(behavior.get("Compress")):
            out["compress"] = True
        functions: dict[str, TomlValue] = {}
        for kind, key in (("cff", "FunctionAssociations"), ("lambda", "LambdaFunctionAssociations")):
            for association in items(behavior.get(key)):
                if isinstance(association, Mapping):
                    self._function(association, kind, where, functions)
        if functions:
            out["functions"] = functions
        groups = [g for g in (text(g) or describe(g) for g in items(behavior.get("TrustedKeyGroups")))]
        if groups:
            out["trusted_key_groups"] = CommentedOut(groups, "add [[key_groups]] with their public keys' PEM files")
            self.notes.append(f"{where}: trusted key groups {groups}: signed URLs are checked once you add each group "
                              "as [[key_groups]] (id, public_keys = [{ id, pem }]) and uncomment trusted_key_groups")
        _unmapped(behavior, where, _BEHAVIOR_MAPPED, _BEHAVIOR_NOT_SIMULATED, self.notes)
        return out

    def _target(self, value: Any, where: str) -> str:
        target = self._id(value, where)
        if target:
            return target
        if len(self.origin_ids) == 1:
            # A template's fragment, or one CloudFront would refuse: with one origin there is no doubt.
            self.notes.append(f"{where}: TargetOriginId is missing (CloudFront requires it); the only origin, "
                              f"{self.origin_ids[0]}, was taken")
            return self.origin_ids[0]
        raise ConfigError(f"{where}: TargetOriginId is missing (CloudFront requires it) and the distribution has "
                          f"{len(self.origin_ids)} origins ({', '.join(self.origin_ids) or 'none'}); "
                          "set it in the input")

    def _policies(self, behavior: Mapping[str, Any], where: str, out: dict[str, TomlValue]) -> None:
        origin_request: TomlValue | None = None
        if not _empty(behavior.get("CachePolicyId")):
            policy = cache_policy(behavior["CachePolicyId"], self.source, self.fetched, where, self.notes)
            if policy is not None:
                out["cache_policy"] = policy
            legacy = [k for k in ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL") if k in behavior]
            if legacy:
                # CloudFront refuses a behavior with both (InvalidArgument); the policy is what it would keep.
                self.notes.append(f"{where}: legacy {', '.join(legacy)} ignored: the behavior has a cache policy, "
                                  "and CloudFront takes one or the other")
        elif "ForwardedValues" in behavior:
            out["cache_policy"], origin_request = legacy_cache_settings(behavior, where, self.notes)
        if not _empty(behavior.get("OriginRequestPolicyId")):
            origin_request = origin_request_policy(behavior["OriginRequestPolicyId"], self.source, self.fetched, where,
                                                   self.notes)
        if origin_request is not None:
            out["origin_request_policy"] = origin_request
        if not _empty(behavior.get("ResponseHeadersPolicyId")):
            headers = response_headers_policy(behavior["ResponseHeadersPolicyId"], self.source, self.fetched, where,
                                              self.notes)
            if headers is not None:
                out["response_headers_policy"] = headers

    def _function(self, association: Mapping[str, Any], kind: str, where: str,
                  functions: dict[str, TomlValue]) -> None:
        event_type = text(association.get("EventType")) or ""
        if event_type not in _EVENT_TYPES:
            self.notes.append(f"{where}: function association with event type {event_type!r} left out")
            return
        functions[event_type] = (self.functions.cloudfront_function(association, f"{where}.{event_type}")
                                 if kind == "cff" else
                                 self.functions.lambda_function(association, f"{where}.{event_type}"))

    # --- the rest ----------------------------------------------------------------------------

    def error_response(self, response: Mapping[str, Any]) -> dict[str, TomlValue] | None:
        code = number(response.get("ErrorCode"))
        if code is None:
            return None
        out: dict[str, TomlValue] = {"error_code": code}
        page, status = text(response.get("ResponsePagePath")) or "", number(response.get("ResponseCode"))
        if page and status is not None:
            out.update(response_code=status, response_page_path=page)
        elif page or status is not None:
            self.notes.append(f"custom error response {code}: a response page and a response code go together "
                              "in edgesim; only the error caching minimum TTL was imported")
        if (ttl := number(response.get("ErrorCachingMinTTL"))) is not None:
            out["error_caching_min_ttl"] = ttl
        return out

    def geo_restriction(self, restrictions: Any) -> dict[str, TomlValue] | None:
        geo = restrictions.get("GeoRestriction") if isinstance(restrictions, Mapping) else None
        if not isinstance(geo, Mapping):
            return None
        kind = text(geo.get("RestrictionType")) or "none"
        locations = [c for c in map(text, items(geo.get("Locations")) or items(geo)) if c]
        if kind == "none":
            return None
        return {"restriction_type": kind, "locations": locations}


_DISTRIBUTION_MAPPED = {"Origins", "OriginGroups", "DefaultCacheBehavior", "CacheBehaviors", "CustomErrorResponses",
                        "DefaultRootObject", "Restrictions", "Comment", "Aliases", "Enabled", "CallerReference"}


def import_distribution(source: Source, *, output: Path, functions_dir: Path, label: str = "",
                        policies: FetchedPolicies | None = None) -> ImportResult:
    """The edgesim config for `source`, to be written at `output`, its function files under
    `functions_dir`; a ConfigError when the result would not load (the input's own mistakes)."""
    notes: list[str] = []
    config_dir = output.resolve().parent
    functions = Functions(source, config_dir, functions_dir.resolve(), notes)
    importer = _Importer(source, functions, notes, policies or FetchedPolicies())
    dist = source.config
    document: dict[str, Table | list[Table]] = {}
    settings: dict[str, TomlValue] = {}
    if source.distribution_id:
        settings["id"] = source.distribution_id
    if source.domain_name:
        settings["domain_name"] = source.domain_name
    if root := text(dist.get("DefaultRootObject")):
        settings["default_root_object"] = root
    document["distribution"] = settings
    document["origins"] = [importer.origin(o, f"origins[{i}]") for i, o in enumerate(items(dist.get("Origins")))
                           if isinstance(o, Mapping)]
    groups = [importer.origin_group(g) for g in items(dist.get("OriginGroups")) if isinstance(g, Mapping)]
    document["origin_groups"] = [g for g in groups if g is not None]
    default = dist.get("DefaultCacheBehavior")
    if not document["origins"]:
        document["origins"] = [importer.placeholder_origin(default)]
    importer.origin_ids = [str(t["id"]) for t in (*document["origins"], *document["origin_groups"])]
    document["default_cache_behavior"] = importer.behavior(default if isinstance(default, Mapping) else {},
                                                           "default_cache_behavior", True)
    document["cache_behaviors"] = [importer.behavior(b, f"cache_behaviors[{i}]", False)
                                   for i, b in enumerate(items(dist.get("CacheBehaviors"))) if isinstance(b, Mapping)]
    errors = [importer.error_response(r) for r in items(dist.get("CustomErrorResponses")) if isinstance(r, Mapping)]
    document["custom_error_responses"] = [e for e in errors if e is not None]
    if (geo := importer.geo_restriction(dist.get("Restrictions"))) is not None:
        document["geo_restriction"] = geo
    notes[:0] = [*source.notes, *_distribution_notes(dist)]
    header = [f"edgesim config imported by `edgesim import` from {label or 'a distribution'} ({source.shape}).",
              "Check it with `edgesim check`, serve it with `edgesim serve`.", ""]
    for note in notes:
        header.extend(textwrap.wrap(note, 100, subsequent_indent="  ", break_on_hyphens=False))
    toml = render(document, header)
    _check(toml, output, functions)
    return ImportResult(toml, notes, functions.to_write, functions.missing, source.shape)


def _distribution_notes(dist: Mapping[str, Any]) -> list[str]:
    notes: list[str] = []
    if not _empty(dist.get("Comment")):
        notes.append(f"distribution comment: {text(dist['Comment']) or describe(dist['Comment'])}")
    aliases = [text(a) or describe(a) for a in items(dist.get("Aliases"))]
    if aliases:
        notes.append(f"not simulated: Aliases {aliases}: edgesim answers whatever the Host header says "
                     "(send `Host: <alias>` to see what your functions do with it)")
    if "Enabled" in dist and not flag(dist.get("Enabled"), default=True):
        notes.append("the distribution is disabled on CloudFront (Enabled = false); edgesim serves it anyway")
    for key in ("Origins", "OriginGroups", "CacheBehaviors", "CustomErrorResponses", "Aliases"):
        if unevaluated(dist.get(key)):
            notes.append(f"DistributionConfig.{key} = {describe(dist[key])} cannot be evaluated here; none imported")
    _unmapped(dist, "DistributionConfig", _DISTRIBUTION_MAPPED, _DISTRIBUTION_NOT_SIMULATED, notes)
    return notes


def _check(toml: str, output: Path, functions: Functions) -> None:
    """Load the TOML as `edgesim check` would; only the function files still to come may be missing."""
    pending = [str(p) for p in (*functions.missing, *(f.path for f in functions.to_write))]
    try:
        parse_config(tomllib.loads(toml), base_dir=output.resolve().parent, source=output)
    except ConfigError as exc:
        # (the path ends the problem, or comes before "; did you mean" a file beside it)
        problems = [p for p in exc.problems
                    if not (" file not found: " in p and p.split("; did you mean ")[0].endswith(tuple(pending)))]
        if any(" is over Lambda@Edge's " in p for p in problems):
            # The value is the function's own, or its tool's default when it sets none (a Serverless
            # function's 6 s / 1024 MB): CloudFront refuses that association too (spec §2.7).
            problems.append("an imported timeout / memory is the function's own, or its tool's default when it sets "
                            "none (Lambda's 3 s / 128 MB; the Serverless Framework's 6 s / 1024 MB): CloudFront refuses "
                            "an association over the trigger's limits too; set the function's timeout / memory size "
                            "within them and import again")
        if problems:
            raise ConfigError.many(["the imported config would not load:", *problems]) from None
