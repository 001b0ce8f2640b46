"""`edgesim import` of a template's Lambda@Edge code: SAM's CodeUri / Globals / InlineCode,
CloudFormation's Code (inline, a local path, S3, an image), CDK's staged assets, and functions the
template does not define. Field names from the AWS::Lambda::Function `Code` reference (ZipFile,
S3Bucket, S3Key, S3ObjectVersion, ImageUri), SAM's AWS::Serverless::Function (CodeUri as a path, an
s3:// URI or {Bucket, Key, Version}; Globals: Function) and CDK's `aws:asset:path` metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from edgesim.cli import main
from edgesim.config import LambdaFunctionAssociation, load_config
from edgesim.config_import import import_file
from edgesim.messages import EventType
from edgesim.testing import Distribution

_DISTRIBUTION = """\
  Site:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Origins: [{{Id: app, DomainName: app.example.com, CustomOriginConfig: {{OriginProtocolPolicy: https-only}}}}]
        DefaultCacheBehavior:
          TargetOriginId: app
          ViewerProtocolPolicy: allow-all
          LambdaFunctionAssociations:
            - {{EventType: viewer-request, LambdaFunctionARN: {arn}}}
"""


def _template(folder: Path, resources: str, arn: str, head: str = "") -> Path:
    template = folder / "template.yaml"
    template.write_text(f"Transform: AWS::Serverless-2016-10-31\n{head}Resources:\n{resources}"
                        + _DISTRIBUTION.format(arn=arn))
    return template


def _viewer_request(output: Path) -> LambdaFunctionAssociation:
    association = load_config(output).default_cache_behavior.functions[EventType.VIEWER_REQUEST]
    assert isinstance(association, LambdaFunctionAssociation)
    return association


def test_a_sam_functions_code_uri_is_followed_from_the_templates_folder(tmp_path: Path) -> None:
    """CodeUri is relative to the template; Globals give the Runtime; the config points at the
    template's own handler file (no copy), relative to the config."""
    project = tmp_path / "sam-app"
    (project / "src" / "edge").mkdir(parents=True)
    (project / "src" / "edge" / "app.js").write_text("exports.handler = async (e) => e.Records[0].cf.request;\n")
    template = _template(project, """\
  EdgeFn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/edge/
      Handler: app.handler
      AutoPublishAlias: live
""", "!Ref EdgeFn.Version", head="Globals:\n  Function:\n    Runtime: nodejs20.x\n    Timeout: 5\n")
    output = tmp_path / "config" / "edgesim.toml"
    output.parent.mkdir()
    result = import_file(template, output=output, functions_dir=output.parent / "functions")
    assert result.missing == [] and result.to_write == []
    # Globals' Timeout too: the function's own limit, not the trigger's maximum; no MemorySize: Lambda's 128 MB.
    assert ('functions.viewer-request = { lambda = "../sam-app/src/edge/app.js:handler", runtime = "nodejs20.x", '
            "timeout = 5, memory = 128, name = \"EdgeFn\" }  # memory 128 MB: Lambda's default, not set on EdgeFn") in result.toml
    assert "PLACEHOLDER" not in result.toml
    output.write_text(result.toml)
    association = _viewer_request(output)
    assert association.path == project / "src" / "edge" / "app.js" and association.runtime == "nodejs20.x" and association.timeout == 5


def test_a_python_handlers_dotted_module_is_its_file_under_code_uri(tmp_path: Path) -> None:
    (tmp_path / "edge" / "auth").mkdir(parents=True)
    (tmp_path / "edge" / "auth" / "viewer.py").write_text("def handler(event, context):\n    return None\n")
    template = _template(tmp_path, """\
  Auth:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: edge, Handler: auth.viewer.handler, Runtime: python3.12}
  AuthVersion:
    Type: AWS::Lambda::Version
    Properties: {FunctionName: !Ref Auth}
""", "!Ref AuthVersion")
    output = tmp_path / "edgesim.toml"
    result = import_file(template, output=output, functions_dir=tmp_path / "functions")
    assert 'lambda = "edge/auth/viewer.py:handler", runtime = "python3.12"' in result.toml
    assert result.missing == []


async def test_an_imported_sam_function_runs_from_its_code_uri(tmp_path: Path) -> None:
    """End to end: the imported config serves, and the Lambda@Edge handler that answers is the
    template's own file."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(
        "def lambda_handler(event, context):\n"
        "    return {'status': '200', 'body': 'from ' + event['Records'][0]['cf']['request']['uri']}\n")
    template = _template(tmp_path, """\
  Edge:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: ./src, Handler: app.lambda_handler, Runtime: python3.12, AutoPublishAlias: live}
""", "!Ref Edge.Version")
    output = tmp_path / "out" / "edgesim.toml"
    result = CliRunner().invoke(main, ["import", str(template), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "create these function files" not in result.output
    async with Distribution(output) as dist, dist.client() as client:
        response = await client.get("/hello")
    assert (response.status_code, response.text) == (200, "from /hello")


def test_a_cdk_functions_staged_asset_folder_is_its_code(tmp_path: Path) -> None:
    """CDK uploads the code to S3 at deploy, and stages it beside the template as `asset.<hash>`,
    named in the resource's Metadata; the staged folder is what edgesim can run."""
    out = tmp_path / "cdk.out"
    (out / "asset.3f2a9c").mkdir(parents=True)
    (out / "asset.3f2a9c" / "index.js").write_text("exports.handler = async (e) => e.Records[0].cf.request;\n")
    template = {"Resources": {
        "EdgeFnC0A1B2": {"Type": "AWS::Lambda::Function",
                         "Properties": {"Code": {"S3Bucket": {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-"
                                                                         "${AWS::Region}"},
                                                 "S3Key": "3f2a9c.zip"},
                                        "Handler": "index.handler", "Runtime": "nodejs20.x"},
                         "Metadata": {"aws:cdk:path": "Web/EdgeFn/Resource", "aws:asset:path": "asset.3f2a9c",
                                      "aws:asset:is-bundled": False, "aws:asset:property": "Code"}},
        "EdgeFnCurrentVersion9F": {"Type": "AWS::Lambda::Version",
                                   "Properties": {"FunctionName": {"Ref": "EdgeFnC0A1B2"}}},
        "Site": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {
            "Origins": [{"Id": "app", "DomainName": "app.example.com",
                         "CustomOriginConfig": {"OriginProtocolPolicy": "https-only"}}],
            "DefaultCacheBehavior": {"TargetOriginId": "app", "ViewerProtocolPolicy": "allow-all",
                                     "LambdaFunctionAssociations": [
                                         {"EventType": "viewer-request",
                                          "LambdaFunctionARN": {"Ref": "EdgeFnCurrentVersion9F"}}]}}}}}}
    source = out / "Web.template.json"
    source.write_text(json.dumps(template))
    output = tmp_path / "edgesim.toml"
    result = import_file(source, output=output, functions_dir=tmp_path / "functions")
    assert result.missing == []
    assert 'lambda = "cdk.out/asset.3f2a9c/index.js:handler", runtime = "nodejs20.x"' in result.toml


def test_code_in_s3_is_a_placeholder_with_the_command_that_fetches_it(tmp_path: Path) -> None:
    template = _template(tmp_path, """\
  Auth:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: edge-auth
      Runtime: python3.12
      Handler: index.handler
      Code: {S3Bucket: my-artifacts, S3Key: edge/auth.zip, S3ObjectVersion: v3}
  AuthVersion:
    Type: AWS::Lambda::Version
    Properties: {FunctionName: !Ref Auth}
""", "!Ref AuthVersion")
    output = tmp_path / "edgesim.toml"
    result = import_file(template, output=output, functions_dir=tmp_path / "functions")
    expected = tmp_path / "functions" / "edge-auth" / "index.py"
    assert result.missing == [expected]
    line = next(line for line in result.toml.splitlines() if line.startswith("functions.viewer-request"))
    assert line == ('functions.viewer-request = { lambda = "functions/edge-auth/index.py:handler", runtime = '
                    '"python3.12", timeout = 3, memory = 128, name = "edge-auth" }  # PLACEHOLDER: functions/edge-auth/index.py is still '
                    "to create; timeout 3 s / memory 128 MB: Lambda's default, not set on edge-auth")
    note, = [n for n in result.notes if "edge-auth" in n]
    assert "s3://my-artifacts/edge/auth.zip?versionId=v3" in note
    assert "`aws s3 cp s3://my-artifacts/edge/auth.zip edge-auth.zip` and unzip it into functions/edge-auth/" in note
    expected.parent.mkdir(parents=True)
    expected.write_text("def handler(event, context):\n    return None\n")
    output.write_text(result.toml)
    assert _viewer_request(output).path == expected  # once the file is there, the config loads as it is


def test_a_sam_code_uri_in_s3_and_a_local_zip_say_what_to_unzip(tmp_path: Path) -> None:
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "edge.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    for code_uri, said in (("s3://artifacts/edge.zip", "`aws s3 cp s3://artifacts/edge.zip Edge.zip`"),
                           ("{Bucket: artifacts, Key: edge.zip}", "`aws s3 cp s3://artifacts/edge.zip Edge.zip`"),
                           ("build/edge.zip", "its code is the zip build/edge.zip (CodeUri build/edge.zip): "
                                              "unzip it into functions/Edge/")):
        template = _template(tmp_path, f"""\
  Edge:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: {code_uri}, Handler: index.handler, Runtime: nodejs20.x, AutoPublishAlias: live}}
""", "!Ref Edge.Version")
        result = import_file(template, output=tmp_path / "edgesim.toml", functions_dir=tmp_path / "functions")
        assert said in "\n".join(result.notes), code_uri
        assert "# PLACEHOLDER: functions/Edge/index.js is still to create" in result.toml


def test_a_function_of_another_stack_is_a_placeholder_saying_so(tmp_path: Path) -> None:
    template = _template(tmp_path, "", "!ImportValue shared-edge-auth-version")
    result = import_file(template, output=tmp_path / "edgesim.toml", functions_dir=tmp_path / "functions")
    assert "# PLACEHOLDER: functions/shared-edge-auth-version/index.js is still to create" in result.toml
    assert "the template does not define it (another stack's or account's function)" in "\n".join(result.notes)
    arn = "arn:aws:lambda:us-east-1:111122223333:function:other-stack-fn:7"
    template = _template(tmp_path, "", arn)
    result = import_file(template, output=tmp_path / "edgesim.toml", functions_dir=tmp_path / "functions")
    assert "# PLACEHOLDER: functions/other-stack-fn/index.js is still to create" in result.toml
    assert f"`aws lambda get-function --function-name {arn} --query Code.Location`" in "\n".join(result.notes)
    template = _template(tmp_path, "", "!Ref EdgeFunctionVersionArn",
                         head="Parameters:\n  EdgeFunctionVersionArn: {Type: String}\n")
    result = import_file(template, output=tmp_path / "edgesim.toml", functions_dir=tmp_path / "functions")
    assert "# PLACEHOLDER: functions/EdgeFunctionVersionArn/index.js is still to create" in result.toml
    assert "the template takes its ARN as the parameter EdgeFunctionVersionArn: create " \
           "functions/EdgeFunctionVersionArn/index.js" in "\n".join(result.notes)


def test_a_typescript_handler_is_said_to_need_building(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.ts").write_text("export const handler = async (e: any) => e.Records[0].cf.request;\n")
    template = _template(tmp_path, """\
  Edge:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src, Handler: app.handler, Runtime: nodejs20.x, AutoPublishAlias: live}
""", "!Ref Edge.Version")
    result = import_file(template, output=tmp_path / "edgesim.toml", functions_dir=tmp_path / "functions")
    assert result.missing == [tmp_path / "src" / "app.js"]
    note = "\n".join(result.notes)
    assert "its CodeUri src has no src/app.js (there is app.ts: edgesim runs JavaScript, so build it first" in note
    assert ".aws-sam/build/template.yaml" in note


def test_a_cloudformation_functions_local_code_path_and_an_image(tmp_path: Path) -> None:
    """`Code: ./edge` (before `aws cloudformation package` uploads it) is a local folder like
    CodeUri; a container image is a placeholder, as Lambda@Edge runs none."""
    (tmp_path / "edge").mkdir()
    (tmp_path / "edge" / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return None\n")
    template = _template(tmp_path, """\
  Edge:
    Type: AWS::Lambda::Function
    Properties: {Code: ./edge, Handler: lambda_function.lambda_handler, Runtime: python3.13}
  EdgeVersion:
    Type: AWS::Lambda::Version
    Properties: {FunctionName: !Ref Edge}
""", "!Ref EdgeVersion")
    result = import_file(template, output=tmp_path / "edgesim.toml", functions_dir=tmp_path / "functions")
    assert 'lambda = "edge/lambda_function.py:lambda_handler", runtime = "python3.13"' in result.toml
    assert result.missing == []
    template = _template(tmp_path, """\
  Edge:
    Type: AWS::Lambda::Function
    Properties: {PackageType: Image, Code: {ImageUri: 111122223333.dkr.ecr.us-east-1.amazonaws.com/edge:1}}
""", "!GetAtt Edge.Arn")
    result = import_file(template, output=tmp_path / "edgesim.toml", functions_dir=tmp_path / "functions")
    assert "# PLACEHOLDER: functions/Edge/index.js is still to create" in result.toml
    assert "its code is a container image (111122223333.dkr.ecr.us-east-1.amazonaws.com/edge:1); Lambda@Edge " \
           "runs no container images" in "\n".join(result.notes)
