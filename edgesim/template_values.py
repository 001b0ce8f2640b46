"""Evaluate a CloudFormation template's intrinsic functions where the template alone decides them.

Real templates write much of a distribution through `Parameters`, `Conditions` and `Mappings`:
`!Ref DomainName`, `!If [HasDomain, [...], !Ref AWS::NoValue]`, `!Sub "${Bucket}.s3.${AWS::URLSuffix}"`,
`!FindInMap [Env, !Ref Stage, Origin]`. Before the distribution is mapped, `TemplateValues.resolve`
replaces each such expression by its value when the template gives it: a parameter's `Default`
(said in a note, as the stack may be deployed with another value), a condition on those values,
`AWS::URLSuffix` / `AWS::Partition` (the commercial partition's), a `Fn::Join` / `Fn::Sub` /
`Fn::Select` / `Fn::Split` / `Fn::FindInMap` of known values; `AWS::NoValue` removes its key or list
item, as CloudFormation does. What depends on the deployment (a resource's name or attribute, a
parameter without a default, `AWS::Region`, `AWS::AccountId`) is left as the expression, for the
importer to follow to a resource of the template or to replace by a marked placeholder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Pseudo parameters whose value does not depend on the account or region (the commercial
# partition's; GovCloud and China differ, which a note cannot know either).
_PSEUDO = {"AWS::URLSuffix": "amazonaws.com", "AWS::Partition": "aws"}
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
    notes: list[str] = field(default_factory=list)
    _decided: dict[str, bool | None] = field(default_factory=dict)
    _noted: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> TemplateValues:
        def section(name: str) -> Mapping[str, Any]:
            value = document.get(name)
            return value if isinstance(value, Mapping) else {}
        return cls(section("Parameters"), section("Conditions"), section("Mappings"))

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

    def _ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            return {"Ref": name}
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in _PSEUDO:
            return _PSEUDO[name]
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
            parts = [_scalar(p) for p in arg[1]]
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
            if isinstance(arg[0], str) and arg[0] and isinstance(arg[1], str):
                return arg[1].split(arg[0])
        elif name == "Fn::FindInMap" and isinstance(arg, list) and len(arg) >= 3:
            keys = [_scalar(k) for k in arg[:3]]
            table = self.mappings.get(keys[0] or "")
            row = table.get(keys[1] or "") if isinstance(table, Mapping) else None
            if isinstance(row, Mapping) and (keys[2] or "") in row:
                return self.resolve(row[keys[2] or ""])
        return None

    def _sub(self, template: str, variables: Mapping[str, Any]) -> str | None:
        out: list[str] = []
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
            value = variables[name] if name in variables else self._ref(name)
            literal = _scalar(value)
            if literal is None:
                return None
            out.append(literal)
        return "".join(out) + rest

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
