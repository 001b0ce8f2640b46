"""Evaluate a CloudFormation template's intrinsic functions where the template alone decides them.

Real templates write much of a distribution through `Parameters`, `Conditions` and `Mappings`:
`!Ref DomainName`, `!If [HasDomain, [...], !Ref AWS::NoValue]`, `!Sub "${Bucket}.s3.${AWS::URLSuffix}"`,
`!FindInMap [Env, !Ref Stage, Origin]`. Before the distribution is mapped, `TemplateValues.resolve`
replaces each such expression by its value when the template gives it: a parameter's `Default`
(said in a note, as the stack may be deployed with another value), a condition on those values,
a `Fn::Join` / `Fn::Sub` / `Fn::Select` / `Fn::Split` / `Fn::FindInMap` of known values;
`AWS::NoValue` removes its key or list item, as CloudFormation does.

In the distribution itself, the pseudo parameters get documented placeholder values, each said once
in a note (`_PSEUDO`): an origin's `!Sub "api.${AWS::Region}.example.com"` becomes a host to edit
rather than no origin. A template's S3 bucket built into a longer value (`!Sub
"${Bucket}.s3.${AWS::Region}.amazonaws.com"`, `!Select [1, !Split ["://", !GetAtt Bucket.WebsiteURL]]`)
gets its name (its BucketName, else its logical id in lower case, said) and the attribute S3 gives
it. What else depends on the deployment (another resource's name or attribute, a parameter without
a default) is left as the expression, for the importer to follow to a resource of the template or
to replace by a marked placeholder. The other resources' properties (a function's Name, a bucket's
BucketName read on its own) keep their pseudo parameters: a placeholder would name them wrongly
where the logical id names them well.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Pseudo parameters: (the placeholder, what it stands for). UNCERTAIN which region to assume:
# us-east-1, where Lambda@Edge functions and a distribution's ACM certificate must be; the
# account is the AWS documentation's example one; the partition's and URL suffix are the
# commercial partition's (GovCloud and China differ).
_PSEUDO = {
    "AWS::Region": ("us-east-1", "the stack's region"),
    "AWS::AccountId": ("123456789012", "your account's ID"),
    "AWS::StackName": ("my-stack", "the stack's name"),
    "AWS::Partition": ("aws", "the partition (aws-cn in China, aws-us-gov in GovCloud)"),
    "AWS::URLSuffix": ("amazonaws.com", "the domain suffix (amazonaws.com.cn in China)"),
}
_PARTITION_WIDE = ("AWS::Partition", "AWS::URLSuffix")
BUCKET = "AWS::S3::Bucket"
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")  # S3's bucket naming rules, in short
_LIST_TYPES = ("CommaDelimitedList", "List<")


class _NoValue:
    """`!Ref AWS::NoValue`: the enclosing key or list item is removed."""


NO_VALUE = _NoValue()


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _intrinsic(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, Mapping) and len(value) == 1:
        (name, arg), = value.items()
        if isinstance(name, str) and (name in ("Ref", "Condition") or name.startswith("Fn::")):
            return name, arg
    return None


@dataclass
class TemplateValues:
    """A template's Parameters, Conditions and Mappings, to evaluate the expressions they decide."""

    parameters: Mapping[str, Any] = field(default_factory=dict)
    conditions: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)
    resources: Mapping[str, Any] = field(default_factory=dict)
    pseudo: bool = True  # give the pseudo parameters their placeholders (see the module's docstring)
    notes: list[str] = field(default_factory=list)
    _decided: dict[str, bool | None] = field(default_factory=dict)
    _noted: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, document: Mapping[str, Any], *, pseudo: bool = True) -> TemplateValues:
        def section(name: str) -> Mapping[str, Any]:
            value = document.get(name)
            return value if isinstance(value, Mapping) else {}
        return cls(section("Parameters"), section("Conditions"), section("Mappings"), section("Resources"), pseudo)

    def _note(self, key: str, note: str) -> None:
        if key not in self._noted:
            self._noted.add(key)
            self.notes.append(note)

    def resolve(self, value: Any) -> Any:
        """`value` with every expression the template decides replaced by its value (NO_VALUE for
        `AWS::NoValue`, which the enclosing mapping or list drops)."""
        if isinstance(value, list):
            return [v for v in map(self.resolve, value) if v is not NO_VALUE]
        if isinstance(value, Mapping):
            call = _intrinsic(value)
            if call is not None:
                return self._call(*call)
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        return value

    # --- the functions -------------------------------------------------------------------------

    def _call(self, name: str, arg: Any) -> Any:
        if name == "Ref":
            return self._ref(arg)
        if name == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            decided = self.condition(arg[0])
            if decided is None:
                # UNCERTAIN: the condition depends on the deployment; the true branch is the one a
                # template's author writes for the configured case, so it is the one imported.
                self._note(f"if:{arg[0]}", f"condition {describe_condition(arg[0])} depends on the deployment; "
                                           "where the distribution uses it (Fn::If), its true branch was imported")
                decided = True
            return self.resolve(arg[1] if decided else arg[2])
        resolved = self.resolve(arg)
        literal = self._evaluate(name, resolved)
        return literal if literal is not None else {name: resolved}

    def _ref(self, name: Any, pseudo_used: list[str] | None = None) -> Any:
        """The value of `!Ref name`; a pseudo parameter's placeholder is said at once, or added to
        `pseudo_used` for the caller to say once its whole value is known."""
        if not isinstance(name, str):
            return {"Ref": name}
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in _PARTITION_WIDE and not self.pseudo:
            return _PSEUDO[name][0]  # the same in every commercial account and region: no placeholder
        if name in _PSEUDO and self.pseudo:
            if pseudo_used is not None:
                pseudo_used.append(name)
                return _PSEUDO[name][0]
            value, meaning = _PSEUDO[name]
            self._note(f"pseudo:{name}", f"{name} is {meaning}, known at deploy: {value!r} stands in for it "
                                         f"(a placeholder: write yours wherever the config shows {value!r})")
            return value
        declaration = self.parameters.get(name)
        if isinstance(declaration, Mapping) and "Default" in declaration:
            default = declaration["Default"]
            self._note(f"param:{name}", f"parameter {name}: its Default {json.dumps(default)} is used "
                                        "(the stack may be deployed with another value)")
            kind = declaration.get("Type")
            if isinstance(kind, str) and kind.startswith(_LIST_TYPES) and isinstance(default, str):
                return [part.strip() for part in default.split(",")] if default else []
            return default
        return {"Ref": name}

    def _evaluate(self, name: str, arg: Any) -> Any:
        """The value of Fn::`name` on resolved arguments, or None when it depends on the deployment."""
        if name == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            parts = [self._part(p) for p in arg[1]]
            if isinstance(arg[0], str) and all(p is not None for p in parts):
                return arg[0].join(p for p in parts if p is not None)
        elif name == "Fn::Sub":
            template, variables = (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else (arg, {})
            if isinstance(template, str) and isinstance(variables, Mapping):
                return self._sub(template, variables)
        elif name == "Fn::Select" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            index = _scalar(arg[0])
            if index is not None and index.isdigit() and int(index) < len(arg[1]):
                return arg[1][int(index)]
        elif name == "Fn::Split" and isinstance(arg, list) and len(arg) == 2:
            source = self._part(arg[1])
            if isinstance(arg[0], str) and arg[0] and source is not None:
                return source.split(arg[0])
        elif name == "Fn::FindInMap" and isinstance(arg, list) and len(arg) >= 3:
            keys = [_scalar(k) for k in arg[:3]]
            table = self.mappings.get(keys[0] or "")
            row = table.get(keys[1] or "") if isinstance(table, Mapping) else None
            if isinstance(row, Mapping) and (keys[2] or "") in row:
                return self.resolve(row[keys[2] or ""])
        return None

    def _sub(self, template: str, variables: Mapping[str, Any]) -> str | None:
        out: list[str] = []
        pseudo_used: list[str] = []
        rest = template
        while "${" in rest:
            before, _, after = rest.partition("${")
            out.append(before)
            name, closed, rest = after.partition("}")
            if not closed:
                return None
            if name.startswith("!"):  # ${!Literal} is written as ${Literal}
                out.append("${" + name[1:] + "}")
                continue
            if name in variables:
                literal = self._part(variables[name])
            else:
                resource, _, attribute = name.partition(".")
                literal = self._part({"Fn::GetAtt": [resource, attribute]} if attribute
                                     else self._ref(name, pseudo_used))
            if literal is None:
                return None
            out.append(literal)
        for name in pseudo_used:  # said now that the placeholder is in a value
            self._ref(name)
        return "".join(out) + rest

    # --- a template's bucket, inside a longer value -----------------------------------------------

    def _part(self, value: Any) -> str | None:
        """A part of a longer value (a Join's, a Sub's, a Split's source): a literal, or a template
        bucket's name or attribute."""
        literal = _scalar(value)
        if literal is not None or not self.pseudo:
            return literal
        call = _intrinsic(value)
        if call is None:
            return None
        name, arg = call
        if name == "Ref" and isinstance(arg, str):
            return self._bucket(arg, "")
        if name == "Fn::GetAtt" and isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg):
            return self._bucket(arg[0], arg[1])
        return None

    def _bucket(self, logical_id: str, attribute: str) -> str | None:
        """An AWS::S3::Bucket's Ref (its name) or attribute (AWS::S3::Bucket's "Return values";
        the website endpoint in us-east-1's dash form, S3's "Website endpoints")."""
        body = self.resources.get(logical_id)
        if not isinstance(body, Mapping) or body.get("Type") != BUCKET:
            return None
        properties = body.get("Properties")
        named = _scalar(self.resolve(properties.get("BucketName"))) if isinstance(properties, Mapping) else None
        if named is None or not _BUCKET_NAME.fullmatch(named):
            if not attribute:
                # The name alone (an origin Id's `!Sub "s3-${Bucket}"`) stays the expression: a
                # guessed name would only relabel it; a domain built on it is worth a guess.
                return None
            named = "".join(c if c.isalnum() or c == "-" else "-" for c in logical_id.lower()).strip("-") or "bucket"
            self._note(f"bucket:{logical_id}", f"bucket {logical_id} is named by CloudFormation at deploy: "
                                               f"{named!r} stands in for its name (a placeholder: write your bucket's "
                                               "name wherever the config shows it)")
        region = _scalar(self._ref("AWS::Region")) or "us-east-1"
        suffix = _scalar(self._ref("AWS::URLSuffix")) or "amazonaws.com"
        values = {"": named, "Arn": f"arn:aws:s3:::{named}", "DomainName": f"{named}.s3.{suffix}",
                  "RegionalDomainName": f"{named}.s3.{region}.{suffix}",
                  "DualStackDomainName": f"{named}.s3.dualstack.{region}.{suffix}",
                  "WebsiteURL": f"http://{named}.s3-website-{region}.{suffix}"}
        return values.get(attribute)

    # --- conditions ----------------------------------------------------------------------------

    def condition(self, expression: Any) -> bool | None:
        """True / False when the template decides the condition (a name or an expression)."""
        if isinstance(expression, str):
            if expression not in self._decided:
                self._decided[expression] = None  # a cycle stays undecided
                self._decided[expression] = self.condition(self.conditions.get(expression))
            return self._decided[expression]
        if isinstance(expression, bool):
            return expression
        call = _intrinsic(expression)
        if call is None:
            return None
        name, arg = call
        args = arg if isinstance(arg, list) else [arg]
        if name == "Condition":
            return self.condition(arg)
        if name == "Fn::Equals" and len(args) == 2:
            left, right = (_scalar(self.resolve(a)) for a in args)
            return None if left is None or right is None else left == right
        decided = [self.condition(a) for a in args]
        if name == "Fn::Not" and len(decided) == 1:
            return None if decided[0] is None else not decided[0]
        if name == "Fn::And":
            return False if False in decided else (True if all(d is True for d in decided) else None)
        if name == "Fn::Or":
            return True if True in decided else (False if all(d is False for d in decided) else None)
        return None


def describe_condition(expression: Any) -> str:
    return expression if isinstance(expression, str) else json.dumps(expression, default=str)[:80]
