"""`edgesim import` of a Serverless Framework service (serverless.yml), as serverless-offline-edge-lambda's users have one.

tests/fixtures/import/serverless/site/ is a service as a team writes one: three functions with
`cloudFront` events (v3/v4 docs, "AWS Lambda Events - CloudFront") - a Node.js viewer-request
function on the default behavior with an `s3://` origin, and on `/api/*` a Python origin-request
function (includeBody, memorySize/timeout) beside a Node.js origin-response one, both on one
custom origin object, with a named cache policy from `provider.cloudFront.cachePolicies` -,
`${self:...}`, `${opt:stage, 'dev'}` and `${env:X, default}` variables, and
`custom.offlineEdgeLambda`. The resources variant writes the distribution in `resources` and
attaches functions with `lambdaAtEdge` (serverless-offline-edge-lambda's README) or by
`LambdaFunctionARN: {Ref: <Name>LambdaVersion...}`.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.config import CustomOrigin, LambdaFunctionAssociation, load_config
from edgesim.config_import import import_file
from edgesim.errors import ConfigError
from edgesim.messages import EventType
from edgesim.testing import Distribution
from import_support import OriginHandler, http_origin, import_into as _import

SITE = Path(__file__).parent / "fixtures" / "import" / "serverless" / "site"


def _lambda(association: object) -> LambdaFunctionAssociation:
    assert isinstance(association, LambdaFunctionAssociation)
    return association


def _service(tmp_path: Path, body: str, name: str = "serverless.yml") -> Path:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True, exist_ok=True)
    (project / "src" / "edge.js").write_text("exports.handler = async (event) => event.Records[0].cf.request;\n")
    (project / name).write_text(textwrap.dedent(body))
    return project / name


def test_a_serverless_services_cloudfront_events_become_its_distribution(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EDGE_SITE_API_HOST", "EDGE_SITE_API_PORT", "EDGE_SITE_API_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    toml, notes, output = _import(SITE / "serverless.yml", tmp_path)
    config = load_config(output)

    s3, api = config.origins
    assert isinstance(s3, CustomOrigin) and isinstance(api, CustomOrigin)
    # The Framework's origin ids; `${self:service}-${self:provider.stage}-assets` with the stage's default.
    assert (s3.id, s3.url) == ("s3/edge-site-dev-assets.s3.amazonaws.com/site",
                               "https://edge-site-dev-assets.s3.amazonaws.com/site")
    assert (api.id, api.url) == ("custom/api.example.com/v1", "https://api.example.com/v1")
    assert api.custom_headers == {"X-Origin-Verify": "from-cloudfront-dev"}

    default = config.default_cache_behavior
    assert default.target_origin == s3.id and default.viewer_protocol_policy == "redirect-to-https"
    assert default.compress and default.cache_policy.name == "CachingOptimized"  # the Framework's default
    rewrite = _lambda(default.functions[EventType.VIEWER_REQUEST])
    # The handler is the project's own file, run in place, with the provider's runtime.
    assert (rewrite.path, rewrite.function, rewrite.runtime) == (SITE.resolve() / "src" / "rewrite.js", "handler",
                                                                 "nodejs20.x")

    (api_behavior,) = config.cache_behaviors  # two events on /api/* and one origin: one behavior
    assert api_behavior.path_pattern == "/api/*" and api_behavior.target_origin == api.id
    assert api_behavior.viewer_protocol_policy == "https-only" and "POST" in api_behavior.allowed_methods
    policy = api_behavior.cache_policy  # provider.cloudFront.cachePolicies.apiCache, named as the Framework does
    assert (policy.name, policy.default_ttl, policy.max_ttl) == ("edge-site-dev-apiCache", 5, 60)
    assert list(policy.headers.items) == ["Authorization"]
    auth = _lambda(api_behavior.functions[EventType.ORIGIN_REQUEST])
    assert auth.path == SITE.resolve() / "edge" / "auth.py" and auth.runtime == "python3.12"
    assert auth.include_body and (auth.timeout, auth.memory) == (5, 128)
    stamp = _lambda(api_behavior.functions[EventType.ORIGIN_RESPONSE])
    assert stamp.path == SITE.resolve() / "src" / "stamp.js" and stamp.timeout == 10

    assert "Serverless Framework service edge-site, its functions' cloudFront events" in toml
    assert any("${opt:stage, 'dev'}" in n and "fallback 'dev'" in n for n in notes)
    assert any("${env:EDGE_SITE_API_HOST, 'api.example.com'}" in n and "is not set" in n for n in notes)
    assert "custom.offlineEdgeLambda.port = 8080: the port is `edgesim serve --port PORT`" in notes
    assert any(n.startswith("custom.offlineEdgeLambda.originMap: /api/* went to http://localhost:3000")
               and "origin custom/api.example.com/v1" in n for n in notes)


def test_the_import_command_takes_the_services_folder_and_check_accepts_the_result(tmp_path: Path) -> None:
    output = tmp_path / "edgesim.toml"
    result = CliRunner().invoke(main, ["import", str(SITE), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "(Serverless Framework service edge-site" in result.stdout
    checked = CliRunner().invoke(main, ["check", "--config", str(output)])
    assert checked.exit_code == 0, checked.output
    assert "ok:" in checked.stdout and "2 behaviors" in checked.stdout


def test_a_distribution_in_resources_with_lambda_at_edge_and_version_refs(tmp_path: Path) -> None:
    """serverless-offline-edge-lambda's shape: the distribution in resources, functions attached by
    `lambdaAtEdge` (its pathPattern choosing the behavior) or named by their version's logical id."""
    file = _service(tmp_path, """\
        service: static-site
        plugins: [serverless-offline-edge-lambda]
        provider: {name: aws, runtime: nodejs18.x, stage: prod}
        custom:
          offlineEdgeLambda: {path: src}
          apiDomain: ${ssm:/static-site/api-domain}
        functions:
          viewerRequest:
            handler: edge.handler
            memorySize: 128
            timeout: 5
            lambdaAtEdge: {distribution: WebsiteDistribution, eventType: viewer-request}
          api-origin:
            handler: edge.handler
            lambdaAtEdge:
              distribution: WebsiteDistribution
              eventType: origin-request
              pathPattern: /api/*
              includeBody: true
          headers:
            handler: edge.handler
            memorySize: 128
            timeout: 2
            events:
              - http: {path: '${ssm:/static-site/http-path}', method: get}
        resources:
          Resources:
            Table:
              Type: AWS::DynamoDB::Table
              Properties: {TableName: '${ssm:/static-site/table}'}
            WebsiteBucket:
              Type: AWS::S3::Bucket
              Properties: {BucketName: '${self:service}-${self:provider.stage}'}
            WebsiteDistribution:
              Type: AWS::CloudFront::Distribution
              Properties:
                DistributionConfig:
                  Enabled: true
                  PriceClass: PriceClass_100
                  Origins:
                    - Id: site
                      DomainName: {'Fn::GetAtt': [WebsiteBucket, RegionalDomainName]}
                      S3OriginConfig: {}
                    - Id: api
                      DomainName: ${self:custom.apiDomain}
                      CustomOriginConfig: {OriginProtocolPolicy: https-only}
                  DefaultCacheBehavior:
                    TargetOriginId: site
                    ViewerProtocolPolicy: redirect-to-https
                    CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6
                    LambdaFunctionAssociations:
                      - EventType: viewer-response
                        LambdaFunctionARN: {Ref: HeadersLambdaVersionQ2w3E4r5T6y7U8i9O0}
                  CacheBehaviors:
                    - PathPattern: /api/*
                      TargetOriginId: api
                      ViewerProtocolPolicy: https-only
                      CachePolicyId: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad
                      LambdaFunctionAssociations:
                        - EventType: origin-response
                          LambdaFunctionARN: !GetAtt HeadersLambdaFunction.Arn
        """)
    toml, notes, output = _import(file, tmp_path)
    config = load_config(output)
    project = file.parent.resolve()
    site, api = config.origins
    assert isinstance(site, CustomOrigin) and site.url == "https://static-site-prod.s3.amazonaws.com"
    # ${ssm:...} only the deployment knows: a marked placeholder and a note, never dropped.
    assert isinstance(api, CustomOrigin) and api.url.endswith(".invalid")
    assert "PLACEHOLDER" in toml
    assert any("${ssm:/static-site/api-domain} cannot be resolved here" in n for n in notes)
    assert not any("/static-site/table" in n or "/static-site/http-path" in n for n in notes)  # not the distribution's
    default = config.default_cache_behavior
    viewer = _lambda(default.functions[EventType.VIEWER_REQUEST])
    # custom.offlineEdgeLambda.path: handlers read from there, as the plugin reads them.
    assert viewer.path == project / "src" / "edge.js" and viewer.runtime == "nodejs18.x"
    headers = _lambda(default.functions[EventType.VIEWER_RESPONSE])  # {Ref: HeadersLambdaVersion<hash>}
    assert headers.path == project / "src" / "edge.js"
    assert EventType.ORIGIN_REQUEST not in default.functions
    (api_behavior,) = config.cache_behaviors
    origin_request = _lambda(api_behavior.functions[EventType.ORIGIN_REQUEST])
    assert origin_request.include_body and origin_request.path == project / "src" / "edge.js"
    # Setting none, a function takes the Framework's 6 s / 1024 MB (not Lambda's 3 s, nor the trigger's 30 s);
    # the viewer functions above set theirs within the viewer triggers' 5 s / 128 MB, as CloudFront requires.
    assert (origin_request.timeout, origin_request.memory) == (6, 1024)
    assert (viewer.timeout, viewer.memory, headers.timeout) == (5, 128, 2)
    # lambdaAtEdge adds to the associations the behavior has (`!GetAtt HeadersLambdaFunction.Arn`).
    assert _lambda(api_behavior.functions[EventType.ORIGIN_RESPONSE]).path == project / "src" / "edge.js"
    assert "Serverless Framework service static-site, resource WebsiteDistribution" in toml
    assert any("PriceClass" in n for n in notes)
    assert any("custom.offlineEdgeLambda.path 'src'" in n for n in notes)


def test_resources_extend_the_events_distribution_and_another_one_needs_resource(tmp_path: Path) -> None:
    events = """\
        service: merged
        provider: {name: aws, runtime: nodejs20.x}
        functions:
          edge:
            handler: src/edge.handler
            events:
              - cloudFront: {eventType: viewer-request, origin: 'https://www.example.com'}
        resources:
          Resources:
            %s:
              Type: AWS::CloudFront::Distribution
              Properties:
                DistributionConfig:
                  DefaultRootObject: index.html
                  CustomErrorResponses: [{ErrorCode: 404, ResponseCode: 200, ResponsePagePath: /index.html}]
                  %s
        """
    file = _service(tmp_path, events % ("CloudFrontDistribution", ""))
    _, notes, output = _import(file, tmp_path)
    config = load_config(output)
    # The Framework merges resources into its template by logical id: both halves are there.
    assert config.distribution.default_root_object == "index.html"
    assert [e.error_code for e in config.custom_error_responses] == [404]
    assert EventType.VIEWER_REQUEST in config.default_cache_behavior.functions
    assert any("merged into the distribution the cloudFront events build" in n for n in notes)

    other = _service(tmp_path, events % ("Site", textwrap.indent(textwrap.dedent("""\
        Origins: [{Id: a, DomainName: a.example.com, CustomOriginConfig: {OriginProtocolPolicy: https-only}}]
        DefaultCacheBehavior: {TargetOriginId: a, ViewerProtocolPolicy: allow-all}"""), " " * 18).lstrip()))
    with pytest.raises(ConfigError, match=r"2 distributions \(CloudFrontDistribution, Site\); choose one"):
        _import(other, tmp_path)
    toml, _, _ = _import(other, tmp_path, resource="Site")
    assert "resource Site" in toml


def test_every_event_with_a_path_pattern_gives_the_default_behavior_the_frameworks_way(tmp_path: Path) -> None:
    file = _service(tmp_path, """\
        service: paths
        provider: {name: aws, runtime: nodejs20.x}
        functions:
          edge:
            handler: src/edge.handler
            events:
              - cloudFront:
                  eventType: origin-request
                  pathPattern: /app/*
                  origin: 'https://app.example.com:8443/base'
                  behavior: {ViewerProtocolPolicy: https-only}
        """, name="serverless.yaml")
    _, notes, output = _import(file, tmp_path)
    config = load_config(output)
    (origin,) = config.origins
    # The Framework keeps a URL origin's host name only; match-viewer is sent as https.
    assert isinstance(origin, CustomOrigin) and origin.url == "https://app.example.com/base"
    assert any("the port 8443 is dropped" in n for n in notes)
    default = config.default_cache_behavior
    assert default.viewer_protocol_policy == "https-only" and not default.functions
    assert EventType.ORIGIN_REQUEST in config.cache_behaviors[0].functions


def test_file_variables_and_serverless_print_output_are_read(tmp_path: Path) -> None:
    """`${file(./config/dev.yml):origin}` reads a file of the project (its own variables too); the
    output of `serverless print`, variables resolved, is a service under another name."""
    file = _service(tmp_path, """\
        service: filed
        provider: {name: aws, runtime: nodejs20.x}
        custom: ${file(./config/${sls:stage}.yml)}
        functions:
          edge:
            handler: src/edge.handler
            events:
              - cloudFront:
                  eventType: viewer-request
                  origin: https://${self:custom.origin.host}${file(./config/dev.yml):origin.path}
        """)
    (file.parent / "config").mkdir()
    (file.parent / "config" / "dev.yml").write_text("origin:\n  host: ${self:custom.origin.name}.example.com\n"
                                                    "  name: www\n  path: /v2\n")
    _, notes, output = _import(file, tmp_path)
    (origin,) = load_config(output).origins
    assert isinstance(origin, CustomOrigin) and origin.url == "https://www.example.com/v2"

    printed = file.parent / "resolved.yml"  # what `serverless print` writes: no variables left
    printed.write_text(file.read_text().replace("${file(./config/${sls:stage}.yml)}", "{}").replace(
        "${self:custom.origin.host}${file(./config/dev.yml):origin.path}", "api.example.com/v3"))
    toml, _, output = _import(printed, tmp_path)
    assert "Serverless Framework service filed" in toml
    (origin,) = load_config(output).origins
    assert isinstance(origin, CustomOrigin) and origin.url == "https://api.example.com/v3"


def test_cloudformations_own_sub_variables_are_left_to_cloudformation(tmp_path: Path) -> None:
    """`!Sub "${self:service}.${AWS::Region}.example.com"`: the Framework resolves its own variable,
    and leaves `${AWS::Region}` to CloudFormation (which the import evaluates as for a template)."""
    file = _service(tmp_path, """\
        service: subbed
        provider: {name: aws, runtime: nodejs20.x}
        functions:
          edge:
            handler: src/edge.handler
            events:
              - cloudFront:
                  eventType: viewer-request
                  origin:
                    DomainName: !Sub '${self:service}.${AWS::Region}.example.com'
                    CustomOriginConfig: {OriginProtocolPolicy: https-only}
        """)
    _, notes, output = _import(file, tmp_path)
    (origin,) = load_config(output).origins
    assert isinstance(origin, CustomOrigin) and origin.url == "https://subbed.us-east-1.example.com"
    assert not any("cannot be resolved" in n for n in notes)


def test_an_unresolvable_variable_is_said_once_where_it_is_not_at_each_reference(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGESIM_UNSET_DEPLOYER", raising=False)
    file = _service(tmp_path, """\
        service: chained
        custom:
          stage: ${opt:stage, env:EDGESIM_UNSET_DEPLOYER}
          prefix: ${self:service}-${self:custom.stage}
        provider: {name: aws, runtime: nodejs20.x, stage: '${self:custom.stage}'}
        functions:
          edge:
            handler: src/edge.handler
            events:
              - cloudFront: {eventType: viewer-request, origin: 'https://${self:custom.prefix}.example.com'}
        """)
    toml, notes, _ = _import(file, tmp_path)
    unresolved = [n for n in notes if "cannot be resolved" in n]
    assert len(unresolved) == 1 and "${opt:stage, env:EDGESIM_UNSET_DEPLOYER}" in unresolved[0]
    assert "PLACEHOLDER" in toml  # the origin's host depends on it


def test_a_typescript_handler_is_said_to_need_its_build(tmp_path: Path) -> None:
    file = _service(tmp_path, """\
        service: typed
        plugins: [serverless-esbuild]
        provider: {name: aws, runtime: nodejs20.x}
        functions:
          edge:
            handler: src/typed.handler
            events:
              - cloudFront: {eventType: viewer-request, origin: 'https://www.example.com'}
        """)
    (file.parent / "src" / "typed.ts").write_text("export const handler = async (event: any) => event;\n")
    result = import_file(file, output=tmp_path / "edgesim.toml", functions_dir=tmp_path / "functions")
    assert result.missing == [file.parent.resolve() / "src" / "typed.js"]
    said = [n for n in result.notes if "typed" in n]
    assert any("src/typed.ts is TypeScript; edgesim runs JavaScript: build it" in n for n in said)
    assert not any("sam build" in n for n in said)


def test_lambda_at_edge_on_a_path_pattern_the_distribution_lacks_gets_that_behavior(tmp_path: Path) -> None:
    """serverless-offline-edge-lambda routes a function's pathPattern whatever behaviors the
    distribution has (its own example's distribution is `DistributionConfig: {}`): the behavior is
    added, and a distribution giving no origin gets a marked placeholder one, not an error."""
    file = _service(tmp_path, """\
        service: edge
        provider: {name: aws, runtime: nodejs20.x}
        functions:
          check:
            handler: src/edge.handler
            memorySize: 128
            timeout: 5
            lambdaAtEdge: {distribution: Site, eventType: viewer-request, pathPattern: /lambda}
        resources:
          Resources:
            Site:
              Type: AWS::CloudFront::Distribution
              Properties:
                DistributionConfig: {}
        """)
    toml, notes, output = _import(file, tmp_path)
    config = load_config(output)
    (behavior,) = config.cache_behaviors
    assert behavior.path_pattern == "/lambda"
    assert _lambda(behavior.functions[EventType.VIEWER_REQUEST]).path == file.parent.resolve() / "src" / "edge.js"
    assert not config.default_cache_behavior.functions
    (origin,) = config.origins
    assert isinstance(origin, CustomOrigin) and origin.url.endswith(".invalid") and "PLACEHOLDER" in toml
    assert any("no cache behavior with PathPattern '/lambda'; one is added" in n for n in notes)


def test_a_viewer_function_on_the_frameworks_default_limits_is_refused_as_cloudfront_refuses_it(
        tmp_path: Path) -> None:
    """A `lambdaAtEdge` function setting no memorySize / timeout (nor the provider) deploys with the
    Framework's 1024 MB / 6 s, over a viewer trigger's 128 MB / 5 s: CloudFront refuses the
    association, so the import does, saying where the values came from and what to set. The
    provider's values are the function's when it sets none."""
    body = """\
        service: edge
        provider: {name: aws, runtime: nodejs20.x%s}
        functions:
          check:
            handler: src/edge.handler
            lambdaAtEdge: {distribution: Site, eventType: viewer-request}
        resources:
          Resources:
            Site:
              Type: AWS::CloudFront::Distribution
              Properties:
                DistributionConfig:
                  Origins: [{Id: app, DomainName: app.example.com, CustomOriginConfig: {OriginProtocolPolicy: https-only}}]
                  DefaultCacheBehavior: {TargetOriginId: app, ViewerProtocolPolicy: allow-all}
        """
    with pytest.raises(ConfigError, match=r"(?s)viewer-request\.timeout: 6 s is over Lambda@Edge's 5 s.*"
                                          r"viewer-request\.memory: 1024 MB is over.*the Serverless Framework's 6 s"):
        _import(_service(tmp_path / "bare", body % ""), tmp_path / "bare")
    toml, _, output = _import(_service(tmp_path / "set", body % ", memorySize: 128, timeout: 4"), tmp_path / "set")
    check = _lambda(load_config(output).default_cache_behavior.functions[EventType.VIEWER_REQUEST])
    assert (check.timeout, check.memory) == (4, 128)


def test_lambda_at_edge_on_an_existing_distribution_by_id_says_to_import_that_one(tmp_path: Path) -> None:
    """serverless-plugin-cloudfront-lambda-edge's `distributionID`: the distribution is deployed
    elsewhere; the error says so and how to import it, rather than `distribution None`."""
    file = _service(tmp_path, """\
        service: edge
        custom:
          distributionID: ${opt:distribution-id, env:EDGESIM_TEST_UNSET_DIST_ID}
        functions:
          headers:
            handler: src/edge.handler
            lambdaAtEdge:
              distributionID: ${self:custom.distributionID}
              distribution: 'S3-${opt:stage, env:EDGESIM_TEST_UNSET_STAGE}'
              eventType: origin-response
        """)
    with pytest.raises(ConfigError, match=r"attach to a distribution deployed elsewhere.*functions\.headers, "
                                          r"handler src/edge\.handler.*aws cloudfront get-distribution-config"):
        _import(file, tmp_path)


def test_pre_existing_cloudfront_events_say_to_import_that_distribution(tmp_path: Path) -> None:
    """serverless-lambda-edge-pre-existing-cloudfront's `preExistingCloudFront` events: a distribution
    deployed elsewhere, named as such (not 'no function has a cloudFront event')."""
    file = _service(tmp_path, """\
        service: resize
        functions:
          resize:
            handler: src/edge.handler
            events:
              - preExistingCloudFront: {distributionId: E2EXAMPLE, eventType: origin-response, pathPattern: '*'}
        """)
    with pytest.raises(ConfigError, match=r"attach to a distribution deployed elsewhere.*preExistingCloudFront: "
                                          r"distributionId \"E2EXAMPLE\" \(functions\.resize, handler src/edge\.handler"):
        _import(file, tmp_path)


def test_include_body_on_a_response_event_is_left_out_and_said(tmp_path: Path) -> None:
    """The Framework's docs write `includeBody: true` on a viewer-response event; CloudFront gives
    the body to request events only, so the import leaves it out (said) rather than refusing."""
    file = _service(tmp_path, """\
        service: docs
        provider: {name: aws, runtime: nodejs20.x}
        functions:
          edge:
            handler: src/edge.handler
            events:
              - cloudFront: {eventType: viewer-response, includeBody: true, origin: 'https://a.example.com'}
        """)
    _, notes, output = _import(file, tmp_path)
    association = _lambda(load_config(output).default_cache_behavior.functions[EventType.VIEWER_RESPONSE])
    assert not association.include_body
    assert any("IncludeBody on a response event left out" in n for n in notes)


def test_a_typescript_service_file_asks_for_serverless_print(tmp_path: Path) -> None:
    file = _service(tmp_path, "export default { service: 'ts' };\n", name="serverless.ts")
    with pytest.raises(ConfigError, match=r"a program edgesim does not run: import the configuration the "
                                          r"Framework resolves from it, `serverless print > resolved.yml`"):
        _import(file.parent, tmp_path)


@pytest.mark.parametrize(("body", "message"), [
    ('{"service": "plain", "provider": {"name": "aws"}, "functions": {"api": {"handler": "src/edge.handler", '
     '"events": [{"http": "GET /"}]}}}',  # serverless.json
     r"no CloudFront distribution in this Serverless Framework service: no function has a cloudFront event "
     r"\(or lambdaAtEdge\), and resources.Resources has no AWS::CloudFront::Distribution \(functions: api\)"),
    ("service: s\nfunctions:\n  e:\n    handler: src/edge.handler\n    events:\n      - cloudFront: "
     "{eventType: viewer-request, origin: 'https://a.example.com', cachePolicy: {name: missing}}\n",
     r"functions.e.events\[0\].cloudFront.cachePolicy: the cache policy 'missing' is not in "
     r"provider.cloudFront.cachePolicies \(it has: none\)"),
    ("service: s\nfunctions:\n  e:\n    handler: src/edge.handler\n    lambdaAtEdge: "
     "{distribution: Site, eventType: viewer-request}\n",
     r"functions.e.lambdaAtEdge.distribution 'Site': no AWS::CloudFront::Distribution of that logical id"),
])
def test_a_service_without_a_distribution_is_an_error_naming_the_file(tmp_path: Path, body: str,
                                                                     message: str) -> None:
    file = _service(tmp_path, body, name="serverless.json" if body.startswith("{") else "serverless.yml")
    with pytest.raises(ConfigError, match=message) as raised:
        _import(file, tmp_path)
    assert str(file) in str(raised.value)


# --- end to end: the imported service serves ---------------------------------------------------------


class _Origin(OriginHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = {h: self.headers.get(h) for h in ("x-auth", "x-body-length", "x-origin-verify")}
        payload = json.dumps({"method": self.command, "path": self.path, "body": body.decode(), **seen}).encode()
        self.send(payload, "application/json", cache_control="max-age=30")

    do_GET = do_POST = _answer  # noqa: N815 - http.server's names


@pytest.fixture
def origin_port() -> Iterator[int]:
    with http_origin(_Origin) as port:
        yield port


async def test_an_imported_serverless_service_serves_through_edgesim(tmp_path: Path, origin_port: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's `${env:...}` variables point the API origin at a local server; the default
    behavior's viewer-request function answers /healthz at the edge; /api/* runs the Python
    origin-request function (with the body), the origin-response one and the named cache policy."""
    project = tmp_path / "service"
    shutil.copytree(SITE, project)
    monkeypatch.setenv("EDGE_SITE_API_HOST", "127.0.0.1")
    monkeypatch.setenv("EDGE_SITE_API_PORT", str(origin_port))
    monkeypatch.setenv("EDGE_SITE_API_PROTOCOL", "http-only")
    output = tmp_path / "edgesim.toml"
    result = CliRunner().invoke(main, ["import", str(project / "serverless.yml"), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert f"${{env:EDGE_SITE_API_PORT}} taken from the environment ('{origin_port}')" in result.stderr
    checked = CliRunner().invoke(main, ["check", "--config", str(output)])
    assert checked.exit_code == 0, checked.output

    async with Distribution(output) as dist, dist.client() as client:
        health = await client.get("https://edge.test/healthz")
        refused = await client.get("https://edge.test/api/items")
        first = await client.get("https://edge.test/api/items", headers={"Authorization": "Bearer t"})
        again = await client.get("https://edge.test/api/items", headers={"Authorization": "Bearer t"})
        posted = await client.post("https://edge.test/api/items", headers={"Authorization": "Bearer t"},
                                   content=b'{"name": "edge"}')
    assert (health.status_code, health.text) == (200, "ok from the edge")
    assert (refused.status_code, refused.text) == (401, "no token")
    assert first.status_code == 200
    assert first.json() == {"method": "GET", "path": "/v1/api/items", "body": "", "x-auth": "checked",
                            "x-body-length": None, "x-origin-verify": "from-cloudfront-dev"}
    assert first.headers["x-served-by"] == "edge" and first.headers["x-cache"] == "Miss from cloudfront"
    assert again.headers["x-cache"] == "Hit from cloudfront"
    # includeBody: the origin-request function saw the body CloudFront passes it.
    assert posted.json()["x-body-length"] == "16" and posted.json()["body"] == '{"name": "edge"}'


def test_a_prebuilt_package_artifact_is_where_the_code_is_when_the_source_is_not_there(tmp_path: Path) -> None:
    """`package.artifact` (the function's, else the service's) deploys instead of the project's zip:
    with no handler file in the project the import says to unzip it (or fetch it from S3); with the
    source there, the source runs and a note says the artifact is what deploys."""
    file = _service(tmp_path, """\
        service: built
        provider: {name: aws, runtime: nodejs20.x}
        package: {artifact: dist/service.zip}
        functions:
          edge:
            handler: bundle/edge.handler
            events:
              - cloudFront: {eventType: viewer-request, origin: 'https://www.example.com'}
          other:
            handler: bundle/other.handler
            package: {artifact: 's3://builds/other.zip'}
            events:
              - cloudFront: {eventType: viewer-response, origin: 'https://www.example.com'}
          source:
            handler: src/edge.handler
            events:
              - cloudFront: {eventType: origin-request, origin: 'https://www.example.com'}
        """)
    toml, notes, _ = _import(file, tmp_path)
    assert any("its code is the zip ../project/dist/service.zip (package.artifact dist/service.zip)" in n for n in notes)
    assert any("a zip in S3 (package.artifact s3://builds/other.zip" in n for n in notes)
    assert any("functions.source: package.artifact dist/service.zip is what deploys; edgesim runs the source "
               "src/edge in the project's folder" in n for n in notes)
    # The two built functions are placeholders (the config would not load yet); the source one is not.
    assert toml.count("PLACEHOLDER") == 2 and "project/src/edge.js" in toml


def test_an_event_type_that_is_not_a_string_is_said_not_a_traceback(tmp_path: Path) -> None:
    # `eventType: [origin-request]` (a YAML list by mistake): before, a TypeError traceback (unhashable
    # list); now the association is left out with a note naming the value.
    site = tmp_path / "site"
    shutil.copytree(SITE, site)
    text = (site / "serverless.yml").read_text()
    first = text.index("eventType:")
    line_end = text.index("\n", first)
    value = text[first + len("eventType:"):line_end].strip()
    (site / "serverless.yml").write_text(f"{text[:first]}eventType: [{value}]{text[line_end:]}")
    _, notes, _ = _import(site / "serverless.yml", tmp_path)
    assert any("function association with event type" in n and "left out" in n for n in notes)
