"""`edgesim import` of Terraform: `.tf` files (a file or a folder) and `terraform show -json` output.

tests/fixtures/import/terraform/site/ is a Terraform project as a team writes one, split over files:
an S3 origin and a custom origin, a CloudFront Function whose code is `file()`d from the project, a
Lambda@Edge function zipped by `data.archive_file`, a custom cache policy and response headers
policy, managed policies by data source, ordered behaviors (one with legacy forwarded_values), custom
error responses, a geographic restriction, and what edgesim does not simulate (aliases, the viewer
certificate, price class). Its show-state.json is that project's `terraform show -json` after apply.
Block and attribute names follow the AWS provider's docs (aws_cloudfront_distribution,
aws_cloudfront_cache_policy, aws_cloudfront_response_headers_policy, aws_cloudfront_function,
aws_lambda_function) and Terraform's JSON output format (values.root_module.resources[]).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.config import CloudFrontFunctionAssociation, CustomOrigin, LambdaFunctionAssociation, load_config
from edgesim.config_import import import_file
from edgesim.direct import run_cloudfront_function
from edgesim.errors import ConfigError
from edgesim.messages import EventType
from edgesim.testing import Distribution
from import_support import OriginHandler, http_origin, import_into as _import

SITE = Path(__file__).parent / "fixtures" / "import" / "terraform" / "site"


def test_a_terraform_project_folder_maps_what_edgesim_models(tmp_path: Path) -> None:
    toml, notes, output = _import(SITE, tmp_path)
    config = load_config(output)

    s3, api = config.origins
    assert isinstance(s3, CustomOrigin) and isinstance(api, CustomOrigin)
    # local.s3_origin_id = "s3-${var.environment}-site"; the bucket's name from its `bucket`.
    assert (s3.id, s3.url) == ("s3-prod-site", "https://example-prod-site.s3.amazonaws.com")
    assert (api.id, api.url) == ("api", "https://api.example.com/v1")
    assert api.custom_headers == {"X-Origin-Verify": "from-cloudfront-prod"} and api.read_timeout == 30

    default = config.default_cache_behavior
    assert default.target_origin == "s3-prod-site" and default.compress
    assert default.cache_policy.name == "CachingOptimized"  # data "aws_cloudfront_cache_policy" by name
    rewrite = default.functions[EventType.VIEWER_REQUEST]
    assert isinstance(rewrite, CloudFrontFunctionAssociation)
    # The project's own file, not a copy; the function keeps its Terraform name.
    assert rewrite.cloudfront_function == SITE.resolve() / "functions" / "rewrite.js"
    assert rewrite.name == "rewrite-prod" and rewrite.runtime == "cloudfront-js-2.0"

    api_behavior, legacy = config.cache_behaviors  # ordered as written
    assert (api_behavior.path_pattern, legacy.path_pattern) == ("/api/*", "/legacy/*")
    assert api_behavior.cache_policy.name == "api-prod" and api_behavior.cache_policy.default_ttl == 5
    assert api_behavior.cache_policy.headers.items == ("Authorization", "X-Api-Version") \
        or list(api_behavior.cache_policy.headers.items) == ["Authorization", "X-Api-Version"]
    assert api_behavior.origin_request_policy is not None
    assert api_behavior.origin_request_policy.name == "AllViewerExceptHostHeader"
    assert api_behavior.response_headers_policy is not None
    assert api_behavior.response_headers_policy.name == "security-prod"
    auth = api_behavior.functions[EventType.ORIGIN_REQUEST]
    assert isinstance(auth, LambdaFunctionAssociation)
    # data.archive_file's source_dir, with the function's handler and runtime.
    assert auth.path == SITE.resolve() / "lambda" / "auth" / "index.js" and auth.function == "handler"
    assert auth.runtime == "nodejs20.x"
    assert legacy.cache_policy.default_ttl == 300 and legacy.cache_policy.max_ttl == 3600

    assert [(e.error_code, e.response_page_path) for e in config.custom_error_responses] == \
        [(404, "/errors/404.html"), (503, None)]
    assert config.geo_restriction is not None and list(config.geo_restriction.locations) == ["KP", "IR"]
    assert config.distribution.default_root_object == "index.html"

    said = "\n".join(notes)
    assert 'variable environment: its default "prod" is used' in said
    assert "Aliases ['www.example.com']" in said and "PriceClass" in said and "ViewerCertificate" in said
    assert "${var.certificate_arn}" in said  # a variable without a default stays its expression
    assert "PLACEHOLDER" not in toml and "Terraform resource aws_cloudfront_distribution.site" in toml


def test_terraform_show_json_links_resolved_arns_back_to_the_resources(tmp_path: Path) -> None:
    """State JSON has ARNs and IDs, not references: the function, policy and Lambda behind each are
    found by them; the CloudFront Function's code is in the state, the Lambda's zip is traced to the
    archive_file that built it."""
    toml, notes, output = _import(SITE / "show-state.json", tmp_path)
    config = load_config(output)
    assert (config.distribution.id, config.distribution.domain_name) == ("E2QWRUHEXAMPLE",
                                                                         "d111111abcdef8.cloudfront.net")
    rewrite = config.default_cache_behavior.functions[EventType.VIEWER_REQUEST]
    assert isinstance(rewrite, CloudFrontFunctionAssociation)
    assert rewrite.cloudfront_function == output.parent / "functions" / "rewrite-prod.js"
    assert rewrite.cloudfront_function.read_text() == (SITE / "functions" / "rewrite.js").read_text()
    api_behavior, legacy = config.cache_behaviors
    assert api_behavior.cache_policy.name == "api-prod"  # the custom policy's ID, followed
    auth = api_behavior.functions[EventType.ORIGIN_REQUEST]
    assert isinstance(auth, LambdaFunctionAssociation)
    assert auth.path == SITE.resolve() / "lambda" / "auth" / "index.js"
    # show -json's unset values (0 TTLs beside a cache policy, response_code 0, "" ids) are not imported
    assert [(e.error_code, e.response_code) for e in config.custom_error_responses] == [(404, 404), (503, None)]
    assert not any("MinTTL" in n or "legacy" in n for n in notes)
    assert "HttpVersion" in "\n".join(notes) and "PLACEHOLDER" not in toml


def test_a_plans_unknown_arns_are_followed_through_its_configurations_references(tmp_path: Path) -> None:
    """`terraform show -json plan.out` before the first apply: an ARN is unknown (null, and absent
    from the function's own values); the plan's configuration says which resource it refers to."""
    state = json.loads((SITE / "show-state.json").read_text())
    resources = state["values"]["root_module"]["resources"]
    function = next(r for r in resources if r["type"] == "aws_cloudfront_function")
    del function["values"]["arn"]
    distribution = next(r for r in resources if r["type"] == "aws_cloudfront_distribution")
    distribution["values"]["default_cache_behavior"][0]["function_association"][0]["function_arn"] = None
    plan = {"format_version": "1.2", "terraform_version": "1.9.8", "planned_values": state["values"],
            "configuration": {"root_module": {"resources": [{
                "address": "aws_cloudfront_distribution.site", "mode": "managed",
                "type": "aws_cloudfront_distribution", "name": "site", "expressions": {
                    "default_cache_behavior": [{"function_association": [{
                        "event_type": {"constant_value": "viewer-request"},
                        "function_arn": {"references": ["aws_cloudfront_function.rewrite.arn",
                                                        "aws_cloudfront_function.rewrite"]}}]}]}}]}}}
    project = tmp_path / "infra"  # `terraform show -json` is run in the project: its paths are relative to it
    shutil.copytree(SITE, project)
    (project / "plan.json").write_text(json.dumps(plan))
    toml, notes, output = _import(project / "plan.json", tmp_path)
    rewrite = load_config(output).default_cache_behavior.functions[EventType.VIEWER_REQUEST]
    assert isinstance(rewrite, CloudFrontFunctionAssociation)
    assert rewrite.cloudfront_function.read_text() == (SITE / "functions" / "rewrite.js").read_text()
    assert "terraform show -json plan" in toml and "a plan's values not known until apply" in "\n".join(notes)


def test_the_command_takes_a_folder_and_names_terraform_in_its_summary(tmp_path: Path) -> None:
    output = tmp_path / "edgesim.toml"
    result = CliRunner().invoke(main, ["import", str(SITE), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "(Terraform resource aws_cloudfront_distribution.site" in result.stdout
    assert "note: variable api_domain" in result.stderr
    assert CliRunner().invoke(main, ["check", "--config", str(output)]).exit_code == 0


# --- what the configuration alone does not decide ----------------------------------------------------


def test_expressions_variables_dynamic_blocks_and_placeholders(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text("""
variable "origin_host" {}
variable "use_api" {
  default = true
}
locals {
  extra = ["a", "b"]
  port  = var.use_api ? 8443 : 443
}
resource "aws_cloudfront_key_value_store" "flags" {
  name = "flags"
}
resource "aws_cloudfront_function" "inline" {
  name    = "inline"
  runtime = "cloudfront-js-1.0"
  key_value_store_associations = [aws_cloudfront_key_value_store.flags.arn]
  code    = <<-EOT
    function handler(event) {
      return event.request; // "quoted" \\ and $${not_interpolated}
    }
  EOT
}
resource "aws_cloudfront_function" "templated" {
  name = "templated"
  code = templatefile("${path.module}/fn.tpl", { greeting = "hi" })
}
resource "aws_cloudfront_distribution" "d" {
  enabled = true
  origin {
    domain_name = var.origin_host
    origin_id   = "main"
    custom_origin_config {
      http_port              = 80
      https_port             = local.port
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }
  dynamic "origin" {
    for_each = local.extra
    iterator = extra
    content {
      domain_name = "${extra.value}.example.com"
      origin_id   = "extra-${extra.key}"
    }
  }
  origin {
    domain_name = aws_s3_bucket_website_configuration.www.website_endpoint
    origin_id   = "website"
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "http-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }
  dynamic "custom_error_response" {
    for_each = var.errors
    content {
      error_code = custom_error_response.value
    }
  }
  default_cache_behavior {
    target_origin_id       = "main"
    viewer_protocol_policy = "allow-all"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    cache_policy_id        = data.aws_cloudfront_cache_policy.custom.id
    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.inline.arn
    }
    function_association {
      event_type   = "viewer-response"
      function_arn = aws_cloudfront_function.templated.arn
    }
  }
  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }
}
resource "aws_s3_bucket" "www" {
  bucket = "www-example"
}
resource "aws_s3_bucket_website_configuration" "www" {
  bucket = aws_s3_bucket.www.id
}
data "aws_cloudfront_cache_policy" "custom" {
  name = "team-shared-policy"
}
""")
    toml, notes, output = _import(tmp_path / "main.tf", tmp_path)
    said = "\n".join(notes)
    # A variable without a default: a marked placeholder origin, its expression named.
    assert 'url = "https://main.invalid:8443"  # PLACEHOLDER' in toml
    assert "DomainName ${var.origin_host} cannot be evaluated here" in said
    # `dynamic "origin"` over a local list is expanded; over an unknown one it is said, not dropped.
    assert 'id = "extra-0"' in toml and 'url = "https://b.example.com"' in toml
    # A static website bucket's endpoint, from the bucket the website configuration names.
    assert 'url = "http://www-example.s3-website-us-east-1.amazonaws.com"' in toml
    assert 'dynamic "custom_error_response" block\'s for_each (var.errors) cannot be evaluated' in said
    # A heredoc's code is written as the function's file, escapes as Terraform reads them.
    written = (output.parent / "functions" / "inline.js").read_text()
    assert 'return event.request; // "quoted" \\ and ${not_interpolated}' in written
    assert 'runtime = "cloudfront-js-1.0"' in toml
    assert "inline uses a KeyValueStore; add `kvs = \"store.json\"`" in said
    # templatefile() is left to Terraform: the function's file is to create, and the note says why.
    assert "aws_cloudfront_function.templated: its code (templatefile(" in said
    assert "functions/templated.js is still to create" in toml
    # A cache policy by a name that is not a managed one: CachingOptimized stands in, said.
    assert "${data.aws_cloudfront_cache_policy.custom.id} is neither a managed policy" in said
    assert "PLACEHOLDER for cache policy" in toml


def test_lambda_code_in_s3_or_a_prebuilt_zip_is_said(tmp_path: Path) -> None:
    """A zip in S3 or one built elsewhere is said with what to do; a `filename` that is the path an
    archive_file writes is that archive's source."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "viewer.py").write_text("def handler(event, context):\n    return None\n")
    (tmp_path / "edge.tf").write_text("""
resource "aws_lambda_function" "from_s3" {
  function_name = "from-s3"
  s3_bucket     = "artifacts"
  s3_key        = "edge/from-s3.zip"
  handler       = "index.handler"
  runtime       = "nodejs20.x"
}
data "archive_file" "viewer" {
  type        = "zip"
  source_file = "${path.module}/src/viewer.py"
  output_path = "${path.module}/build/viewer.zip"
}
resource "aws_lambda_function" "viewer" {
  function_name = "viewer"
  filename      = "build/viewer.zip"
  handler       = "viewer.handler"
  runtime       = "python3.12"
}
resource "aws_lambda_function" "zipped" {
  function_name = "zipped"
  filename      = "build/zipped.zip"
  handler       = "app.handler"
  runtime       = "python3.12"
}
resource "aws_cloudfront_distribution" "d" {
  origin {
    domain_name = "app.example.com"
    origin_id   = "app"
    custom_origin_config {
      http_port = 80
      https_port = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols = ["TLSv1.2"]
    }
  }
  default_cache_behavior {
    target_origin_id       = "app"
    viewer_protocol_policy = "allow-all"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    lambda_function_association {
      event_type = "viewer-request"
      lambda_arn = "${aws_lambda_function.from_s3.arn}:${aws_lambda_function.from_s3.version}"
    }
    lambda_function_association {
      event_type = "origin-request"
      lambda_arn = aws_lambda_function.zipped[0].qualified_arn
    }
    lambda_function_association {
      event_type = "viewer-response"
      lambda_arn = aws_lambda_function.viewer.qualified_arn
    }
  }
}
""")
    toml, notes, _ = _import(tmp_path / "edge.tf", tmp_path)
    said = "\n".join(notes)
    assert "`aws s3 cp s3://artifacts/edge/from-s3.zip from-s3.zip`" in said
    assert "its code is the zip" in said and "zipped.zip" in said
    assert "an instance of a resource with count or for_each" in said
    assert 'lambda = "functions/from-s3/index.js:handler"' in toml
    assert 'lambda = "functions/zipped/app.py:handler"' in toml and 'runtime = "python3.12"' in toml
    assert 'lambda = "../src/viewer.py:handler"' in toml


# --- what real projects write (found by running the import on public configurations) ---------------------


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, body in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(body)


_EDGE_LAMBDA = ('data "archive_file" "edge" {\n type = "zip"\n source_dir = "lambda/edge"\n output_path = "edge.zip"\n}\n'
                'resource "aws_lambda_function" "edge" {\n function_name = "edge"\n handler = "index.handler"\n'
                ' runtime = "nodejs20.x"\n filename = data.archive_file.edge.output_path\n publish = true\n}\n')



def _origin_request_distribution(lambda_arn: str) -> str:
    """A distribution whose default behavior's origin-request runs the function `lambda_arn` (HCL)."""
    return f'''
resource "aws_cloudfront_distribution" "d" {{
  enabled = true
  origin {{
    domain_name = "a.example.com"
    origin_id   = "a"
  }}
  default_cache_behavior {{
    target_origin_id       = "a"
    viewer_protocol_policy = "allow-all"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    lambda_function_association {{
      event_type = "origin-request"
      lambda_arn = {lambda_arn}
    }}
  }}
}}
'''

def test_a_quoted_template_of_one_interpolation_is_that_value(tmp_path: Path) -> None:
    """Terraform 0.11's `"${...}"` around every expression: a reference still names its resource
    (the Lambda function's code is followed) and a list stays a list."""
    _write(tmp_path, {"lambda/edge/index.js": "exports.handler = async (e) => e.Records[0].cf.request;\n",
                      "main.tf": _EDGE_LAMBDA + (
                          'variable "methods" {\n default = ["GET", "HEAD", "OPTIONS"]\n}\n'
                          'resource "aws_cloudfront_distribution" "d" {\n enabled = "true"\n'
                          ' origin {\n  domain_name = "a.example.com"\n  origin_id = "a"\n }\n'
                          ' default_cache_behavior {\n  target_origin_id = "a"\n  viewer_protocol_policy = "allow-all"\n'
                          '  allowed_methods = "${var.methods}"\n  cached_methods = ["GET", "HEAD"]\n'
                          '  lambda_function_association {\n   event_type = "origin-request"\n'
                          '   lambda_arn = "${aws_lambda_function.edge.qualified_arn}"\n  }\n }\n}\n')})
    _, notes, output = _import(tmp_path, tmp_path)
    default = load_config(output).default_cache_behavior
    edge = default.functions[EventType.ORIGIN_REQUEST]
    assert isinstance(edge, LambdaFunctionAssociation)
    assert edge.path == tmp_path.resolve() / "lambda" / "edge" / "index.js" and edge.runtime == "nodejs20.x"
    assert list(default.allowed_methods) == ["GET", "HEAD", "OPTIONS"]


def test_a_distribution_its_count_leaves_without_instance_is_not_a_choice(tmp_path: Path) -> None:
    body = ('origin {\n domain_name = "a.example.com"\n origin_id = "a"\n}\n'
            'default_cache_behavior {\n target_origin_id = "a"\n viewer_protocol_policy = "allow-all"\n'
            ' allowed_methods = ["GET", "HEAD"]\n cached_methods = ["GET", "HEAD"]\n}\n')
    _write(tmp_path, {"main.tf": 'variable "with_function" {\n type = bool\n default = false\n}\n'
                                 'resource "aws_cloudfront_distribution" "with" {\n count = var.with_function ? 1 : 0\n'
                                 f'{body}}}\n'
                                 'resource "aws_cloudfront_distribution" "without" {\n'
                                 f' count = var.with_function == false ? 1 : 0\n{body}}}\n'})
    toml, notes, _ = _import(tmp_path, tmp_path)
    assert "Terraform resource aws_cloudfront_distribution.without" in toml
    assert any("aws_cloudfront_distribution.with: its count or for_each gives no instance" in n for n in notes)


_MODULE = """
variable "origins" {
  type = any
}
variable "default_behavior" {
  type = any
}
variable "logging" {
  type    = any
  default = {}
}
resource "aws_cloudfront_distribution" "this" {
  enabled = true
  dynamic "logging_config" {
    for_each = length(keys(var.logging)) == 0 ? [] : [var.logging]
    content {
      bucket = logging_config.value["bucket"]
    }
  }
  dynamic "origin" {
    for_each = var.origins
    content {
      domain_name = origin.value.domain_name
      origin_id   = lookup(origin.value, "origin_id", origin.key)
      origin_path = lookup(origin.value, "origin_path", "")
    }
  }
  dynamic "default_cache_behavior" {
    for_each = [var.default_behavior]
    iterator = i
    content {
      target_origin_id       = i.value["target_origin_id"]
      viewer_protocol_policy = i.value["viewer_protocol_policy"]
      allowed_methods        = lookup(i.value, "allowed_methods", ["GET", "HEAD"])
      cached_methods         = ["GET", "HEAD"]
      cache_policy_id        = lookup(i.value, "cache_policy_id", null)
      default_ttl            = lookup(i.value, "default_ttl", null)
      forwarded_values {
        query_string = false
        cookies {
          forward = "none"
        }
      }
      dynamic "function_association" {
        for_each = lookup(i.value, "function_association", {})
        iterator = f
        content {
          event_type   = f.key
          function_arn = f.value.function_arn
        }
      }
    }
  }
  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }
  viewer_certificate {
    cloudfront_default_certificate = true
  }
}
"""

_CALLER = """
resource "aws_cloudfront_function" "rewrite" {
  name    = "rewrite"
  runtime = "cloudfront-js-2.0"
  code    = file("${path.module}/rewrite.js")
}
module "cdn" {
  source = "./modules/cdn"
  origins = {
    api = { domain_name = "api.example.com", origin_path = "/v1" }
    assets = { domain_name = module.assets.bucket_regional_domain_name }
  }
  default_behavior = {
    target_origin_id       = "api"
    viewer_protocol_policy = "redirect-to-https"
    default_ttl            = 60
    function_association = {
      viewer-request = { function_arn = aws_cloudfront_function.rewrite.arn }
    }
  }
}
module "assets" {
  source = "terraform-aws-modules/s3-bucket/aws"
}
"""


def test_a_local_module_call_is_followed_with_its_arguments_as_the_modules_variables(tmp_path: Path) -> None:
    """A root configuration defining its distribution through `module "cdn" { source = "./modules/cdn" }`:
    the module's dynamic blocks are made from the call's maps, some of whose values only the
    deployment knows (placeholders), and the caller's CloudFront Function is followed."""
    _write(tmp_path, {"modules/cdn/main.tf": _MODULE, "main.tf": _CALLER,
                      "rewrite.js": "function handler(event) { return event.request; }\n"})
    toml, notes, output = _import(tmp_path, tmp_path)
    config = load_config(output)
    api, assets = config.origins
    assert isinstance(api, CustomOrigin) and api.url == "https://api.example.com/v1"
    assert isinstance(assets, CustomOrigin) and assets.id == "assets" and assets.url.endswith(".invalid")
    default = config.default_cache_behavior
    assert default.target_origin == "api" and default.viewer_protocol_policy == "redirect-to-https"
    assert default.cache_policy.default_ttl == 60  # lookup(..., null) of a key not given: no cache policy
    rewrite = default.functions[EventType.VIEWER_REQUEST]
    assert isinstance(rewrite, CloudFrontFunctionAssociation)
    assert rewrite.cloudfront_function == tmp_path.resolve() / "rewrite.js" and rewrite.name == "rewrite"
    assert "Terraform resource module.cdn.aws_cloudfront_distribution.this" in toml
    assert any("is defined by module.cdn (source ./modules/cdn)" in n for n in notes)
    assert not any("logging_config" in n for n in notes)  # keys({}) is known: no blocks, nothing to say


def test_a_module_folder_imported_alone_gets_placeholders_for_its_callers_inputs(tmp_path: Path) -> None:
    """The module's own folder: its inputs have no value here (null defaults), so its dynamic blocks
    make nothing; the distribution still imports, its origin a marked placeholder, all of it said."""
    _write(tmp_path, {"main.tf": _MODULE.replace('variable "origins" {\n  type = any\n}',
                                                 'variable "origins" {\n  type = any\n  default = null\n}')})
    toml, notes, output = _import(tmp_path, tmp_path)
    (origin,) = load_config(output).origins
    assert isinstance(origin, CustomOrigin) and origin.url.endswith(".invalid") and "PLACEHOLDER" in toml
    said = "\n".join(notes)
    assert 'dynamic "origin" block\'s for_each (var.origins) is null here' in said
    assert "the input gives no origin that can be read here" in said


def test_a_website_endpoint_of_a_bucket_terraform_names_is_guessed_as_a_website_endpoint(tmp_path: Path) -> None:
    _write(tmp_path, {"main.tf": 'resource "aws_s3_bucket" "site" {\n website {\n  index_document = "index.html"\n }\n}\n'
                                 'resource "aws_cloudfront_distribution" "d" {\n enabled = true\n'
                                 ' origin {\n  domain_name = aws_s3_bucket.site.website_endpoint\n  origin_id = "s3"\n'
                                 '  custom_origin_config {\n   origin_protocol_policy = "http-only"\n   http_port = 80\n'
                                 '   https_port = 443\n   origin_ssl_protocols = ["TLSv1.2"]\n  }\n }\n'
                                 ' default_cache_behavior {\n  target_origin_id = "s3"\n  viewer_protocol_policy = "allow-all"\n'
                                 '  allowed_methods = ["GET", "HEAD"]\n  cached_methods = ["GET", "HEAD"]\n }\n}\n'})
    _, notes, output = _import(tmp_path, tmp_path)
    (origin,) = load_config(output).origins
    assert isinstance(origin, CustomOrigin)
    assert origin.url == "http://aws-s3-bucket-site.s3-website-us-east-1.amazonaws.com"
    assert any("aws_s3_bucket.site, which Terraform names at deploy" in n for n in notes)


def test_a_registry_module_is_read_where_terraform_init_installed_it(tmp_path: Path) -> None:
    manifest = {"Modules": [{"Key": "", "Source": "", "Dir": "."},
                            {"Key": "cdn", "Source": "registry.terraform.io/acme/cdn/aws", "Version": "1.2.0",
                             "Dir": ".terraform/modules/cdn"}]}
    _write(tmp_path, {".terraform/modules/cdn/main.tf": _MODULE,
                      ".terraform/modules/modules.json": json.dumps(manifest),
                      "main.tf": 'module "cdn" {\n source = "acme/cdn/aws"\n version = "1.2.0"\n'
                                 ' origins = { web = { domain_name = "www.example.com" } }\n'
                                 ' default_behavior = { target_origin_id = "web", viewer_protocol_policy = "allow-all" }\n'
                                 '}\n'})
    toml, notes, output = _import(tmp_path, tmp_path)
    (origin,) = load_config(output).origins
    assert isinstance(origin, CustomOrigin) and (origin.id, origin.url) == ("web", "https://www.example.com")
    assert "Terraform resource module.cdn.aws_cloudfront_distribution.this" in toml
    assert any("defined by module.cdn (source registry.terraform.io/acme/cdn/aws)" in n for n in notes)


def test_an_archive_files_source_blocks_copying_files_are_followed(tmp_path: Path) -> None:
    """`data "archive_file"` zipping `source { content = file(...), filename }` blocks, not a folder."""
    behavior = ('default_cache_behavior {\n target_origin_id = "a"\n viewer_protocol_policy = "allow-all"\n'
                ' allowed_methods = ["GET", "HEAD"]\n cached_methods = ["GET", "HEAD"]\n'
                ' lambda_function_association {\n  event_type = "origin-request"\n'
                '  lambda_arn = aws_lambda_function.edge.qualified_arn\n }\n}\n')
    _write(tmp_path, {"code/index.js": "exports.handler = async (e) => e.Records[0].cf.request;\n",
                      "infra/main.tf": 'data "archive_file" "edge" {\n type = "zip"\n output_path = "edge.zip"\n'
                                       ' source {\n  content = file("../code/index.js")\n  filename = "index.js"\n }\n}\n'
                                       'resource "aws_lambda_function" "edge" {\n function_name = "edge"\n'
                                       ' handler = "index.handler"\n runtime = "nodejs20.x"\n'
                                       ' filename = data.archive_file.edge.output_path\n}\n'
                                       'resource "aws_cloudfront_distribution" "d" {\n enabled = true\n'
                                       f' origin {{\n  domain_name = "a.example.com"\n  origin_id = "a"\n }}\n{behavior}}}\n',
                      "other/main.tf": 'variable "package" {}\n'
                                       'resource "aws_lambda_function" "edge" {\n function_name = "edge"\n'
                                       ' handler = "index.handler"\n runtime = "nodejs20.x"\n filename = var.package\n}\n'
                                       'resource "aws_cloudfront_distribution" "d" {\n enabled = true\n'
                                       f' origin {{\n  domain_name = "a.example.com"\n  origin_id = "a"\n }}\n{behavior}}}\n'})
    _, _, output = _import(tmp_path / "infra", tmp_path)
    edge = load_config(output).default_cache_behavior.functions[EventType.ORIGIN_REQUEST]
    assert isinstance(edge, LambdaFunctionAssociation)
    assert edge.path == tmp_path.resolve() / "code" / "index.js"
    # A function the input defines, its code given by what only the deployment knows: said as such,
    # not as another stack's function.
    _, notes, _ = _import(tmp_path / "other", tmp_path)
    said = "\n".join(notes)
    assert "Lambda@Edge function edge: the input defines it but not in a way that says where its code is" in said
    assert "another stack's" not in said


def test_an_existing_bucket_looked_up_by_name_is_the_origins_domain(tmp_path: Path) -> None:
    _write(tmp_path, {"main.tf": 'data "aws_s3_bucket" "site" {\n bucket = "site-assets"\n}\n'
                                 'resource "aws_cloudfront_distribution" "d" {\n enabled = true\n'
                                 ' origin {\n  domain_name = data.aws_s3_bucket.site.bucket_regional_domain_name\n'
                                 '  origin_id = "s3"\n }\n'
                                 ' default_cache_behavior {\n  target_origin_id = "s3"\n  viewer_protocol_policy = "allow-all"\n'
                                 '  allowed_methods = ["GET", "HEAD"]\n  cached_methods = ["GET", "HEAD"]\n }\n}\n'})
    toml, _, output = _import(tmp_path, tmp_path)
    (origin,) = load_config(output).origins
    assert isinstance(origin, CustomOrigin) and origin.url == "https://site-assets.s3.amazonaws.com"
    assert "PLACEHOLDER" not in toml


def test_for_expressions_make_a_dynamic_blocks_collection(tmp_path: Path) -> None:
    """`for_each = { for o in var.origins : o.id => o if o.enabled }`, as modules write it."""
    _write(tmp_path, {"main.tf": '''
variable "origins" {
  default = [
    { id = "api", domain = "api.example.com", enabled = true },
    { id = "old", domain = "old.example.com", enabled = false },
    { id = "web", domain = "www.example.com", enabled = true },
  ]
}
locals {
  paths = [for o in var.origins : "/${o.id}/*" if o.enabled && o.id != "web"]
}
resource "aws_cloudfront_distribution" "d" {
  enabled = true
  dynamic "origin" {
    for_each = { for o in var.origins : o.id => o if o.enabled }
    content {
      domain_name = origin.value.domain
      origin_id   = origin.key
    }
  }
  default_cache_behavior {
    target_origin_id       = "web"
    viewer_protocol_policy = "allow-all"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
  }
  dynamic "ordered_cache_behavior" {
    for_each = local.paths
    content {
      path_pattern           = ordered_cache_behavior.value
      target_origin_id       = "api"
      viewer_protocol_policy = "https-only"
      allowed_methods        = ["GET", "HEAD"]
      cached_methods         = ["GET", "HEAD"]
    }
  }
}
'''})
    _, notes, output = _import(tmp_path, tmp_path)
    config = load_config(output)
    assert [(o.id, o.url) for o in config.origins if isinstance(o, CustomOrigin)] == \
        [("api", "https://api.example.com"), ("web", "https://www.example.com")]
    assert [b.path_pattern for b in config.cache_behaviors] == ["/api/*"]
    assert not any("cannot be evaluated" in n for n in notes)


def test_a_module_output_naming_its_lambda_function_is_followed_to_the_code(tmp_path: Path) -> None:
    """`lambda_arn = module.edge.qualified_arn`, the module's output being its function's qualified
    ARN (the usual Lambda@Edge module): the function's code and runtime come from the module."""
    _write(tmp_path, {
        "modules/edge/main.tf": 'variable "name" {}\nvariable "source_dir" {}\n'
                                'data "archive_file" "this" {\n type = "zip"\n source_dir = var.source_dir\n'
                                ' output_path = "${path.module}/edge.zip"\n}\n'
                                'resource "aws_lambda_function" "this" {\n function_name = var.name\n'
                                ' handler = "index.handler"\n runtime = "nodejs20.x"\n'
                                ' filename = data.archive_file.this.output_path\n publish = true\n}\n'
                                'output "qualified_arn" {\n value = aws_lambda_function.this.qualified_arn\n}\n',
        "edge/index.js": "exports.handler = async (e) => e.Records[0].cf.request;\n",
        "main.tf": 'module "edge" {\n source = "./modules/edge"\n name = "auth"\n'
                   ' source_dir = "${path.module}/edge"\n}\n'
                   'resource "aws_cloudfront_distribution" "d" {\n enabled = true\n'
                   ' origin {\n  domain_name = "a.example.com"\n  origin_id = "a"\n }\n'
                   ' default_cache_behavior {\n  target_origin_id = "a"\n  viewer_protocol_policy = "allow-all"\n'
                   '  allowed_methods = ["GET", "HEAD"]\n  cached_methods = ["GET", "HEAD"]\n'
                   '  lambda_function_association {\n   event_type = "viewer-request"\n'
                   '   lambda_arn = module.edge.qualified_arn\n  }\n }\n}\n'})
    toml, _, output = _import(tmp_path, tmp_path)
    edge = load_config(output).default_cache_behavior.functions[EventType.VIEWER_REQUEST]
    assert isinstance(edge, LambdaFunctionAssociation)
    assert edge.path == tmp_path.resolve() / "edge" / "index.js" and edge.runtime == "nodejs20.x"
    assert "PLACEHOLDER" not in toml


def _write_origin_request_site(tmp_path: Path, handler: str, limits: str) -> None:
    """A distribution whose origin-request runs `handler` (edge/index.js, zipped by archive_file),
    the aws_lambda_function given `limits` (HCL lines) or none; its origin an unreachable name."""
    _write(tmp_path, {
        "edge/index.js": handler,
        "main.tf": 'data "archive_file" "edge" {\n type = "zip"\n source_dir = "edge"\n output_path = "edge.zip"\n}\n'
                   'resource "aws_lambda_function" "edge" {\n function_name = "edge"\n handler = "index.handler"\n'
                   f' runtime = "nodejs20.x"\n{limits}'
                   ' filename = data.archive_file.edge.output_path\n publish = true\n}\n'
                   'resource "aws_cloudfront_distribution" "d" {\n enabled = true\n'
                   ' origin {\n  domain_name = "a.invalid"\n  origin_id = "a"\n }\n'
                   ' default_cache_behavior {\n  target_origin_id = "a"\n  viewer_protocol_policy = "allow-all"\n'
                   '  allowed_methods = ["GET", "HEAD"]\n  cached_methods = ["GET", "HEAD"]\n'
                   '  lambda_function_association {\n   event_type = "origin-request"\n'
                   '   lambda_arn = aws_lambda_function.edge.qualified_arn\n  }\n }\n}\n'})


def test_a_lambda_functions_timeout_and_memory_size_are_its_associations(tmp_path: Path) -> None:
    """`timeout` / `memory_size` on the aws_lambda_function: a handler that runs out of its 3 s on
    CloudFront runs out of them under edgesim too, not of the trigger's 30 s maximum."""
    _write_origin_request_site(tmp_path, "exports.handler = async (e) => e.Records[0].cf.request;\n",
                               " timeout = 3\n memory_size = 256\n")
    _, _, output = _import(tmp_path, tmp_path)
    edge = load_config(output).default_cache_behavior.functions[EventType.ORIGIN_REQUEST]
    assert isinstance(edge, LambdaFunctionAssociation)
    assert (edge.timeout, edge.memory) == (3, 256)


async def test_a_lambda_function_without_timeout_runs_out_of_lambdas_3_s_not_the_triggers_30(tmp_path: Path) -> None:
    """No `timeout` / `memory_size`: the provider leaves them to Lambda, 3 s and 128 MB (the
    registry's aws_lambda_function "Defaults to 3" / "Defaults to 128"). A handler taking 3.5 s on
    origin-request times out on CloudFront, and now under edgesim too (503 LambdaLimitExceeded),
    not at the trigger's 30 s."""
    _write_origin_request_site(tmp_path, "exports.handler = async (e) => { await new Promise((r) => setTimeout(r, 3500)); "
                                         "return {status: '200', body: 'slow'}; };\n", "")
    toml, _, output = _import(tmp_path, tmp_path)
    edge = load_config(output).default_cache_behavior.functions[EventType.ORIGIN_REQUEST]
    assert isinstance(edge, LambdaFunctionAssociation)
    assert (edge.timeout, edge.memory) == (3, 128)
    assert "timeout 3 s / memory 128 MB: Lambda's default, not set on edge" in toml
    async with Distribution(output) as dist, dist.client() as client:
        response = await client.get("/slow")
    assert response.status_code == 503 and response.headers["x-cache"] == "LambdaLimitExceeded from cloudfront"


def test_an_origin_access_identity_given_by_reference_is_said_as_one(tmp_path: Path) -> None:
    _write(tmp_path, {"main.tf": 'resource "aws_cloudfront_origin_access_identity" "oai" {}\n'
                                 'resource "aws_cloudfront_distribution" "d" {\n enabled = true\n'
                                 ' origin {\n  domain_name = "assets.s3.amazonaws.com"\n  origin_id = "s3"\n'
                                 '  s3_origin_config {\n   origin_access_identity = '
                                 'aws_cloudfront_origin_access_identity.oai.cloudfront_access_identity_path\n  }\n }\n'
                                 ' default_cache_behavior {\n  target_origin_id = "s3"\n  viewer_protocol_policy = "allow-all"\n'
                                 '  allowed_methods = ["GET", "HEAD"]\n  cached_methods = ["GET", "HEAD"]\n }\n}\n'})
    _, notes, _ = _import(tmp_path, tmp_path)
    assert any("its origin access identity or control is not simulated" in n for n in notes)


def test_a_lambda_arn_given_as_a_variable_or_an_absent_modules_output_is_said_so(tmp_path: Path) -> None:
    def distribution(arn: str) -> str:
        return ('resource "aws_cloudfront_distribution" "d" {\n enabled = true\n web_acl_id = var.waf\n'
                ' origin {\n  domain_name = "a.example.com"\n  origin_id = "a"\n }\n'
                ' default_cache_behavior {\n  target_origin_id = "a"\n  viewer_protocol_policy = "allow-all"\n'
                '  allowed_methods = ["GET", "HEAD"]\n  cached_methods = ["GET", "HEAD"]\n'
                f'  lambda_function_association {{\n   event_type = "viewer-request"\n   lambda_arn = {arn}\n  }}\n'
                ' }\n}\n')
    _write(tmp_path, {"var/main.tf": 'variable "edge_arn" {}\nvariable "waf" {\n default = null\n}\n'
                                     + distribution("var.edge_arn"),
                      "mod/main.tf": 'variable "waf" {\n default = null\n}\nmodule "edge" {\n'
                                     ' source = "acme/edge/aws"\n}\n' + distribution("module.edge.qualified_arn")})
    _, notes, _ = _import(tmp_path / "var", tmp_path)
    said = "\n".join(notes)
    assert "the configuration takes its ARN as the variable edge_arn" in said and "another stack's" not in said
    assert "variable waf" not in said  # a null default leaves web_acl_id unset: nothing to say
    _, notes, _ = _import(tmp_path / "mod", tmp_path)
    assert any("its ARN is module.edge.qualified_arn, an output of a module whose files are not here" in n
               for n in notes)


def test_a_distribution_with_for_each_imports_its_first_instance_with_each_bound(tmp_path: Path) -> None:
    _write(tmp_path, {"main.tf": '''
variable "sites" {
  default = {
    blog = { domain = "blog.example.com", root = "index.html" }
    shop = { domain = "shop.example.com", root = "shop.html" }
  }
}
resource "aws_cloudfront_distribution" "site" {
  for_each            = var.sites
  enabled             = true
  default_root_object = each.value.root
  origin {
    domain_name = each.value.domain
    origin_id   = each.key
  }
  default_cache_behavior {
    target_origin_id       = each.key
    viewer_protocol_policy = "allow-all"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
  }
}
'''})
    toml, notes, output = _import(tmp_path, tmp_path)
    config = load_config(output)
    (origin,) = config.origins
    assert isinstance(origin, CustomOrigin) and (origin.id, origin.url) == ("blog", "https://blog.example.com")
    assert config.distribution.default_root_object == "index.html" and "PLACEHOLDER" not in toml
    assert any("has for_each; imported as one distribution, its instance [blog] (2 in all)" in n for n in notes)


def test_a_called_module_that_does_not_parse_is_said_not_fatal(tmp_path: Path) -> None:
    """Local modules are read for their outputs and resources; one with a syntax error that the root's
    distribution does not need is named in a note rather than stopping the import."""
    _write(tmp_path, {"modules/broken/main.tf": 'resource "x" "y" {\n a = \n}\n',
                      "main.tf": 'module "b" {\n source = "./modules/broken"\n}\n'
                                 'resource "aws_cloudfront_distribution" "d" {\n enabled = true\n'
                                 ' origin {\n  domain_name = "a.example.com"\n  origin_id = "a"\n }\n'
                                 ' default_cache_behavior {\n  target_origin_id = "a"\n  viewer_protocol_policy = "allow-all"\n'
                                 '  allowed_methods = ["GET", "HEAD"]\n  cached_methods = ["GET", "HEAD"]\n }\n}\n'})
    _, notes, output = _import(tmp_path, tmp_path)
    assert load_config(output).origins[0].id == "a"
    assert any("module b (source ./modules/broken) is not read" in n and "not valid HCL" in n for n in notes)


# A distribution whose default behavior runs aws_cloudfront_function.f at viewer-request.
_DISTRIBUTION_OF_F = ('resource "aws_cloudfront_distribution" "d" {\n enabled = true\n'
                      ' origin {\n  domain_name = "a.example.com"\n  origin_id = "a"\n }\n'
                      ' default_cache_behavior {\n  target_origin_id = "a"\n  viewer_protocol_policy = "allow-all"\n'
                      '  allowed_methods = ["GET", "HEAD"]\n  cached_methods = ["GET", "HEAD"]\n'
                      '  function_association {\n   event_type = "viewer-request"\n'
                      '   function_arn = aws_cloudfront_function.f.arn\n  }\n }\n}\n')


def test_templatefile_renders_a_cloudfront_functions_code(tmp_path: Path) -> None:
    """`code = templatefile("fn.js.tftpl", {...})`, as CloudFront Functions with a baked-in value are
    written: the rendered code is the function's (`$${` stays a literal `${`)."""
    _write(tmp_path, {"fn.js.tftpl": "function handler(event) {\n  var host = '${host}';\n"
                                     "  var note = `$${host}`;\n  event.request.headers['x-host'] = { value: host };\n"
                                     "  return event.request;\n}\n",
                      "main.tf": 'variable "host" {\n default = "www.example.com"\n}\n'
                                 'resource "aws_cloudfront_function" "f" {\n name = "rewrite"\n'
                                 ' runtime = "cloudfront-js-2.0"\n'
                                 ' code = templatefile("${path.module}/fn.js.tftpl", { host = var.host })\n}\n'
                                 + _DISTRIBUTION_OF_F})
    _, _, output = _import(tmp_path, tmp_path)
    rewrite = load_config(output).default_cache_behavior.functions[EventType.VIEWER_REQUEST]
    assert isinstance(rewrite, CloudFrontFunctionAssociation)
    code = rewrite.cloudfront_function.read_text()
    assert "var host = 'www.example.com';" in code and "var note = `${host}`;" in code


_DIRECTIVES_TEMPLATE = """function handler(event) {
  var request = event.request;
  %{ for path, target in redirects ~}
  if (request.uri === '${path}') {
    return { statusCode: 301, statusDescription: 'Moved Permanently', headers: { location: { value: '${target}' } } };
  }
  %{ endfor ~}
  %{ if tag ~}
  request.headers['x-env'] = { value: '${env}' };
  %{ else ~}
  // untagged
  %{ endif ~}
  var paths = [%{ for p in keys(redirects) ~}
'${p}',
%{ endfor ~}
];
  return request;
}
"""


def _templated_function_site(tmp_path: Path, template: str, variables: str) -> str:
    _write(tmp_path, {"fn.js.tftpl": template,
                      "main.tf": 'resource "aws_cloudfront_function" "f" {\n name = "redirects"\n'
                                 ' runtime = "cloudfront-js-2.0"\n'
                                 f' code = templatefile("${{path.module}}/fn.js.tftpl", {variables})\n}}\n'
                                 + _DISTRIBUTION_OF_F})
    toml, notes, output = _import(tmp_path, tmp_path)
    written = output.parent / "functions" / "redirects.js"
    return written.read_text() if written.exists() else "\n".join([toml, *notes])


def test_templatefile_renders_if_and_for_directives_with_strip_markers(tmp_path: Path) -> None:
    """A CloudFront Function generated from a template with `%{ for }` over a map (its keys in
    lexical order) and `%{ if }`: the code is the rendered template, and it runs."""
    code = _templated_function_site(
        tmp_path, _DIRECTIVES_TEMPLATE,
        '{ redirects = { "/old" = "/new", "/a" = "/b" }, tag = true, env = "prod" }')
    assert "%{" not in code and "untagged" not in code
    assert code.index("request.uri === '/a'") < code.index("request.uri === '/old'")
    assert "request.headers['x-env'] = { value: 'prod' };" in code
    assert "var paths = ['/a',\n'/old',\n];" in code  # `~}` took the newline after each directive
    result = asyncio.run(run_cloudfront_function(tmp_path / "out" / "functions" / "redirects.js", {
        "version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "198.51.100.7"},
        "request": {"method": "GET", "uri": "/old", "querystring": {}, "headers": {}, "cookies": {}}},
        runtime="cloudfront-js-2.0"))
    assert result.output["response"]["statusCode"] == 301
    assert result.output["response"]["headers"]["location"]["value"] == "/new"


def test_templatefile_with_a_directive_it_cannot_decide_is_left_to_terraform(tmp_path: Path) -> None:
    # `flag` is not among the template's variables: Terraform would refuse it; edgesim says so and
    # leaves the function's file to create rather than guess.
    said = _templated_function_site(tmp_path, "%{ if flag }x%{ endif }\n", "{ other = 1 }")
    assert "its code (templatefile(" in said


def test_a_heredocs_directives_are_rendered_with_the_configurations_names(tmp_path: Path) -> None:
    # An inline template (here a heredoc) with %{ for } and %{ if } over var. and local. names, and
    # an escaped quote: rendered as Terraform renders it.
    _write(tmp_path, {"main.tf": 'variable "paths" {\n default = ["/a", "/b"]\n}\nlocals {\n strict = false\n}\n'
                                 'resource "aws_cloudfront_function" "f" {\n name = "paths"\n runtime = "cloudfront-js-2.0"\n'
                                 ' code = <<-EOT\n'
                                 '    var paths = [%{ for p in var.paths }"${p}",%{ endfor }];\n'
                                 '    var mode = "%{ if local.strict }strict%{ else }lax%{ endif }";\n'
                                 '    function handler(event) { return event.request; }\n'
                                 '  EOT\n}\n' + _DISTRIBUTION_OF_F})
    _, _, output = _import(tmp_path, tmp_path)
    code = (output.parent / "functions" / "paths.js").read_text()
    assert code.startswith('var paths = ["/a","/b",];\nvar mode = "lax";\n')


def test_a_function_code_from_local_file_content_gets_terraforms_jsonencode(tmp_path: Path) -> None:
    """A real-world layout: templatefile() into a local_file whose `content` is the function's code,
    a map baked in with jsonencode (compact, keys sorted, `<>&` escaped, as Terraform writes it)."""
    _write(tmp_path, {"fn.js.tftpl": "var LOCALES = ${locales};\nfunction handler(event) { return event.request; }\n",
                      "main.tf": 'locals {\n locales = { fr = "fr-FR", en = "en-US", x = "<&>" }\n}\n'
                                 'resource "local_file" "fn" {\n'
                                 ' content = templatefile("${path.module}/fn.js.tftpl", { locales = jsonencode(local.locales) })\n'
                                 ' filename = "${path.module}/generated/fn.js"\n}\n'
                                 'resource "aws_cloudfront_function" "f" {\n name = "locales"\n runtime = "cloudfront-js-2.0"\n'
                                 ' code = local_file.fn.content\n}\n'
                                 + _DISTRIBUTION_OF_F})
    _, _, output = _import(tmp_path, tmp_path)
    code = (output.parent / "functions" / "locales.js").read_text()
    assert 'var LOCALES = {"en":"en-US","fr":"fr-FR","x":"\\u003c\\u0026\\u003e"};' in code


# --- bad input -----------------------------------------------------------------------------------------


def test_no_distribution_is_an_error_naming_the_file_and_what_it_has(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n')
    with pytest.raises(ConfigError, match=r"main\.tf: no aws_cloudfront_distribution resource in this file "
                                          r"\(resources: aws_s3_bucket\)"):
        import_file(tmp_path / "main.tf", output=tmp_path / "edgesim.toml", functions_dir=tmp_path)
    (tmp_path / "cdn.tf").write_text('module "cdn" {\n  source = "./modules/cdn"\n}\n')
    with pytest.raises(ConfigError, match=r"in these files \(cdn\.tf, main\.tf\).*it may be in a module: "
                                          r"cdn \(source \./modules/cdn\)"):
        import_file(tmp_path, output=tmp_path / "edgesim.toml", functions_dir=tmp_path)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"format_version": "1.0", "values": {"root_module": {"resources": [
        {"address": "aws_s3_bucket.b", "mode": "managed", "type": "aws_s3_bucket", "values": {}}]}}}))
    with pytest.raises(ConfigError, match=r"state\.json: no aws_cloudfront_distribution resource in this "
                                          r"terraform show -json state output"):
        import_file(state, output=tmp_path / "edgesim.toml", functions_dir=tmp_path)


def test_show_json_without_state_and_a_folder_without_terraform_say_what_to_import(tmp_path: Path) -> None:
    (tmp_path / "show.json").write_text('{"format_version": "1.0"}')  # `terraform show -json` before apply
    with pytest.raises(ConfigError, match=r"show -json` output without resources.*after `terraform apply`"):
        import_file(tmp_path / "show.json", output=tmp_path / "edgesim.toml", functions_dir=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"no Terraform files \(\*\.tf, \*\.tf\.json\) and no serverless\.yml"):
        import_file(tmp_path / "empty", output=tmp_path / "edgesim.toml", functions_dir=tmp_path)


def test_an_hcl_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "ok.tf").write_text('locals {\n  a = 1\n}\n')
    (tmp_path / "broken.tf").write_text('resource "aws_cloudfront_distribution" "d" {\n  enabled = true\n'
                                        '  origin {\n    domain_name = \n  }\n}\n')
    with pytest.raises(ConfigError, match=r"broken\.tf: not valid HCL \(line 4, column \d+\): domain_name ="):
        import_file(tmp_path, output=tmp_path / "edgesim.toml", functions_dir=tmp_path)


def test_several_distributions_need_resource(tmp_path: Path) -> None:
    body = ('origin {\n domain_name = "a.example.com"\n origin_id = "a"\n}\n'
            'default_cache_behavior {\n target_origin_id = "a"\n viewer_protocol_policy = "allow-all"\n'
            ' allowed_methods = ["GET", "HEAD"]\n cached_methods = ["GET", "HEAD"]\n}\n')
    (tmp_path / "main.tf").write_text(f'resource "aws_cloudfront_distribution" "www" {{\n{body}}}\n'
                                      f'resource "aws_cloudfront_distribution" "assets" {{\n{body}}}\n')
    with pytest.raises(ConfigError, match=r"2 distributions \(aws_cloudfront_distribution\.www, "
                                          r"aws_cloudfront_distribution\.assets\); choose one with --resource"):
        import_file(tmp_path / "main.tf", output=tmp_path / "edgesim.toml", functions_dir=tmp_path)
    toml, _, _ = _import(tmp_path / "main.tf", tmp_path, resource="assets")
    assert "Terraform resource aws_cloudfront_distribution.assets" in toml


# --- end to end: the imported project serves ---------------------------------------------------------


class _Origin(OriginHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        seen = {h: self.headers.get(h) for h in ("x-edge", "x-auth", "x-origin-verify")}
        body = json.dumps({"path": self.path, **seen}).encode()
        self.send(body, "application/json", cache_control="max-age=30")


@pytest.fixture
def origin_port() -> Iterator[int]:
    with http_origin(_Origin) as port:
        yield port


async def test_an_imported_terraform_project_serves_through_edgesim(tmp_path: Path, origin_port: int) -> None:
    """The project's terraform.tfvars points the API origin at a local server; /api/* runs the
    CloudFront Function (viewer request), the Lambda@Edge function (origin request), the custom
    cache policy and the response headers policy, as Terraform configured them."""
    project = tmp_path / "infra"
    shutil.copytree(SITE, project, ignore=shutil.ignore_patterns("*.json"))
    (project / "terraform.tfvars").write_text(
        f'api_domain   = "127.0.0.1"\napi_port     = {origin_port}\napi_protocol = "http-only"\n')
    output = tmp_path / "edgesim.toml"
    result = CliRunner().invoke(main, ["import", str(project), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert f"note: variable api_port: terraform.tfvars sets it to {origin_port}" in result.stderr

    async with Distribution(output) as dist, dist.client() as client:
        refused = await client.get("/api/items")
        first = await client.get("/api/items", headers={"Authorization": "Bearer t"})
        again = await client.get("/api/items", headers={"Authorization": "Bearer t"})
    assert (refused.status_code, refused.text) == (401, "no token")
    assert first.status_code == 200
    assert first.json() == {"path": "/v1/api/items", "x-edge": "rewrite", "x-auth": "checked",
                            "x-origin-verify": "from-cloudfront-prod"}
    assert first.headers["x-served-by"] == "edge" and first.headers["x-frame-options"] == "DENY"
    assert first.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert first.headers["x-cache"] == "Miss from cloudfront"
    assert again.headers["x-cache"] == "Hit from cloudfront"


def test_a_function_terraform_would_fail_is_a_note_not_a_traceback(tmp_path: Path) -> None:
    # coalesce() of a null variable and "" fails in Terraform; here it is an expression left as it is
    # (before: a StopIteration traceback out of `edgesim import`).
    _write(tmp_path, {"main.tf": 'variable "alt" {\n default = null\n}\n'
                                 'resource "aws_cloudfront_distribution" "d" {\n enabled = true\n'
                                 ' comment = coalesce(var.alt, "")\n'
                                 ' origin {\n  domain_name = "a.example.com"\n  origin_id = "a"\n }\n'
                                 ' default_cache_behavior {\n  target_origin_id = "a"\n  viewer_protocol_policy = "allow-all"\n'
                                 '  allowed_methods = ["GET", "HEAD"]\n  cached_methods = ["GET", "HEAD"]\n }\n}\n'})
    _, notes, _ = _import(tmp_path, tmp_path)
    assert 'distribution comment: ${coalesce(var.alt, "")}' in notes


def test_splat_expressions_make_a_dynamic_blocks_collection(tmp_path: Path) -> None:
    """`for_each = var.behavior[*]` (an object as a list of one, null as none), and `var.list[*].id`,
    as modules write an optional block: Terraform's splat expressions."""
    _write(tmp_path, {"main.tf": '''
variable "default_behavior" {
  default = { target = "web", policy = "redirect-to-https", functions = [{ type = "viewer-request", arn = "a" }] }
}
variable "logging" { default = null }
variable "origins" {
  default = [{ id = "api", domain = "api.example.com" }, { id = "web", domain = "www.example.com" }]
}
resource "aws_cloudfront_distribution" "d" {
  enabled = true
  comment = join(",", var.origins[*].id)
  dynamic "origin" {
    for_each = var.origins
    content {
      domain_name = origin.value.domain
      origin_id   = origin.value.id
    }
  }
  dynamic "default_cache_behavior" {
    for_each = var.default_behavior[*]
    content {
      target_origin_id       = default_cache_behavior.value.target
      viewer_protocol_policy = default_cache_behavior.value.policy
      allowed_methods        = ["GET", "HEAD"]
      cached_methods         = ["GET", "HEAD"]
    }
  }
  dynamic "ordered_cache_behavior" {
    for_each = var.logging[*]
    content {
      path_pattern           = "/logs/*"
      target_origin_id       = "api"
      viewer_protocol_policy = "allow-all"
      allowed_methods        = ["GET", "HEAD"]
      cached_methods         = ["GET", "HEAD"]
    }
  }
  dynamic "ordered_cache_behavior" {
    for_each = [for id in var.origins.*.id : id if id != "web"]
    content {
      path_pattern           = "/${ordered_cache_behavior.value}/*"
      target_origin_id       = ordered_cache_behavior.value
      viewer_protocol_policy = "https-only"
      allowed_methods        = ["GET", "HEAD"]
      cached_methods         = ["GET", "HEAD"]
    }
  }
}
'''})
    _, notes, output = _import(tmp_path, tmp_path)
    config = load_config(output)
    default = config.default_cache_behavior
    assert (default.target_origin, default.viewer_protocol_policy) == ("web", "redirect-to-https")
    # null[*] is no block; var.origins.*.id (the legacy splat) is every origin's id.
    assert [(b.path_pattern, b.target_origin) for b in config.cache_behaviors] == [("/api/*", "api")]
    assert not any("cannot be evaluated" in n for n in notes), notes


def test_a_lambda_arn_of_an_undeclared_resource_is_said_as_terraform_would(tmp_path: Path) -> None:
    """`lambda_arn = aws_lambda_function.edge_stage.qualified_arn` where the configuration declares
    `aws_lambda_function.edge` only (a renamed resource): Terraform refuses the reference; the note
    says so, and the function's folder takes the resource's name, not the expression's text."""
    _write(tmp_path, {"main.tf": _EDGE_LAMBDA + _origin_request_distribution('"${aws_lambda_function.edge_stage.qualified_arn}"'),
                      "lambda/edge/index.js": "exports.handler = async (e) => e.Records[0].cf.request;\n"})
    toml, notes, _ = _import(tmp_path, tmp_path)
    association = tomllib.loads(toml)["default_cache_behavior"]["functions"]["origin-request"]
    assert association["lambda"] == "functions/edge_stage/index.js:handler"
    said = "\n".join(notes)
    assert "no file of the configuration declares aws_lambda_function.edge_stage" in said
    assert "another stack's" not in said


def test_terraform_workspace_is_the_default_workspace_said_in_a_note(tmp_path: Path) -> None:
    """Names built from `terraform.workspace` (a policy's, a function's) are the default workspace's,
    as `terraform apply` without `terraform workspace select` makes them."""
    _write(tmp_path, {"fn.js": "function handler(event) { return event.request; }\n", "main.tf": '''
resource "aws_cloudfront_function" "rewrite" {
  name    = "rewrite-${terraform.workspace}"
  runtime = "cloudfront-js-2.0"
  code    = file("${path.module}/fn.js")
}
resource "aws_cloudfront_cache_policy" "api" {
  name        = "api-${terraform.workspace}"
  min_ttl     = 1
  default_ttl = 30
  max_ttl     = 60
  parameters_in_cache_key_and_forwarded_to_origin {
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "all"
    }
  }
}
resource "aws_cloudfront_distribution" "d" {
  enabled = true
  comment = "site-${terraform.workspace}"
  origin {
    domain_name = "a.example.com"
    origin_id   = "a"
  }
  default_cache_behavior {
    target_origin_id       = "a"
    viewer_protocol_policy = "allow-all"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    cache_policy_id        = aws_cloudfront_cache_policy.api.id
    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.rewrite.arn
    }
  }
}
'''})
    _, notes, output = _import(tmp_path, tmp_path)
    default = load_config(output).default_cache_behavior
    rewrite = default.functions[EventType.VIEWER_REQUEST]
    assert isinstance(rewrite, CloudFrontFunctionAssociation) and rewrite.name == "rewrite-default"
    assert default.cache_policy.name == "api-default"
    assert any('terraform.workspace: "default" is used' in n for n in notes), notes


def test_optional_object_attributes_take_their_type_defaults(tmp_path: Path) -> None:
    """A module's `list(object({..., is_default = optional(bool, false)}))` variable, given values
    that leave those attributes out: Terraform's conversion gives them their defaults (or null), so
    the filters and settings built on them are decided."""
    _write(tmp_path, {"main.tf": '''
variable "origins" {
  type = list(object({
    id              = string
    domain_name     = string
    origin_path     = optional(string)
    protocol_policy = optional(string, "https-only")
  }))
}
variable "behaviors" {
  type = list(object({
    path_pattern    = string
    origin_id       = string
    compress        = optional(bool, true)
    functions       = optional(list(object({ event_type = string, arn = string })), [])
    is_default      = optional(bool, false)
  }))
  default = [
    { path_pattern = "*", origin_id = "web", is_default = true },
    { path_pattern = "/api/*", origin_id = "api", compress = false },
    { path_pattern = "/static/*", origin_id = "web", is_default = null },
  ]
}
locals {
  default_behavior = one([for b in var.behaviors : b if b.is_default])
  ordered          = [for b in var.behaviors : b if !b.is_default]
}
resource "aws_cloudfront_distribution" "d" {
  enabled = true
  dynamic "origin" {
    for_each = var.origins
    content {
      origin_id   = origin.value.id
      domain_name = origin.value.domain_name
      origin_path = origin.value.origin_path
      custom_origin_config {
        http_port              = 80
        https_port             = 443
        origin_protocol_policy = origin.value.protocol_policy
        origin_ssl_protocols   = ["TLSv1.2"]
      }
    }
  }
  default_cache_behavior {
    target_origin_id       = local.default_behavior.origin_id
    viewer_protocol_policy = "allow-all"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    compress               = local.default_behavior.compress
  }
  dynamic "ordered_cache_behavior" {
    for_each = local.ordered
    content {
      path_pattern           = ordered_cache_behavior.value.path_pattern
      target_origin_id       = ordered_cache_behavior.value.origin_id
      viewer_protocol_policy = "allow-all"
      allowed_methods        = ["GET", "HEAD"]
      cached_methods         = ["GET", "HEAD"]
      compress               = ordered_cache_behavior.value.compress
    }
  }
}
''', "terraform.tfvars": '''
origins = [
  { id = "web", domain_name = "www.example.com" },
  { id = "api", domain_name = "api.example.com", origin_path = "/v1", protocol_policy = "http-only" },
]
'''})
    _, notes, output = _import(tmp_path, tmp_path)
    config = load_config(output)
    assert [(o.id, o.url) for o in config.origins if isinstance(o, CustomOrigin)] == \
        [("web", "https://www.example.com"), ("api", "http://api.example.com/v1")]
    assert (config.default_cache_behavior.target_origin, config.default_cache_behavior.compress) == ("web", True)
    # is_default = null takes the default (false) as well, as Terraform gives it.
    assert [(b.path_pattern, b.compress) for b in config.cache_behaviors] == [("/api/*", False), ("/static/*", True)]


def test_a_lambda_runtime_lambda_edge_no_longer_runs_is_said_not_dropped_silently(tmp_path: Path) -> None:
    """`runtime = "nodejs8.10"` (a retired identifier, in old projects): the config cannot name it,
    and the note says so and which runtimes Lambda@Edge takes, rather than leaving it out unsaid."""
    _write(tmp_path, {"main.tf": _EDGE_LAMBDA.replace("nodejs20.x", "nodejs8.10")
                      + _origin_request_distribution("aws_lambda_function.edge.qualified_arn"),
                      "lambda/edge/index.js": "exports.handler = async (e) => e.Records[0].cf.request;\n"})
    toml, notes, _ = _import(tmp_path, tmp_path)
    association = tomllib.loads(toml)["default_cache_behavior"]["functions"]["origin-request"]
    assert "runtime" not in association
    said = "\n".join(notes)
    assert "Lambda@Edge function edge: 'nodejs8.10' is not a runtime Lambda@Edge supports" in said
    assert "runs the handler on its default runtime" in said
