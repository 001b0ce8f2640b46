"""`edgesim import` of a template whose distribution uses pseudo parameters (AWS::Region,
AWS::AccountId, AWS::StackName, AWS::Partition, AWS::URLSuffix) and its own bucket's attributes
inside `!Sub` / `!Join` / `!Select` / `!Split`: each gets a documented placeholder value, said in a
note, and the origin is imported rather than lost. Attribute names from AWS::S3::Bucket's return
values (Arn, DomainName, RegionalDomainName, DualStackDomainName, WebsiteURL).
"""

from __future__ import annotations

from pathlib import Path

from edgesim.config import CustomOrigin, load_config
from edgesim.config_import import import_file

TEMPLATE = """\
Resources:
  Site:
    Type: AWS::S3::Bucket
    Properties:
      WebsiteConfiguration: {IndexDocument: index.html}
  Logs:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-logs-${AWS::AccountId}"
  Distribution:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Comment: !Join ["", ["site of ", !Ref "AWS::StackName", " in ", !Ref "AWS::Partition"]]
        Origins:
          - Id: website
            DomainName: !Select [1, !Split ["://", !GetAtt Site.WebsiteURL]]
            CustomOriginConfig: {OriginProtocolPolicy: http-only}
          - Id: logs
            DomainName: !Sub "${Logs}.s3.${AWS::Region}.${AWS::URLSuffix}"
            S3OriginConfig: {}
          - Id: api
            DomainName: !Join [".", [api, !Ref "AWS::Region", !Ref "AWS::AccountId", example.com]]
            CustomOriginConfig: {OriginProtocolPolicy: https-only}
          - Id: regional
            DomainName: !Sub "${Site.RegionalDomainName}"
            S3OriginConfig: {}
          - Id: shared
            DomainName: !Sub ["api.${AWS::Region}.${Zone}", {Zone: !ImportValue shared-zone}]
            CustomOriginConfig: {OriginProtocolPolicy: https-only}
        DefaultCacheBehavior: {TargetOriginId: website, ViewerProtocolPolicy: allow-all}
"""


def test_pseudo_parameters_and_bucket_attributes_give_placeholder_origins(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    output = tmp_path / "edgesim.toml"
    result = import_file(template, output=output, functions_dir=tmp_path / "functions")
    output.write_text(result.toml)
    origins = {o.id: o for o in load_config(output).origins}
    urls = {name: origin.url for name, origin in origins.items() if isinstance(origin, CustomOrigin)}
    assert urls == {
        "website": "http://site.s3-website-us-east-1.amazonaws.com",  # S3's website endpoint, us-east-1's dash form
        "logs": "https://my-stack-logs-123456789012.s3.us-east-1.amazonaws.com",
        "api": "https://api.us-east-1.123456789012.example.com",
        "regional": "https://site.s3.us-east-1.amazonaws.com",
        "shared": "https://shared.invalid",  # what needs another stack's output stays a placeholder
    }
    notes = "\n".join(result.notes)
    for pseudo, value in (("AWS::Region", "us-east-1"), ("AWS::AccountId", "123456789012"),
                          ("AWS::StackName", "my-stack"), ("AWS::Partition", "aws"),
                          ("AWS::URLSuffix", "amazonaws.com")):
        assert f"{pseudo} is " in notes and f"known at deploy: {value!r} stands in for it" in notes, pseudo
    assert "bucket Site is named by CloudFormation at deploy: 'site' stands in for its name" in notes
    assert "distribution comment: site of my-stack in aws" in notes

