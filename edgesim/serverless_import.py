"""`edgesim import` of a Serverless Framework service: its `serverless.yml` (`.yaml`, `.json`).

The Framework builds one distribution from its functions' `cloudFront` events (v3 and v4 docs,
"AWS Lambda Events - CloudFront"; the compiler lib/plugins/aws/package/compile/events/cloud-front.js):
an origin per distinct `origin` (a URL string - `s3://` an S3 origin, any other scheme a custom
origin with OriginProtocolPolicy match-viewer and the host name only - or an origin object), its Id
`s3/<domain><path>` or `custom/<domain><path>`; a behavior per pathPattern and origin, the events
on one behavior merged (several functions at different event types), `behavior` giving its
CloudFront settings (ViewerProtocolPolicy allow-all unless said), `cachePolicy: {name}` one of
`provider.cloudFront.cachePolicies` and `{id}` any, else Managed-CachingOptimized; the behavior
without a pathPattern is the default one, and when every event has one, the default is a copy of
the first without its functions, on the `isDefaultOrigin` origin. That distribution is the
resource `CloudFrontDistribution` of the compiled template, and `resources.Resources` is merged
into the template by logical id (the docs' "AWS Infrastructure Resources", "Override AWS
CloudFormation Resource"; lodash merge in merge-custom-provider-resources.js; `resources.extensions`
replaces Properties' keys): a resource of that id extends it, a distribution of another id is a
second one (`--resource` chooses).

Users of serverless-offline-edge-lambda (and serverless-plugin-cloudfront-lambda-edge) write the
distribution in `resources` and attach a function with `lambdaAtEdge: {distribution, eventType,
pathPattern}`. Both become the CloudFormation template config_import.py maps: each function an
AWS::Lambda::Function (Handler, Runtime, MemorySize, Timeout; its code the project's folder) with an
AWS::Lambda::Version, each named cache policy an AWS::CloudFront::CachePolicy, named as the Framework
names them (`<Name>LambdaFunction`, `<Name>LambdaVersion`, `CloudFrontCachePolicy<Name>`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from edgesim.distribution_source import (DISTRIBUTION_TYPE, Source, describe, find_distribution, flag, items,
                                         load_document, text)
from edgesim.errors import ConfigError
from edgesim.serverless_variables import Variables

SERVICE_FILES = ("serverless.yml", "serverless.yaml", "serverless.json")
PROGRAM_FILES = ("serverless.ts", "serverless.js", "serverless.cjs", "serverless.mjs")
DISTRIBUTION = "CloudFrontDistribution"  # the Framework's naming.getCloudFrontDistributionLogicalId()
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # the Framework's default cache policy
_FUNCTION_KEYS = ("name", "handler", "runtime", "memorySize", "timeout", "events", "lambdaAtEdge", "image",
                  "package")
_USED_TYPES = ("AWS::CloudFront::", "AWS::S3::Bucket", "AWS::Lambda::")
# serverless-offline-edge-lambda's settings and options, with what stands for them in edgesim.
_OFFLINE_SETTINGS = {
    "port": "the port is `edgesim serve --port PORT`",
    "cloudfrontPort": "the port is `edgesim serve --port PORT`",
    "cacheDir": "edgesim's cache is in memory; `edgesim invalidate` (or a restart) empties it",
    "disableCache": "to see every request reach the origin, use a cache policy with TTLs of 0 "
                    "(Managed-CachingDisabled) on the behavior",
    "fileDir": "to serve local files, give the origin `directory = \"path\"` in place of its url",
}


def is_service(path: Path) -> bool:
    """A Serverless Framework service file, or a folder holding one."""
    if path.is_dir():
        return any((path / name).is_file() for name in (*SERVICE_FILES, *PROGRAM_FILES))
    return path.name in (*SERVICE_FILES, *PROGRAM_FILES)


def _service_file(path: Path) -> Path:
    if path.is_dir():
        return next(path / name for name in (*SERVICE_FILES, *PROGRAM_FILES) if (path / name).is_file())
    return path


def normalized(name: str) -> str:
    """The Framework's getNormalizedFunctionName: `-` -> Dash, `_` -> Underscore, first letter upper."""
    name = name.replace("-", "Dash").replace("_", "Underscore")
    return name[:1].upper() + name[1:]


def _extend(target: dict[str, Any], source: Mapping[str, Any]) -> dict[str, Any]:
    """The compiler's extendDeep, joining events on one origin or behavior: lists are joined
    without repeats, objects joined, and a value already there is kept."""
    for key, value in source.items():
        mine = target.get(key)
        if isinstance(mine, list):
            target[key] = mine + [v for v in (value if isinstance(value, list) else [value]) if v not in mine]
        elif isinstance(mine, dict) and isinstance(value, Mapping):
            _extend(mine, value)
        elif key not in target:
            target[key] = value
    return target


def _merge(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    """lodash's merge, as the Framework merges `resources` into its template: objects and lists
    (by index) merged, any other value replaced."""
    for key, value in source.items():
        mine = target.get(key)
        if isinstance(mine, dict) and isinstance(value, Mapping):
            _merge(mine, value)
        elif isinstance(mine, list) and isinstance(value, list):
            for index, item in enumerate(value):
                if index < len(mine) and isinstance(mine[index], dict) and isinstance(item, Mapping):
                    _merge(mine[index], item)
                elif index < len(mine):
                    mine[index] = item
                else:
                    mine.append(item)
        else:
            target[key] = value


class _Service:
    """One serverless.yml, compiled to the CloudFormation resources the distribution needs."""

    def __init__(self, file: Path, document: Mapping[str, Any]) -> None:
        self.file, self.document = file, document
        self.variables = Variables(document, folder=file.resolve().parent)
        self.notes: list[str] = []
        self.resources: dict[str, Any] = {}
        self.project = file.resolve().parent
        self.from_events = False
        self.origin_map: list[Mapping[str, Any]] = []  # serverless-offline-edge-lambda's local origins
        self.existing: list[str] = []  # lambdaAtEdge.distributionID: functions for a distribution deployed elsewhere
        self.service, self.stage = self.variables.service(), self.variables.stage()
        functions = document.get("functions")
        if isinstance(functions, list):  # the Framework also takes a list of {name: function} objects
            functions = {k: v for entry in functions if isinstance(entry, Mapping) for k, v in entry.items()}
        self.functions: dict[str, Mapping[str, Any]] = {
            str(k): self._function(str(k), v)
            for k, v in (functions.items() if isinstance(functions, Mapping) else ()) if isinstance(v, Mapping)}
        provider = document.get("provider")
        self.provider: Mapping[str, Any] = provider if isinstance(provider, Mapping) else {}

    def _function(self, key: str, function: Mapping[str, Any]) -> dict[str, Any]:
        """What the distribution needs of a function, its variables resolved; of its events only the
        cloudFront ones (an `http` event's `${ssm:...}` is no concern of the distribution's)."""
        out = {name: self.variables.resolve(function[name], f"functions.{key}.{name}")
               for name in _FUNCTION_KEYS if name in function and name != "events"}
        events = function.get("events")
        out["events"] = [self.variables.resolve(e, f"functions.{key}.events[{i}]")
                         if isinstance(e, Mapping) and ("cloudFront" in e or "preExistingCloudFront" in e) else None
                         for i, e in enumerate(events if isinstance(events, list) else [])]
        return out

    def _provider(self, key: str) -> Any:
        return self.variables.resolve(self.provider.get(key), f"provider.{key}")

    # --- functions and cache policies ----------------------------------------------------------

    def code_folder(self) -> tuple[Path, str]:
        """Where handlers are read from: the project's folder, or the built one serverless-offline-edge-lambda
        was told (`custom.offlineEdgeLambda.path`, a transpiler's output such as `.build`)."""
        custom = self.document.get("custom")
        offline = custom.get("offlineEdgeLambda") if isinstance(custom, Mapping) else None
        offline = self.variables.resolve(offline, "custom.offlineEdgeLambda") if isinstance(offline, Mapping) else {}
        folder, said = self.project, f"project folder (beside {self.file.name})"
        for key, value in offline.items():
            if key == "path" and isinstance(value, str) and value:
                folder, said = (self.project / value).resolve(), f"build folder {value} (custom.offlineEdgeLambda.path)"
                self.notes.append(f"custom.offlineEdgeLambda.path {value!r}: handlers are read from {value}, as "
                                  "serverless-offline-edge-lambda reads them (build it first)")
            elif key == "originMap":
                self.origin_map = [e for e in items(value) if isinstance(e, Mapping)]
            else:
                meaning = _OFFLINE_SETTINGS.get(key, "not read by edgesim")
                self.notes.append(f"custom.offlineEdgeLambda.{key} = {json.dumps(value)}: {meaning}")
        return folder, said

    def add_functions(self) -> None:
        folder, said = self.code_folder()
        runtime = self._provider("runtime")
        for key, function in self.functions.items():
            name = normalized(key)
            properties: dict[str, Any] = {"FunctionName": function.get("name") or f"{self.service}-{self.stage}-{key}",
                                          "Handler": function.get("handler")}
            if function.get("runtime") or runtime:
                properties["Runtime"] = function.get("runtime") or runtime
            # A function with cloudFront events gets 128 MB and 5 s when it sets none itself (the
            # compiler's prepareFunctions, before the provider's apply); another (attached by lambdaAtEdge
            # or preExistingCloudFront) takes the provider's, else the Framework's own 1024 MB and 6 s
            # (serverless.yml reference: provider.memorySize "default is 1024", timeout "default is 6"),
            # not Lambda's 3 s: over a viewer trigger's 5 s / 128 MB, which edgesim check says.
            edge = any(isinstance(e, Mapping) and "cloudFront" in e for e in function.get("events") or [])
            for ours, theirs, default, framework in (("MemorySize", "memorySize", 128, 1024), ("Timeout", "timeout", 5, 6)):
                value = function.get(theirs) or (default if edge else self._provider(theirs) or framework)
                properties[ours] = value
            metadata: dict[str, Any] = {"edgesim:code-folder": str(folder), "edgesim:code-said": said}
            artifact = self._artifact(key, function, folder)
            if artifact is not None:
                metadata = {"edgesim:code-artifact": artifact[0], "edgesim:code-said": f"package.artifact {artifact[1]}"}
            if function.get("image") is not None:
                properties["Code"] = {"ImageUri": function["image"] if isinstance(function["image"], str)
                                      else json.dumps(function["image"])}
                metadata = {}
            self.resources[f"{name}LambdaFunction"] = {"Type": "AWS::Lambda::Function", "Properties": properties,
                                                       "Metadata": metadata}
            self.resources[f"{name}LambdaVersion"] = {"Type": "AWS::Lambda::Version",
                                                      "Properties": {"FunctionName": {"Ref": f"{name}LambdaFunction"}}}
            if edge or function.get("lambdaAtEdge"):
                self._typescript_note(key, folder, text(function.get("handler")))

    def _artifact(self, key: str, function: Mapping[str, Any], folder: Path) -> tuple[str, str] | None:
        """A prebuilt `package.artifact` (the function's, else the service's): what deploys instead of
        the zip `serverless package` would make of the project. The code runs from it when the
        handler's file is not in the project's folder (lambda_code.py: a local .zip or S3); when it
        is, the source there runs, with a note that the artifact is what deploys. Where it is (an
        absolute path or an s3:// URI), and as the file says it."""
        package = function.get("package")
        artifact = package.get("artifact") if isinstance(package, Mapping) else None
        if artifact is None:
            service_package = self.document.get("package")
            if isinstance(service_package, Mapping) and "artifact" in service_package:
                artifact = self.variables.resolve(service_package["artifact"], "package.artifact")
        if not isinstance(artifact, str) or not artifact:
            return None
        handler = text(function.get("handler"))
        module = handler.rsplit(".", 1)[0] if handler and "." in handler else None
        if module and any((folder / f"{module}{s}").is_file() for s in (".js", ".mjs", ".cjs", ".py")):
            self.notes.append(f"functions.{key}: package.artifact {artifact} is what deploys; edgesim runs the "
                              f"source {module} in the project's folder: keep the two in step")
            return None
        return (artifact if artifact.startswith("s3://") else str(self.project / artifact)), artifact

    def _typescript_note(self, key: str, folder: Path, handler: str | None) -> None:
        module = handler.rsplit(".", 1)[0] if handler and "." in handler else None
        if module and not any((folder / f"{module}{s}").is_file() for s in (".js", ".mjs", ".cjs", ".py")) \
                and any((folder / f"{module}{s}").is_file() for s in (".ts", ".mts")):
            self.notes.append(f"functions.{key}: {module}.ts is TypeScript; edgesim runs JavaScript: build it "
                              "(serverless-esbuild, serverless-plugin-typescript...) and point `lambda` at the built "
                              "file, or set custom.offlineEdgeLambda.path to the build folder and import again")

    def add_cache_policies(self) -> set[str]:
        cloudfront = self._provider("cloudFront")
        policies = cloudfront.get("cachePolicies") if isinstance(cloudfront, Mapping) else None
        names: set[str] = set()
        for name, config in policies.items() if isinstance(policies, Mapping) else ():
            names.add(str(name))
            self.resources[f"CloudFrontCachePolicy{normalized(str(name))}"] = {
                "Type": "AWS::CloudFront::CachePolicy",
                "Properties": {"CachePolicyConfig": {**(config if isinstance(config, Mapping) else {}),
                                                     "Name": f"{self.service}-{self.stage}-{name}"}}}
        return names

    # --- the distribution the cloudFront events build -------------------------------------------

    def _origin(self, value: Any, where: str) -> dict[str, Any]:
        if isinstance(value, str):
            parts = urlsplit(value)
            try:
                port = parts.port
            except ValueError:  # not a number: the URL is not one CloudFront takes
                port = None
            origin: dict[str, Any] = {"DomainName": parts.hostname or value}
            if len(parts.path) > 1:
                origin["OriginPath"] = parts.path
            if parts.scheme == "s3":
                origin["S3OriginConfig"] = {}
            else:
                origin["CustomOriginConfig"] = {"OriginProtocolPolicy": "match-viewer"}
            if port is not None:
                self.notes.append(f"{where}.origin {value!r}: the Framework keeps the host name only, so the port "
                                  f"{port} is dropped, as on CloudFront; to reach that port, write the origin as "
                                  "an object with CustomOriginConfig (HTTPPort / HTTPSPort)")
        elif isinstance(value, Mapping) and ("DomainName" in value or "S3OriginConfig" in value
                                             or "CustomOriginConfig" in value):
            origin = dict(value)
        else:  # an unresolved variable, or nothing
            origin = {"DomainName": value, "CustomOriginConfig": {"OriginProtocolPolicy": "match-viewer"}}
        domain = origin.get("DomainName")
        shown = domain if isinstance(domain, str) else re.sub(r"[^0-9A-Za-z]", "", json.dumps(domain))
        origin["Id"] = f"{'s3' if 'S3OriginConfig' in origin else 'custom'}/{shown}{origin.get('OriginPath') or ''}"
        return origin

    def compile_events(self, cache_policies: set[str]) -> None:
        origins: list[dict[str, Any]] = []
        behaviors: list[dict[str, Any]] = []
        default_origin: dict[str, Any] | None = None
        for key, function in self.functions.items():
            for index, event in enumerate(items(function.get("events"))):
                spec = event.get("cloudFront") if isinstance(event, Mapping) else None
                if not isinstance(spec, Mapping):
                    continue
                where = f"functions.{key}.events[{index}].cloudFront"
                origin = self._origin(spec.get("origin"), where)
                known = next((o for o in origins if o["Id"] == origin["Id"]), None)
                origin = _extend(known, origin) if known is not None else origin
                if known is None:
                    origins.append(origin)
                if flag(spec.get("isDefaultOrigin")):
                    if default_origin is not None and default_origin is not origin:
                        raise ConfigError(f"{where}: more than one cloudFront event has isDefaultOrigin "
                                          "(the Framework refuses this too)", file=str(self.file))
                    default_origin = origin
                behavior: dict[str, Any] = {"ViewerProtocolPolicy": "allow-all"}
                if isinstance(spec.get("behavior"), Mapping):
                    behavior.update(spec["behavior"])
                chosen = spec.get("cachePolicy")
                if isinstance(chosen, Mapping) and chosen.get("id"):
                    behavior["CachePolicyId"] = chosen["id"]
                elif isinstance(chosen, Mapping) and chosen.get("name"):
                    if str(chosen["name"]) not in cache_policies:
                        raise ConfigError(f"{where}.cachePolicy: the cache policy {chosen['name']!r} is not in "
                                          f"provider.cloudFront.cachePolicies (it has: "
                                          f"{', '.join(sorted(cache_policies)) or 'none'})", file=str(self.file))
                    behavior["CachePolicyId"] = {"Ref": f"CloudFrontCachePolicy{normalized(str(chosen['name']))}"}
                behavior.setdefault("CachePolicyId", CACHING_OPTIMIZED)
                association: dict[str, Any] = {"EventType": spec.get("eventType"),
                                               "LambdaFunctionARN": {"Ref": f"{normalized(key)}LambdaVersion"}}
                if spec.get("includeBody") is not None:
                    association["IncludeBody"] = spec["includeBody"]
                behavior.update(TargetOriginId=origin["Id"], LambdaFunctionAssociations=[association])
                if isinstance(spec.get("pathPattern"), str) and spec["pathPattern"]:
                    behavior["PathPattern"] = spec["pathPattern"]
                same = next((b for b in behaviors if b.get("PathPattern") == behavior.get("PathPattern")
                             and b["TargetOriginId"] == behavior["TargetOriginId"]), None)
                if same is not None:
                    _extend(same, behavior)
                else:
                    behaviors.append(behavior)
        self.from_events = bool(behaviors)
        if behaviors:
            self.resources[DISTRIBUTION] = self._distribution(origins, behaviors, default_origin)

    def _distribution(self, origins: list[dict[str, Any]], behaviors: list[dict[str, Any]],
                      default_origin: dict[str, Any] | None) -> dict[str, Any]:
        behaviors.sort(key=lambda b: "PathPattern" in b)  # the default one (no pathPattern) first
        patterns = [b.get("PathPattern") for b in behaviors]
        repeated = sorted({str(p or "(none: the default)") for p in patterns if patterns.count(p) > 1})
        if repeated:
            raise ConfigError(f"cloudFront events: more than one behavior with the pathPattern {', '.join(repeated)} "
                              "(on different origins; the Framework refuses this too)", file=str(self.file))
        for behavior in behaviors:
            types = [str(a.get("EventType")) for a in behavior["LambdaFunctionAssociations"]]  # a list too
            if len(types) != len(set(types)):
                raise ConfigError(f"cloudFront events on pathPattern {behavior.get('PathPattern', '(default)')}: "
                                  f"two functions at one event type ({', '.join(map(str, types))}); a behavior has "
                                  "one function per event type", file=str(self.file))
        if "PathPattern" in behaviors[0]:
            if default_origin is None and len(origins) > 1:
                raise ConfigError("cloudFront events: every event has a pathPattern and there are several origins, "
                                  "but none has isDefaultOrigin: the default behavior has no origin (the Framework "
                                  "refuses this too)", file=str(self.file))
            origin = default_origin or origins[0]
            default = {k: v for k, v in behaviors[0].items() if k not in ("PathPattern", "LambdaFunctionAssociations")}
            default["TargetOriginId"] = origin["Id"]
            behaviors.insert(0, default)
            self.notes.append(f"every cloudFront event has a pathPattern: the default behavior is, as the Framework "
                              f"builds it, a copy of the {behaviors[1]['PathPattern']} behavior's settings without its "
                              f"functions, on origin {origin['Id']}")
        config: dict[str, Any] = {"Comment": f"{self.service} {self.stage}", "Enabled": True,
                                  "DefaultCacheBehavior": behaviors[0], "Origins": origins}
        if len(behaviors) > 1:
            config["CacheBehaviors"] = behaviors[1:]
        return {"Type": DISTRIBUTION_TYPE, "Properties": {"DistributionConfig": config}}

    # --- resources, and lambdaAtEdge ----------------------------------------------------------

    def merge_resources(self) -> dict[str, Any]:
        """`resources` merged into the template as the Framework merges it; the template's other sections."""
        section = self.document.get("resources")
        section = section if isinstance(section, Mapping) else {}
        raw = section.get("Resources")
        # Only what a distribution uses is resolved (and its unresolved variables said): an IAM
        # role's or a table's `${ssm:...}` is no concern of the import's.
        own = {name: self.variables.resolve(body, f"resources.Resources.{name}")
               if isinstance(body, Mapping) and str(body.get("Type", "")).startswith(_USED_TYPES) else body
               for name, body in raw.items()} if isinstance(raw, Mapping) else None
        if isinstance(own, Mapping):
            own = self._versions(own)
            if DISTRIBUTION in self.resources and isinstance(own.get(DISTRIBUTION), Mapping):
                self.notes.append(f"resources.Resources.{DISTRIBUTION} is merged into the distribution the cloudFront "
                                  "events build, as the Framework merges it (its values win, lists merge by position)")
            _merge(self.resources, own)
        extensions = section.get("extensions")
        for name, extension in extensions.items() if isinstance(extensions, Mapping) else ():
            target = self.resources.get(name)
            properties = extension.get("Properties") if isinstance(extension, Mapping) else None
            if isinstance(target, dict) and isinstance(properties, Mapping):
                target.setdefault("Properties", {}).update(self.variables.resolve(properties, f"resources.extensions.{name}"))
        return {k: section[k] for k in ("Parameters", "Conditions", "Mappings") if isinstance(section.get(k), Mapping)}

    def _versions(self, value: Any) -> Any:
        """A reference to a function's version as users write it in `resources` - the version's
        hashed logical id (`EdgeLambdaVersionAbc123`) or the `EdgeLambdaFunctionQualifiedArn` output's
        name - is a reference to that function's version here."""
        if isinstance(value, list):
            return [self._versions(v) for v in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1 and ("Ref" in value or "Fn::GetAtt" in value):
            (kind, arg), = value.items()
            target = arg[0] if kind == "Fn::GetAtt" and isinstance(arg, list) and arg else arg
            for key in sorted(self.functions, key=len, reverse=True):
                name = normalized(key)
                if isinstance(target, str) and (target.startswith(f"{name}LambdaVersion")
                                                or target == f"{name}LambdaFunctionQualifiedArn"):
                    return {"Ref": f"{name}LambdaVersion"}
        return {k: self._versions(v) for k, v in value.items()}

    def attach_lambda_at_edge(self) -> None:
        """serverless-offline-edge-lambda's (and serverless-plugin-cloudfront-lambda-edge's)
        `lambdaAtEdge: {distribution, eventType, pathPattern, includeBody}`, on its distribution's behavior."""
        for key, function in self.functions.items():
            for index, spec in enumerate(items(function.get("lambdaAtEdge"))):
                where = f"functions.{key}.lambdaAtEdge" + (f"[{index}]" if isinstance(function["lambdaAtEdge"], list)
                                                            else "")
                if isinstance(spec, Mapping):
                    self._attach(key, spec, where)

    def _attach(self, key: str, spec: Mapping[str, Any], where: str) -> None:
        name = text(spec.get("distribution"))
        target = self.resources.get(name or "")
        if not isinstance(target, Mapping) or target.get("Type") != DISTRIBUTION_TYPE:
            if spec.get("distributionID") is not None:
                # serverless-plugin-cloudfront-lambda-edge's `distributionID`: a distribution deployed
                # elsewhere, which this service does not define.
                self.existing.append(f"{where}: distributionID {describe(spec['distributionID'])} (functions.{key}, "
                                     f"handler {text(self.functions[key].get('handler')) or '?'})")
                return
            found = [k for k, r in self.resources.items() if isinstance(r, Mapping) and r.get("Type") == DISTRIBUTION_TYPE]
            raise ConfigError(f"{where}.distribution {repr(name) if name is not None else describe(spec.get('distribution'))}: no {DISTRIBUTION_TYPE} of "
                              f"that logical id in resources.Resources (it has: {', '.join(found) or 'none'})",
                              file=str(self.file))
        config = target.get("Properties", {}).get("DistributionConfig")
        if not isinstance(config, dict):
            return
        pattern = text(spec.get("pathPattern"))
        # UNCERTAIN: serverless-offline-edge-lambda runs a function for its pathPattern's behavior,
        # and for the default one without; serverless-plugin-cloudfront-lambda-edge (which has no
        # pathPattern) attaches it to every behavior on deploy. Migrating users ran the former.
        if pattern in (None, "*"):
            behaviors = [config.get("DefaultCacheBehavior")]
        else:
            behaviors = [b for b in items(config.get("CacheBehaviors")) if isinstance(b, Mapping)
                         and text(b.get("PathPattern")) in (pattern, pattern.lstrip("/"), "/" + pattern.lstrip("/"))]
            if not behaviors:
                # serverless-offline-edge-lambda routes each pathPattern to its functions whatever the
                # distribution's behaviors are (its BehaviorRouter); the behavior it ran is added, with
                # the default behavior's settings (the default's origin, as the plugin's without one).
                default = config.get("DefaultCacheBehavior")
                added = {k: v for k, v in (default.items() if isinstance(default, Mapping) else ())
                         if k not in ("LambdaFunctionAssociations", "FunctionAssociations")}
                added["PathPattern"] = pattern
                config["CacheBehaviors"] = [*items(config.get("CacheBehaviors")), added]
                behaviors = [added]
                self.notes.append(f"{where}: {name} has no cache behavior with PathPattern {pattern!r}; one is added "
                                  "after the others, with the default behavior's settings, as serverless-offline-"
                                  "edge-lambda runs the function for that pattern")
        association: dict[str, Any] = {"EventType": spec.get("eventType"),
                                       "LambdaFunctionARN": {"Ref": f"{normalized(key)}LambdaVersion"}}
        if spec.get("includeBody") is not None:
            association["IncludeBody"] = spec["includeBody"]
        for behavior in behaviors:
            if isinstance(behavior, dict):
                existing = [a for a in items(behavior.get("LambdaFunctionAssociations"))
                            if not (isinstance(a, Mapping) and a.get("EventType") == association["EventType"])]
                behavior["LambdaFunctionAssociations"] = [*existing, association]


def looks_like_service(document: Any) -> bool:
    """A service's content under another file name (`serverless print > resolved.yml`)."""
    return isinstance(document, Mapping) and "service" in document and "Resources" not in document and (
        "functions" in document or "provider" in document)


def serverless_source(path: Path, resource: str | None, document: Any = None) -> Source:
    """The distribution a Serverless Framework service defines (see the module's docstring)."""
    file = _service_file(path)
    if file.name in PROGRAM_FILES:
        raise ConfigError("a service file in JavaScript or TypeScript is a program edgesim does not run: import "
                          "the configuration the Framework resolves from it, `serverless print > resolved.yml`",
                          file=str(file))
    document = load_document(file) if document is None else document
    if not isinstance(document, Mapping):
        raise ConfigError(f"not a Serverless Framework service: the file holds a {type(document).__name__}",
                          file=str(file))
    service = _Service(file, document)
    service.add_functions()
    service.compile_events(service.add_cache_policies())
    sections = service.merge_resources()
    service.attach_lambda_at_edge()
    found = [k for k, r in service.resources.items() if isinstance(r, Mapping) and r.get("Type") == DISTRIBUTION_TYPE]
    for key, function in service.functions.items():  # serverless-lambda-edge-pre-existing-cloudfront's events
        for index, event in enumerate(function.get("events") or []):
            spec = event.get("preExistingCloudFront") if isinstance(event, Mapping) else None
            if isinstance(spec, Mapping):
                service.existing.append(f"functions.{key}.events[{index}].preExistingCloudFront: distributionId "
                                        f"{describe(spec.get('distributionId'))} (functions.{key}, handler "
                                        f"{text(function.get('handler')) or '?'})")
    if not found and service.existing:
        raise ConfigError("the service's Lambda@Edge functions attach to a distribution deployed elsewhere, which it "
                          f"does not define ({'; '.join(service.existing)}): import that distribution (`aws cloudfront "
                          "get-distribution-config --id ID > distribution.json`, then `edgesim import "
                          "distribution.json`) and point its association's `lambda` at the handler", file=str(file))
    if not found:
        names = ", ".join(service.functions) or "none"
        raise ConfigError(f"no CloudFront distribution in this Serverless Framework service: no function has a "
                          f"cloudFront event (or lambdaAtEdge), and resources.Resources has no {DISTRIBUTION_TYPE} "
                          f"(functions: {names})", file=str(file))
    template = {**sections, "Resources": service.resources}
    source = find_distribution(template, str(file), resource)
    chosen = source.shape.removeprefix("CloudFormation resource ")
    how = "its functions' cloudFront events" if chosen == DISTRIBUTION and service.from_events else f"resource {chosen}"
    for entry in service.origin_map:  # said once the behaviors, and the origins they target, are known
        pattern = text(entry.get("pathPattern")) or "*"
        behaviors = [source.config.get("DefaultCacheBehavior")] if pattern == "*" else [
            b for b in items(source.config.get("CacheBehaviors")) if isinstance(b, Mapping)
            and text(b.get("PathPattern")) == pattern]
        targets = sorted({str(b.get("TargetOriginId")) for b in behaviors if isinstance(b, Mapping)})
        service.notes.append(f"custom.offlineEdgeLambda.originMap: {pattern} went to {entry.get('target')} offline; "
                             + (f"to do the same, set the url of origin {', '.join(targets)} to it"
                                if targets else "the distribution has no behavior of that path pattern"))
    return replace(source, shape=f"Serverless Framework service {service.service}, {how}",
                   notes=(*service.variables.notes, *service.notes, *source.notes), folder=service.project)
