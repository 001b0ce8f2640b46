"""`edgesim import`: real CloudFront distribution definitions in, configs edgesim loads out.

The fixtures under tests/fixtures/import/ are built from the fields the CloudFront API reference
(DistributionConfig, GetDistributionConfig) and the CloudFormation AWS::CloudFront::* reference and
template snippets document: the AWS CLI's get-distribution-config and get-distribution output, a
YAML template with short-form tags and the template's own policies and functions, a JSON template
with two distributions in CloudFormation's string-typed style, and a CDK-synthesized template.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.config import CloudFrontFunctionAssociation, CustomOrigin, DistributionConfig, load_config
from edgesim.config_import import import_file
from edgesim.errors import ConfigError
from edgesim.messages import EventType
from edgesim.testing import Distribution
from import_support import OriginHandler, http_origin

FIXTURES = Path(__file__).parent / "fixtures" / "import"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["import", *args])
    return result.exit_code, result.stdout, result.stderr


def write(result_toml: str, path: Path) -> DistributionConfig:
    path.write_text(result_toml)
    return load_config(path)


# --- the AWS CLI's shapes -------------------------------------------------------------------------


@pytest.fixture
def functions(tmp_path: Path) -> Path:
    """The project's function code, as a team that already has it keeps it."""
    folder = tmp_path / "functions"
    (folder / "auth-check").mkdir(parents=True)
    (folder / "add-index.js").write_text("function handler(event) { return event.request; }\n")
    (folder / "auth-check" / "index.js").write_text("exports.handler = async (event) => event.Records[0].cf.request;\n")
    return folder


def test_get_distribution_config_output_maps_what_edgesim_models(tmp_path: Path, functions: Path) -> None:
    output = tmp_path / "edgesim.toml"
    result = import_file(FIXTURES / "get-distribution-config.json", output=output, functions_dir=functions)
    assert result.shape == "get-distribution-config output" and result.missing == [] and result.to_write == []
    config = write(result.toml, output)

    assert config.distribution.default_root_object == "index.html"
    bucket, api = config.origins
    assert isinstance(bucket, CustomOrigin) and bucket.url == "https://example-site-assets.s3.us-east-1.amazonaws.com"
    assert isinstance(api, CustomOrigin) and api.url == "https://api.example.com:8443/v2"
    assert api.custom_headers == {"X-Origin-Secret": "s3cr3t-value"}
    assert (api.connect_timeout, api.connection_attempts, api.read_timeout, api.keepalive_timeout) == (5, 2, 45, 10)
    group, = config.origin_groups
    assert (group.id, group.primary, group.secondary, group.failover_status_codes) == \
        ("api-failover", "api", "site-bucket", (502, 503, 504))

    default = config.default_cache_behavior
    assert (default.target_origin, default.viewer_protocol_policy, default.compress) == \
        ("site-bucket", "redirect-to-https", True)
    assert default.cache_policy.name == "CachingOptimized"
    assert default.response_headers_policy is not None and default.response_headers_policy.name == "SecurityHeadersPolicy"
    add_index = default.functions[EventType.VIEWER_REQUEST]
    assert isinstance(add_index, CloudFrontFunctionAssociation)
    assert add_index.cloudfront_function == functions / "add-index.js" and add_index.runtime == "cloudfront-js-2.0"

    api_behavior, legacy, private, live = config.cache_behaviors
    assert (api_behavior.path_pattern, api_behavior.target_origin) == ("/api/*", "api-failover")
    assert set(api_behavior.allowed_methods) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert api_behavior.cache_policy.name == "CachingDisabled"
    assert api_behavior.origin_request_policy is not None
    assert api_behavior.origin_request_policy.name == "AllViewerExceptHostHeader"
    auth = api_behavior.functions[EventType.ORIGIN_REQUEST]
    assert auth.kind == "lambda" and auth.path == functions / "auth-check" / "index.js"  # type: ignore[union-attr]
    assert auth.include_body is True  # type: ignore[union-attr]

    # ForwardedValues + TTLs -> the equal inline cache policy; legacy compression is gzip only.
    policy = legacy.cache_policy
    assert (policy.min_ttl, policy.default_ttl, policy.max_ttl) == (0, 3600, 86400)
    assert (policy.query_strings.behavior, policy.query_strings.items) == ("whitelist", ("v",))
    assert (policy.cookies.behavior, policy.cookies.items) == ("whitelist", ("session",))
    assert (policy.headers.behavior, policy.headers.items) == ("whitelist", ("Accept-Language",))
    assert policy.enable_accept_encoding_gzip and not policy.enable_accept_encoding_brotli
    # Forwarding every header ("*") caches nothing on CloudFront.
    assert live.cache_policy.caching_disabled
    assert live.origin_request_policy is not None and live.origin_request_policy.header_behavior == "allViewer"

    assert private.cache_policy.name == "CachingOptimized"  # the placeholder for an unknown policy id
    assert private.trusted_key_groups == ()  # commented out: edgesim needs the keys' PEM files

    not_found, unavailable = config.custom_error_responses
    assert (not_found.error_code, not_found.response_code, not_found.response_page_path,
            not_found.error_caching_min_ttl) == (404, 404, "/errors/404.html", 60)
    assert (unavailable.error_code, unavailable.response_code, unavailable.error_caching_min_ttl) == (503, None, 5)


def test_what_edgesim_does_not_model_becomes_notes_and_header_comments(tmp_path: Path, functions: Path) -> None:
    result = import_file(FIXTURES / "get-distribution-config.json", output=tmp_path / "edgesim.toml",
                         functions_dir=functions)
    notes = "\n".join(result.notes)
    for expected in ("DistributionConfig.Logging", "DistributionConfig.PriceClass", "DistributionConfig.ViewerCertificate",
                     "DistributionConfig.HttpVersion", "DistributionConfig.IsIPV6Enabled", "origin api.OriginShield",
                     "Aliases ['www.example.com', 'example.com']", "cache_behaviors[3].RealtimeLogConfigArn",
                     "cache policy 0f1b2c3d-4e5f-4a6b-8c7d-EXAMPLE22222 is neither a managed policy",
                     "trusted key groups ['2d8b5b0e-6a41-4fd0-9e62-EXAMPLE11111']",
                     "origin site-bucket: an S3 bucket", 'directory = "path/to/files"',
                     "runtime cloudfront-js-2.0 assumed", "forward all headers"):
        assert expected in notes, expected
    # Empty settings ({"Quantity": 0}, "", false) are not noise.
    assert "WebACLId" not in notes and "SmoothStreaming" not in notes and "FieldLevelEncryptionId" not in notes
    assert "GeoRestriction" not in notes  # mapped
    header = result.toml.split("\n[", 1)[0]
    assert "# not simulated: DistributionConfig.PriceClass" in header
    assert 'cache_policy = "CachingOptimized"  # PLACEHOLDER for cache policy 0f1b2c3d' in result.toml
    assert '# trusted_key_groups = ["2d8b5b0e-6a41-4fd0-9e62-EXAMPLE11111"]' in result.toml


def test_geo_restriction_is_mapped_from_either_form(tmp_path: Path, functions: Path) -> None:
    output = tmp_path / "edgesim.toml"
    api = import_file(FIXTURES / "get-distribution-config.json", output=output, functions_dir=functions)
    geo = write(api.toml, output).geo_restriction  # {"RestrictionType", "Quantity", "Items"}
    assert (geo.restriction_type, geo.locations) == ("whitelist", ("US", "CA"))
    template = import_file(FIXTURES / "cloudformation-two-distributions.json", output=output, functions_dir=functions,
                           resource="WebsiteDistribution")
    geo = write(template.toml, output).geo_restriction  # {"RestrictionType", "Locations"}
    assert (geo.restriction_type, geo.locations) == ("whitelist", ("AQ", "CV"))


def test_a_bare_distribution_config_imports_as_the_cli_output_does(tmp_path: Path, functions: Path) -> None:
    bare = tmp_path / "config.json"
    bare.write_text(json.dumps(json.loads((FIXTURES / "get-distribution-config.json").read_text())["DistributionConfig"]))
    wrapped = import_file(FIXTURES / "get-distribution-config.json", output=tmp_path / "a.toml", functions_dir=functions)
    plain = import_file(bare, output=tmp_path / "b.toml", functions_dir=functions)
    assert plain.shape == "DistributionConfig"
    assert plain.toml.split("\n[", 1)[1] == wrapped.toml.split("\n[", 1)[1]


def test_get_distribution_output_gives_the_distributions_id_and_domain(tmp_path: Path) -> None:
    output = tmp_path / "edgesim.toml"
    result = import_file(FIXTURES / "get-distribution.json", output=output, functions_dir=tmp_path / "functions")
    config = write(result.toml, output)
    assert (config.distribution.id, config.distribution.domain_name) == ("E1U5RQF7T870K0", "d1abcdef8example.cloudfront.net")
    origin, = config.origins
    assert isinstance(origin, CustomOrigin) and origin.url == "http://app.example.net:8080"
    assert config.default_cache_behavior.cache_policy.name == "CachingDisabled"
    assert "the distribution is disabled on CloudFront" in "\n".join(result.notes)
    assert not any("Logging" in note for note in result.notes)  # {"Enabled": false, "Bucket": ""...} is off


def test_missing_function_files_are_named_and_the_config_still_parses(tmp_path: Path) -> None:
    output = tmp_path / "edgesim.toml"
    result = import_file(FIXTURES / "get-distribution-config.json", output=output, functions_dir=tmp_path / "functions")
    assert result.missing == [tmp_path / "functions" / "add-index.js", tmp_path / "functions" / "auth-check" / "index.js"]
    notes = "\n".join(result.notes)
    assert "create functions/add-index.js (`aws cloudfront get-function --name add-index" in notes
    assert "arn:aws:lambda:us-east-1:111122223333:function:auth-check:4 --query Code.Location" in notes
    output.write_text(result.toml)
    with pytest.raises(ConfigError) as caught:
        load_config(output)
    assert all("file not found" in problem for problem in caught.value.problems)  # nothing else is wrong


def test_a_lambda_handler_is_found_where_the_lambda_console_puts_it(tmp_path: Path) -> None:
    folder = tmp_path / "functions"
    (folder / "auth-check").mkdir(parents=True)
    (folder / "auth-check" / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return None\n")
    output = tmp_path / "edgesim.toml"
    result = import_file(FIXTURES / "get-distribution-config.json", output=output, functions_dir=folder)
    assert 'lambda = "functions/auth-check/lambda_function.py:lambda_handler"' in result.toml
    assert result.missing == [folder / "add-index.js"]


# --- CloudFormation and CDK -----------------------------------------------------------------------


def test_a_yaml_template_with_short_form_tags_brings_its_policies_and_functions(tmp_path: Path) -> None:
    output = tmp_path / "edgesim.toml"
    folder = tmp_path / "functions"
    result = import_file(FIXTURES / "cloudformation.yaml", output=output, functions_dir=folder)
    assert result.shape == "CloudFormation resource Distribution" and result.missing == []
    written = {f.path: f.code for f in result.to_write}
    assert set(written) == {folder / "rewrite-index.js", folder / "edge-auth" / "index.py"}
    assert "request.uri += 'index.html'" in written[folder / "rewrite-index.js"]
    for path, code in written.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    config = write(result.toml, output)

    site, api = config.origins
    assert isinstance(site, CustomOrigin) and site.url == "https://example-site-content.s3.amazonaws.com"
    assert isinstance(api, CustomOrigin) and api.url == "https://api.invalid/prod" and api.read_timeout == 60
    rewrite = config.default_cache_behavior.functions[EventType.VIEWER_REQUEST]
    assert isinstance(rewrite, CloudFrontFunctionAssociation) and rewrite.runtime == "cloudfront-js-1.0"

    behavior, = config.cache_behaviors
    cache = behavior.cache_policy
    assert (cache.name, cache.min_ttl, cache.default_ttl, cache.max_ttl) == ("api-short-cache", 0, 60, 300)
    assert cache.headers.items == ("Authorization",) and cache.query_strings.items == ("page", "limit")
    assert cache.enable_accept_encoding_gzip and not cache.enable_accept_encoding_brotli
    forward = behavior.origin_request_policy
    assert forward is not None and (forward.name, forward.header_behavior, forward.cookies.behavior) == \
        ("api-forward", "whitelist", "all")
    headers = behavior.response_headers_policy
    assert headers is not None and headers.cors is not None and headers.security_headers is not None
    assert headers.cors.allow_origins == ("https://www.example.com",) and headers.cors.max_age_sec == 600
    assert headers.security_headers.strict_transport_security == "max-age=63072000; includeSubDomains; preload"
    assert headers.security_headers.frame_options == "DENY"
    assert [(h.header, h.value) for h in headers.custom_headers] == [("X-Served-By", "edge")]
    assert headers.remove_headers == ("X-Powered-By",)
    auth = behavior.functions[EventType.ORIGIN_REQUEST]
    assert auth.kind == "lambda" and auth.runtime == "python3.12"  # type: ignore[union-attr]
    assert (auth.path, auth.function) == (folder / "edge-auth" / "index.py", "handler")  # type: ignore[union-attr]

    notes = "\n".join(result.notes)
    assert "DomainName !ImportValue shared-api-domain cannot be evaluated here" in notes
    assert "url = \"https://api.invalid/prod\"  # PLACEHOLDER" in result.toml
    assert "DistributionConfig.WebACLId = !GetAtt SiteWebAcl.Arn" in notes
    assert "Aliases ['www.example.com']" in notes  # the parameter's Default, said as one
    assert 'parameter DomainAlias: its Default "www.example.com" is used' in notes
    assert "distribution comment: my-stack site" in notes  # AWS::StackName's placeholder, said:
    assert "AWS::StackName is the stack's name, known at deploy: 'my-stack' stands in for it" in notes


def test_a_template_with_several_distributions_needs_resource(tmp_path: Path) -> None:
    template = FIXTURES / "cloudformation-two-distributions.json"
    with pytest.raises(ConfigError, match=r"has 2 distributions \(WebsiteDistribution, DownloadsDistribution\); "
                                          r"choose one with --resource"):
        import_file(template, output=tmp_path / "edgesim.toml", functions_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"--resource Nope: .* the template has WebsiteDistribution, DownloadsDistribution"):
        import_file(template, output=tmp_path / "edgesim.toml", functions_dir=tmp_path, resource="Nope")

    output = tmp_path / "edgesim.toml"
    result = import_file(template, output=output, functions_dir=tmp_path, resource="WebsiteDistribution")
    config = write(result.toml, output)
    origin, = config.origins  # "80" and "http-only", as CloudFormation's snippets write them
    assert isinstance(origin, CustomOrigin) and origin.url == "http://www.example.com"
    policy = config.default_cache_behavior.cache_policy  # legacy: all cookies, no query string
    assert policy.cookies.behavior == "all" and policy.query_strings.behavior == "none"
    error, = config.custom_error_responses
    assert (error.error_code, error.response_code, error.error_caching_min_ttl) == (404, 200, 30)

    downloads = import_file(template, output=output, functions_dir=tmp_path, resource="DownloadsDistribution")
    policy = write(downloads.toml, output).default_cache_behavior.cache_policy
    assert (policy.min_ttl, policy.default_ttl, policy.max_ttl) == (60, 600, 3600)
    assert "default_cache_behavior.TrustedSigners" in "\n".join(downloads.notes)


def test_a_cdk_synthesized_template_is_a_template(tmp_path: Path) -> None:
    output = tmp_path / "edgesim.toml"
    result = import_file(FIXTURES / "cdk-synth.template.json", output=output, functions_dir=tmp_path / "functions")
    function, = result.to_write  # its name is a Fn::Join on the region: the logical id names the file
    assert function.path == tmp_path / "functions" / "HeadersFunction9A5B2E3C.js"
    function.path.parent.mkdir()
    function.path.write_text(function.code)
    config = write(result.toml, output)
    assert config.default_cache_behavior.functions[EventType.VIEWER_RESPONSE].name == "HeadersFunction9A5B2E3C"
    assert "which CloudFormation names at deploy" in "\n".join(result.notes)


@pytest.mark.parametrize(("fixture", "resource"), [
    ("get-distribution-config.json", None), ("get-distribution.json", None), ("cloudformation.yaml", None),
    ("cloudformation-two-distributions.json", "WebsiteDistribution"),
    ("cloudformation-two-distributions.json", "DownloadsDistribution"), ("cdk-synth.template.json", None),
    ("parameters-and-conditions.yaml", None), ("expressions-and-cfn-spellings.yaml", None),
    ("s3-read-timeout-and-mixed-legacy.json", None), ("terraform/site", None), ("terraform/site/show-state.json", None),
])
def test_every_imported_config_passes_the_editors_schema(tmp_path: Path, fixture: str, resource: str | None) -> None:
    import jsonschema

    from edgesim.config_schema import config_schema

    result = import_file(FIXTURES / fixture, output=tmp_path / "edgesim.toml", functions_dir=tmp_path, resource=resource)
    validator = jsonschema.Draft202012Validator(config_schema())
    assert [e.message for e in validator.iter_errors(tomllib.loads(result.toml))] == []


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "message"), [
    ("dist.json", '{"DistributionConfig": ', r"dist\.json: not JSON \(line 1, column 24"),
    ("template.yaml", "Resources: [unclosed\n", r"template\.yaml: not YAML \(line 2"),
    ("dist.txt", "{[", r"dist\.txt: not JSON .*, and not YAML"),
    ("other.json", '{"Buckets": []}', r"other\.json: no CloudFront distribution found: .* top-level keys are \['Buckets'\]"),
    ("stack.yaml", "Resources:\n  B:\n    Type: AWS::S3::Bucket\n",
     r"stack\.yaml: no AWS::CloudFront::Distribution resource .* AWS::S3::Bucket"),
])
def test_bad_input_is_named_with_what_is_wrong(tmp_path: Path, name: str, content: str, message: str) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(ConfigError, match=message):
        import_file(tmp_path / name, output=tmp_path / "edgesim.toml", functions_dir=tmp_path)


def test_every_short_form_tag_loads_and_literal_joins_are_evaluated(tmp_path: Path) -> None:
    template = tmp_path / "stack.yaml"
    template.write_text("""\
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Site:
    Type: AWS::CloudFront::Distribution
    Condition: IsProd
    Properties:
      DistributionConfig:
        Enabled: !If [IsProd, true, false]
        Comment: !Join ["-", [!Select [0, !Split [",", "a,b"]], !FindInMap [Names, !Ref Stage, site]]]
        Origins:
          - Id: app
            DomainName: !Join [".", [app, example, com]]
            OriginPath: !Sub /v1
            CustomOriginConfig: {OriginProtocolPolicy: https-only}
            OriginCustomHeaders: !Base64 secret
        DefaultCacheBehavior:
          TargetOriginId: app
          ViewerProtocolPolicy: !Sub redirect-to-https
          CachePolicyId: !ImportValue shared-cache-policy
""")
    output = tmp_path / "edgesim.toml"
    result = import_file(template, output=output, functions_dir=tmp_path)
    config = write(result.toml, output)
    origin, = config.origins
    assert isinstance(origin, CustomOrigin) and origin.url == "https://app.example.com/v1"
    assert config.default_cache_behavior.viewer_protocol_policy == "redirect-to-https"
    assert config.default_cache_behavior.cache_policy.name == "CachingOptimized"  # the placeholder
    notes = "\n".join(result.notes)
    assert "cache policy !ImportValue shared-cache-policy is neither a managed policy" in notes
    assert "distribution comment: !Join" in notes
    assert "origin app.OriginCustomHeaders = !Base64 secret" in notes


def test_parameters_defaults_conditions_and_mappings_decide_what_is_imported(tmp_path: Path) -> None:
    """Public templates write a distribution through Parameters, Conditions, Mappings and
    AWS::NoValue: what the template decides is imported, and each Default it relied on is said."""
    output = tmp_path / "edgesim.toml"
    result = import_file(FIXTURES / "parameters-and-conditions.yaml", output=output, functions_dir=tmp_path)
    config = write(result.toml, output)
    origins = {o.id: o for o in config.origins}
    assert set(origins) == {"assets", "api"}  # ApiInProd is false at the defaults: no prod-only origin
    assets = origins["assets"]
    # the bucket's !Sub name from the Stage default, AWS::URLSuffix, and OriginPath from its Default
    assert isinstance(assets, CustomOrigin) and assets.url == "https://assets-staging.s3.amazonaws.com/current"
    assert isinstance(origins["api"], CustomOrigin) and origins["api"].url == "https://api.example.net"
    behavior, = config.cache_behaviors  # the !If list with its condition true
    assert behavior.path_pattern == "/api/*" and behavior.target_origin == "api"
    assert behavior.compress is False  # ByPipeline depends on a parameter without Default: its true branch
    error, = config.custom_error_responses
    assert error.response_page_path == "/staging-error.html"  # !FindInMap on the Stage default
    notes = "\n".join(result.notes)
    assert 'parameter ContentPrefix: its Default "/current" is used' in notes
    assert "Aliases ['a.example.net', 'b.example.net']" in notes  # a CommaDelimitedList's Default
    assert "distribution comment: site (staging)" in notes
    assert "WebACLId" not in notes  # !If to AWS::NoValue: no web ACL
    assert "condition ByPipeline depends on the deployment; where the distribution uses it (Fn::If), " \
           "its true branch was imported" in notes
    assert not [line for line in result.toml.splitlines() if "Fn::" in line and not line.startswith("#")]


def test_expression_ids_cloudformation_spellings_and_lone_objects_import(tmp_path: Path) -> None:
    """Shapes seen in Serverless Framework and CDK v1 templates, each of which used to give a config
    edgesim refuses or to lose a setting silently."""
    output = tmp_path / "edgesim.toml"
    folder = tmp_path / "functions"
    result = import_file(FIXTURES / "expressions-and-cfn-spellings.yaml", output=output, functions_dir=folder)
    for function in result.to_write:
        function.path.parent.mkdir(parents=True, exist_ok=True)
        function.path.write_text(function.code)
    config = write(result.toml, output)
    files, app = config.origins
    # an Id written as !Sub keeps its text, which the behavior's identical TargetOriginId finds
    assert files.id == config.default_cache_behavior.target_origin == "files-${Files}"
    # a Serverless `${sls:stage}` bucket name is no host: the guess for an unnamed bucket, not a broken url
    assert isinstance(files, CustomOrigin) and files.url == "https://files.s3.amazonaws.com"
    assert isinstance(app, CustomOrigin) and app.custom_headers == {"X-From-Edge": "1"}  # OriginCustomHeaders
    error, = config.custom_error_responses  # one object where a list belongs
    assert (error.error_code, error.response_code, error.response_page_path) == (403, 200, "/index.html")
    # CDK's Join of the function's Arn and ":$LATEST" names the template's function and its code
    assert [f.path for f in result.to_write] == [folder / "EdgeAuth" / "index.js"]
    notes = "\n".join(result.notes)
    assert "the id !Sub files-${Files} cannot be evaluated here" in notes
    assert "bucket Files, whose BucketName \"files-${sls:stage}\" is evaluated at deploy: " \
           "files.s3.amazonaws.com is a guess" in notes
    assert "OriginCustomHeaders" not in notes


def test_a_missing_target_origin_is_the_only_origin_or_an_error(tmp_path: Path) -> None:
    template = tmp_path / "stack.yaml"
    body = """\
Resources:
  Site:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Origins:
          - {Id: one, DomainName: one.example.com, CustomOriginConfig: {OriginProtocolPolicy: https-only}}
%s        DefaultCacheBehavior:
          ViewerProtocolPolicy: allow-all
"""
    template.write_text(body % "")
    output = tmp_path / "edgesim.toml"
    result = import_file(template, output=output, functions_dir=tmp_path)
    assert write(result.toml, output).default_cache_behavior.target_origin == "one"
    assert "TargetOriginId is missing (CloudFront requires it); the only origin, one, was taken" in result.notes[-1]
    template.write_text(body % "          - {Id: two, DomainName: two.example.com, S3OriginConfig: {}}\n")
    with pytest.raises(ConfigError, match="TargetOriginId is missing .* has 2 origins \\(one, two\\)"):
        import_file(template, output=output, functions_dir=tmp_path)


def test_an_s3_origins_read_timeout_and_legacy_settings_beside_a_cache_policy_are_not_lost(tmp_path: Path) -> None:
    """Seen in a real get-distribution-config dump: the S3 read timeout lives in S3OriginConfig,
    and ForwardedValues / TTLs written beside a CachePolicyId (which CloudFront refuses)."""
    output = tmp_path / "edgesim.toml"
    result = import_file(FIXTURES / "s3-read-timeout-and-mixed-legacy.json", output=output, functions_dir=tmp_path)
    config = write(result.toml, output)
    origin, = config.origins
    assert isinstance(origin, CustomOrigin) and origin.read_timeout == 45
    assert config.default_cache_behavior.cache_policy.name == "CachingOptimized"
    notes = "\n".join(result.notes)
    assert "legacy ForwardedValues, MinTTL, DefaultTTL, MaxTTL ignored: the behavior has a cache policy" in notes
    assert 'origin site-bucket.S3OriginConfig.FutureSetting = "x"' in notes


def test_a_sam_functions_version_names_the_function(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("""\
Transform: AWS::Serverless-2016-10-31
Resources:
  EdgeHeaders:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: app.handler
      AutoPublishAlias: live
      InlineCode: "exports.handler = async (event) => event.Records[0].cf.response;"
  Site:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Origins: [{Id: app, DomainName: app.example.com, CustomOriginConfig: {OriginProtocolPolicy: https-only}}]
        DefaultCacheBehavior:
          TargetOriginId: app
          ViewerProtocolPolicy: allow-all
          LambdaFunctionAssociations:
            - {EventType: origin-response, LambdaFunctionARN: !Ref EdgeHeaders.Version}
""")
    result = import_file(template, output=tmp_path / "edgesim.toml", functions_dir=tmp_path / "functions")
    function, = result.to_write
    assert function.path == tmp_path / "functions" / "EdgeHeaders" / "app.js"
    # No Timeout / MemorySize: Lambda's own 3 s / 128 MB, which CloudFront runs it with, not the trigger's 30 s.
    assert ('functions.origin-response = { lambda = "functions/EdgeHeaders/app.js:handler", runtime = "nodejs20.x", '
            "timeout = 3, memory = 128, name = \"EdgeHeaders\" }  # timeout 3 s / memory 128 MB: Lambda's default, not set on EdgeHeaders") \
        in result.toml


def test_match_viewer_and_a_raised_timeout_are_said(tmp_path: Path) -> None:
    source = tmp_path / "dist.json"
    source.write_text(json.dumps({
        "Origins": [{"Id": "app", "DomainName": "app.example.com", "ConnectionTimeout": 10,
                     "CustomOriginConfig": {"OriginProtocolPolicy": "match-viewer", "HTTPSPort": 443,
                                            "OriginReadTimeout": 180}}],
        "DefaultCacheBehavior": {"TargetOriginId": "app", "ViewerProtocolPolicy": "allow-all"}}))
    output = tmp_path / "edgesim.toml"
    result = import_file(source, output=output, functions_dir=tmp_path)
    origin, = write(result.toml, output).origins
    assert isinstance(origin, CustomOrigin) and origin.url == "https://app.example.com" and origin.read_timeout == 120
    notes = "\n".join(result.notes)
    assert "origin app: OriginProtocolPolicy match-viewer; edgesim sends every request over https" in notes
    assert "origin app: read_timeout 180 is outside edgesim's 1-120; set to 120" in notes


def test_an_input_cloudfront_would_refuse_is_an_error_not_a_broken_config(tmp_path: Path) -> None:
    source = tmp_path / "dist.json"
    source.write_text(json.dumps({"Origins": {"Quantity": 1, "Items": [{"Id": "a", "DomainName": "a.example.com"}]},
                                  "DefaultCacheBehavior": {"TargetOriginId": "b", "ViewerProtocolPolicy": "allow-all"}}))
    with pytest.raises(ConfigError) as caught:
        import_file(source, output=tmp_path / "edgesim.toml", functions_dir=tmp_path)
    assert caught.value.problems[0] == "the imported config would not load:"
    assert "default_cache_behavior.target_origin: unknown origin id 'b'; known: ['a']" in caught.value.problems[1]


# --- the command ----------------------------------------------------------------------------------


def test_the_command_writes_the_config_and_the_templates_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(str(FIXTURES / "cloudformation.yaml"))
    assert code == 0, err
    assert "note: not simulated: DistributionConfig.PriceClass" in err
    assert "wrote functions/rewrite-index.js (the template's code)" in out
    assert (tmp_path / "functions" / "edge-auth" / "index.py").is_file()
    check = CliRunner().invoke(main, ["check"])
    assert check.exit_code == 0, check.output
    assert "2 behaviors, 2 origins, 2 function associations" in check.output

    code, _, err = run(str(FIXTURES / "cloudformation.yaml"))
    assert code == 1 and "edgesim.toml exists; choose another --output or add --force" in err
    assert run(str(FIXTURES / "cloudformation.yaml"), "--force")[0] == 0


def test_the_command_says_which_function_files_to_create(tmp_path: Path) -> None:
    output = tmp_path / "site" / "edgesim.toml"
    code, out, err = run(str(FIXTURES / "get-distribution-config.json"), "-o", str(output),
                         "--functions", str(tmp_path / "code"))
    assert code == 0, err
    assert "create these function files before serving" in out and str(tmp_path / "code" / "add-index.js") in out
    assert 'cloudfront_function = "../code/add-index.js"' in output.read_text()
    code, _, err = run(str(FIXTURES / "cloudformation-two-distributions.json"), "-o", str(tmp_path / "x.toml"))
    assert code == 1 and err.startswith(f"error: {FIXTURES / 'cloudformation-two-distributions.json'}: the template has 2")


# --- end to end: an imported distribution serves -------------------------------------------------


class _Origin(OriginHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = f"origin saw {self.path} x-edge={self.headers.get('x-edge')}".encode()
        self.send(body, "text/plain", cache_control="max-age=60")


@pytest.fixture
def origin_port() -> Iterator[int]:
    with http_origin(_Origin) as port:
        yield port


async def test_an_imported_distribution_serves_through_edgesim(tmp_path: Path, origin_port: int) -> None:
    template = {"Resources": {
        "AddHeader": {"Type": "AWS::CloudFront::Function", "Properties": {
            "Name": "add-header", "FunctionConfig": {"Runtime": "cloudfront-js-2.0"},
            "FunctionCode": "function handler(event) {\n  event.request.headers['x-edge'] = {value: 'yes'};\n"
                            "  return event.request;\n}\n"}},
        "Site": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {
            "Enabled": True,
            "Origins": [{"Id": "local", "DomainName": "127.0.0.1", "OriginPath": "/app",
                         "CustomOriginConfig": {"HTTPPort": origin_port, "OriginProtocolPolicy": "http-only"}}],
            "DefaultCacheBehavior": {
                "TargetOriginId": "local", "ViewerProtocolPolicy": "allow-all",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                "OriginRequestPolicyId": "216adef6-5c7f-47e4-b989-5492eafa07d3",  # AllViewer: x-edge goes on
                "FunctionAssociations": [{"EventType": "viewer-request",
                                          "FunctionARN": {"Fn::GetAtt": ["AddHeader", "FunctionARN"]}}]}}}}}}
    source = tmp_path / "template.json"
    source.write_text(json.dumps(template))
    output = tmp_path / "edgesim.toml"
    result = CliRunner().invoke(main, ["import", str(source), "-o", str(output)])
    assert result.exit_code == 0, result.output

    async with Distribution(output) as dist, dist.client() as client:
        first = await client.get("/hello.txt")
        again = await client.get("/hello.txt")
    assert first.status_code == 200
    assert first.text == "origin saw /app/hello.txt x-edge=yes"
    assert first.headers["x-cache"] == "Miss from cloudfront"
    assert again.headers["x-cache"] == "Hit from cloudfront"


def test_the_imported_config_names_its_schema_for_editors(tmp_path: Path) -> None:
    """As `edgesim init` does: the schema beside the config and a `#:schema` first line; a file of
    that name that is not edgesim's schema is kept, and then the config names none."""
    import json
    import tomllib

    import jsonschema

    output = tmp_path / "a" / "edgesim.toml"
    assert run(str(FIXTURES / "get-distribution-config.json"), "-o", str(output))[0] == 0
    text = output.read_text()
    assert text.startswith("#:schema ./edgesim.schema.json\n")
    schema = json.loads((output.parent / "edgesim.schema.json").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(tomllib.loads(text))) == []

    theirs = tmp_path / "b" / "edgesim.schema.json"
    theirs.parent.mkdir()
    theirs.write_text('{"title": "not edgesim\'s"}')
    assert run(str(FIXTURES / "get-distribution-config.json"), "-o", str(theirs.parent / "edgesim.toml"))[0] == 0
    assert theirs.read_text() == '{"title": "not edgesim\'s"}'
    assert not (theirs.parent / "edgesim.toml").read_text().startswith("#:schema")


def test_a_parameter_default_baked_into_a_functions_inline_code_is_said(tmp_path: Path) -> None:
    # `FunctionCode: !Sub` with a parameter: the code is imported with the Default in it, and that is
    # said as for the distribution's own values (the stack may be deployed with another value);
    # `${!host}` stays JavaScript's own `${host}`.
    template = tmp_path / "t.yaml"
    template.write_text("""Parameters:
  Domain: {Type: String, Default: www.example.com}
Resources:
  Fn:
    Type: AWS::CloudFront::Function
    Properties:
      Name: redirect
      FunctionConfig: {Comment: r, Runtime: cloudfront-js-2.0}
      FunctionCode: !Sub |
        function handler(event) {
          var host = '${Domain}';
          return { statusCode: 301, statusDescription: 'Moved', headers: { location: { value: `https://${!host}/` } } };
        }
  Dist:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Origins: [{Id: o, DomainName: a.example.com, CustomOriginConfig: {OriginProtocolPolicy: https-only}}]
        DefaultCacheBehavior:
          TargetOriginId: o
          ViewerProtocolPolicy: allow-all
          CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6
          FunctionAssociations: [{EventType: viewer-request, FunctionARN: !GetAtt Fn.FunctionARN}]
""")
    result = import_file(template, output=tmp_path / "edgesim.toml", functions_dir=tmp_path / "functions")
    result.write(tmp_path / "edgesim.toml")
    code = (tmp_path / "functions" / "redirect.js").read_text()
    assert "var host = 'www.example.com';" in code and "`https://${host}/`" in code
    assert any("CloudFront Function redirect's code: parameter Domain: its Default \"www.example.com\" is used" in n
               for n in result.notes)


def test_a_distribution_its_condition_leaves_out_is_not_a_choice(tmp_path: Path) -> None:
    """A template with a distribution per environment, each under a `Condition:` on a parameter:
    the ones whose condition is false at the parameters' defaults are not created by the stack, so
    not among those to choose from (said); --resource may still name one, with a note."""
    template = tmp_path / "template.yaml"
    template.write_text('''
Parameters:
  TestDomain: {Type: String, AllowedValues: ["true", "false"], Default: "false"}
  Staging: {Type: String}
Conditions:
  CreateTestInfra: !Equals [!Ref TestDomain, "true"]
  CreateStaging: !Equals [!Ref Staging, "yes"]
Resources:
  Site:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Origins: [{Id: web, DomainName: www.example.com, CustomOriginConfig: {OriginProtocolPolicy: https-only}}]
        DefaultCacheBehavior: {TargetOriginId: web, ViewerProtocolPolicy: allow-all, CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6}
  TestSite:
    Condition: CreateTestInfra
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Origins: [{Id: test, DomainName: test.example.com, CustomOriginConfig: {OriginProtocolPolicy: https-only}}]
        DefaultCacheBehavior: {TargetOriginId: test, ViewerProtocolPolicy: allow-all, CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6}
''')
    output = tmp_path / "edgesim.toml"
    result = import_file(template, output=output, functions_dir=tmp_path)
    origin, = write(result.toml, output).origins
    assert origin.id == "web"
    assert any("TestSite: its Condition CreateTestInfra is false" in n for n in result.notes), result.notes

    chosen = import_file(template, output=output, functions_dir=tmp_path, resource="TestSite")
    origin, = write(chosen.toml, output).origins
    assert origin.id == "test"
    assert any("TestSite: its Condition CreateTestInfra is false" in n and "imported as --resource names it" in n
               for n in chosen.notes), chosen.notes

    # A condition the deployment decides (a parameter without Default) keeps the distribution a choice.
    template.write_text(template.read_text().replace("Condition: CreateTestInfra", "Condition: CreateStaging"))
    with pytest.raises(ConfigError, match=r"has 2 distributions \(Site, TestSite\)"):
        import_file(template, output=output, functions_dir=tmp_path)
