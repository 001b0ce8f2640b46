"""Where a template's Lambda function keeps its code, as `edgesim import` can use it.

A template says it in one of several ways (CloudFormation's AWS::Lambda::Function `Code`, SAM's
AWS::Serverless::Function `CodeUri` / `InlineCode` / `ImageUri`):

- inline: `Code.ZipFile` or SAM's `InlineCode`, the code itself;
- a local folder: SAM's `CodeUri: src/edge/` (relative to the template, as `sam build` reads it),
  `Code: ./src` before `aws cloudformation package` uploads it, or a CDK-synthesized function's
  `Metadata: aws:asset:path` (the folder under cdk.out that `sam local` reads in place of the
  S3 object CDK uploads);
- a local .zip (`CodeUri: build/edge.zip`);
- an S3 object: `Code.S3Bucket` / `S3Key` / `S3ObjectVersion`, SAM's `CodeUri: s3://bucket/key` or
  `CodeUri: {Bucket, Key, Version}`, which edgesim cannot read;
- a container image (`Code.ImageUri`, SAM's `ImageUri`), which Lambda@Edge does not run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgesim.distribution_source import Resource, text


@dataclass(frozen=True)
class LambdaCode:
    """One template function's code: at most one of these is set."""

    inline: str | None = None
    folder: Path | None = None  # a local folder holding the handler's file
    archive: Path | None = None  # a local .zip
    s3: str | None = None  # s3://bucket/key[?versionId=v]
    image: str | None = None
    said: str = ""  # how the template says where, for notes ("CodeUri src/edge/")


def _s3_uri(bucket: Any, key: Any, version: Any) -> str | None:
    bucket_name, key_name = text(bucket), text(key)
    if not bucket_name or not key_name:
        return None
    version_id = text(version)
    return f"s3://{bucket_name}/{key_name}" + (f"?versionId={version_id}" if version_id else "")


def _local(path: str, template_folder: Path | None, said: str) -> LambdaCode:
    where = (template_folder or Path(".")) / path
    if where.suffix.lower() == ".zip" or where.is_file():
        return LambdaCode(archive=where, said=said)
    return LambdaCode(folder=where, said=said)


def lambda_code(function: Resource, template_folder: Path | None) -> LambdaCode:
    """Where `function` (an AWS::Lambda::Function or AWS::Serverless::Function) has its code."""
    properties = function.properties
    code = properties.get("Code")
    if isinstance(code, Mapping) and (inline := text(code.get("ZipFile"))) is not None:
        return LambdaCode(inline=inline, said="Code.ZipFile")
    if (inline := text(properties.get("InlineCode"))) is not None:
        return LambdaCode(inline=inline, said="InlineCode")
    # CDK writes the S3 object it will upload as Code, and the folder it stages under cdk.out as
    # metadata; the folder is what is here (aws-cdk-lib's cxapi ASSET_RESOURCE_METADATA_* keys).
    asset = text(function.metadata.get("aws:asset:path"))
    if asset and text(function.metadata.get("aws:asset:property")) in (None, "Code"):
        return _local(asset, template_folder, f"CDK asset {asset}")
    # A Serverless Framework function (serverless_import.py): its prebuilt package.artifact, a local
    # zip or one in S3 ...
    artifact = text(function.metadata.get("edgesim:code-artifact"))
    if artifact:
        said = text(function.metadata.get("edgesim:code-said")) or f"package.artifact {artifact}"
        return LambdaCode(s3=artifact, said=said) if artifact.startswith("s3://") else _local(artifact, None, said)
    # ... else the project's folder, as `serverless package` zips it.
    folder = text(function.metadata.get("edgesim:code-folder"))
    if folder:
        return LambdaCode(folder=Path(folder), said=text(function.metadata.get("edgesim:code-said")) or folder)
    uri = properties.get("CodeUri")
    if isinstance(uri, str):
        return LambdaCode(s3=uri, said=f"CodeUri {uri}") if uri.startswith("s3://") \
            else _local(uri, template_folder, f"CodeUri {uri}")
    if isinstance(uri, Mapping) and (s3 := _s3_uri(uri.get("Bucket"), uri.get("Key"), uri.get("Version"))):
        return LambdaCode(s3=s3, said="CodeUri")
    if isinstance(code, str):  # `aws cloudformation package` uploads it and writes Code.S3Bucket/S3Key
        return _local(code, template_folder, f"Code {code}")
    if isinstance(code, Mapping):
        if (s3 := _s3_uri(code.get("S3Bucket"), code.get("S3Key"), code.get("S3ObjectVersion"))) is not None:
            return LambdaCode(s3=s3, said="Code.S3Bucket / S3Key")
        if (image := text(code.get("ImageUri"))) is not None:
            return LambdaCode(image=image, said="Code.ImageUri")
    if (image := text(properties.get("ImageUri"))) is not None:
        return LambdaCode(image=image, said="ImageUri")
    return LambdaCode()
