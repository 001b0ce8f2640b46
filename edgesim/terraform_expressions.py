"""Evaluate what a Terraform configuration alone decides (the expressions terraform_hcl.py reads).

`Evaluator` evaluates python-hcl2's expression text: literals, string templates, `var.x` (a
variable's default, or a terraform.tfvars / *.auto.tfvars value, each said in a note), `local.x`,
`path.module`, `file(...)` read relative to the module's folder, conditionals and comparisons of
known values, for expressions over known collections, and a few pure functions. A reference to a
resource or data source goes to the importer's `attribute` hook (terraform_import.py), which follows
the ones it knows. What depends on the deployment (another resource's attribute, a variable without
a default, `count.index`) stays an `Unknown` holding the expression's text, for the importer to mark
as a placeholder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edgesim.terraform_functions import STRUCTURAL, call_function
from edgesim.terraform_hcl import Module, strip_meta
from edgesim.terraform_types import closing_bracket, parse_type, with_defaults
from edgesim.terraform_values import TemplateParts, Unknown, known, string_of

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_-]*)"
                    r"|(?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|[-+*/%<>!?:.,()\[\]{}=])|(?P<quote>\"))")


Hook = Callable[[str, str, "Evaluator"], Any]

# A splat operator next: `[*]` (full) or `.*` (attribute-only).
_SPLAT = re.compile(r"\s*(\[\s*\*\s*\]|\.\s*\*)")


@dataclass
class Evaluator:
    """Evaluates a module's expressions; `attribute(address, attribute, evaluator)` answers a
    reference to a resource or data source (an Unknown when it cannot)."""

    module: Module
    attribute: Hook
    notes: list[str] = field(default_factory=list)
    noted: set[str] = field(default_factory=set)
    # A child module's: its variables' values, the module block's arguments evaluated in the caller
    # (terraform_modules.py), and the prefix its resources' addresses take (`module.cdn.`).
    inputs: dict[str, Any] | None = None
    prefix: str = ""
    # `module.cdn.domain`: the called module's output, when its files are here (terraform_modules.py).
    outputs: Callable[[str, str, Evaluator], Any] | None = None
    _locals: dict[str, Any] = field(default_factory=dict)

    def note(self, key: str, text: str) -> None:
        if key not in self.noted:
            self.noted.add(key)
            self.notes.append(text)

    def value(self, raw: Any, scope: Mapping[str, Any] | None = None) -> Any:
        """A raw python-hcl2 value evaluated; blocks stay lists of bodies, without their markers."""
        scope = scope or {}
        if isinstance(raw, str):
            if raw.startswith("${") and raw.endswith("}"):
                return _Parser(raw[2:-1], self, scope).whole()
            if len(raw) >= 2 and raw[0] == raw[-1] == '"':
                return _Parser(raw, self, scope).whole()
            return raw  # a bare keyword (a variable's `type = string`)
        if isinstance(raw, list):
            return [self.value(v, scope) for v in raw]
        if isinstance(raw, Mapping):
            return {k: self.value(v, scope) for k, v in strip_meta(raw).items()}
        return raw

    def variable(self, name: str) -> Any:
        declaration = self.module.variables.get(name)
        if self.inputs is not None and name in self.inputs:
            return self._typed(declaration, self.inputs[name])
        if name in self.module.tfvars:
            raw, file = self.module.tfvars[name]
            value = self.value(raw)
            self.note(f"var:{name}", f"variable {name}: {file} sets it to {_shown(value)}")
            return self._typed(declaration, value)
        if declaration is None or "default" not in declaration:
            return Unknown(f"var.{name}")
        value = self.value(declaration["default"])
        if value is not None:  # a null default leaves the argument unset: nothing taken to say
            self.note(f"var:{name}", f"variable {name}: its default {_shown(value)} is used (`terraform apply` may "
                                     "be given another value)")
        return self._typed(declaration, value)

    def _typed(self, declaration: Mapping[str, Any] | None, value: Any) -> Any:
        """The value as the variable's type constraint makes it: its objects' optional attributes
        that the value leaves out take their defaults (terraform_types.py)."""
        type_ = parse_type(declaration.get("type")) if declaration is not None else None
        return with_defaults(type_, value, lambda text: self.value("${" + text + "}"))

    def local(self, name: str) -> Any:
        if name not in self._locals:
            if name not in self.module.locals:
                return Unknown(f"local.{name}")
            self._locals[name] = Unknown(f"local.{name}")  # a cycle stays unknown
            self._locals[name] = self.value(self.module.locals[name])
        return self._locals[name]


def _shown(value: Any) -> str:
    rendered = json.dumps(value, default=str)
    return rendered if len(rendered) <= 80 else rendered[:77] + "..."


class _Parser:
    """A recursive-descent parser of HCL's expression syntax that evaluates as it goes."""

    def __init__(self, text: str, evaluator: Evaluator, scope: Mapping[str, Any]) -> None:
        self.text, self.pos, self.ev, self.scope = text, 0, evaluator, scope

    # --- tokens ----------------------------------------------------------------------------------

    def _peek(self) -> tuple[str, str] | None:
        match = _TOKEN.match(self.text, self.pos)
        if match is None or match.lastgroup is None:
            return None
        return match.lastgroup, match.group(match.lastgroup)

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        match = _TOKEN.match(self.text, self.pos)
        if match is None or match.lastgroup is None:
            raise _Unparsed
        if expected is not None and match.group(match.lastgroup) != expected:
            raise _Unparsed
        self.pos = match.end()
        return match.lastgroup, match.group(match.lastgroup)

    def _at(self, *ops: str) -> bool:
        token = self._peek()
        return token is not None and token[0] in ("op", "name") and token[1] in ops

    def whole(self) -> Any:
        try:
            value = self._expression()
            if self.text[self.pos:].strip():
                raise _Unparsed
            return value
        except (_Unparsed, RecursionError):
            return Unknown(self.text.strip().strip('"') if self.text.startswith('"') else self.text.strip())

    # --- the grammar, evaluated ------------------------------------------------------------------

    def _expression(self) -> Any:
        start = self.pos
        condition = self._binary(0)
        if not self._at("?"):
            return condition
        self._take("?")
        yes = self._expression()
        self._take(":")
        no = self._expression()
        if isinstance(condition, bool):
            return yes if condition else no
        return Unknown(self.text[start:self.pos].strip())

    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"))

    def _binary(self, level: int) -> Any:
        if level == len(self._LEVELS):
            return self._unary()
        start = self.pos
        left = self._binary(level + 1)
        while self._at(*self._LEVELS[level]):
            op = self._take()[1]
            right = self._binary(level + 1)
            left = _operate(op, left, right, self.text[start:self.pos].strip())
        return left

    def _unary(self) -> Any:
        start = self.pos
        if self._at("!", "-"):
            op = self._take()[1]
            value = self._unary()
            if op == "!" and isinstance(value, bool):
                return not value
            if op == "-" and isinstance(value, (int, float)) and not isinstance(value, bool):
                return -value
            return Unknown(self.text[start:self.pos].strip())
        return self._postfix()

    def _postfix(self) -> Any:
        start = self.pos
        value = self._primary()
        while self._at(".", "["):
            splat = _SPLAT.match(self.text, self.pos)
            if splat is not None:
                self.pos = splat.end()
                value = self._splatted(value, full=splat.group(1).startswith("["), start=start)
            elif self._take()[1] == ".":
                value = _get(value, self._attribute_name(), self.text[start:self.pos].strip())
            else:
                index = self._expression()
                self._take("]")
                value = _get(value, index, self.text[start:self.pos].strip())
        return value

    def _attribute_name(self) -> str:
        kind, name = self._take()
        if kind != "name" and not name.isdigit():
            raise _Unparsed
        return name

    def _splatted(self, value: Any, *, full: bool, start: int) -> Any:
        """A splat, its operator taken (HCL's spec, "Splat Operators"): a list is itself, null no
        element and any other value a list of that one; the traversals after it (`.id`, and `[0]`
        after a full splat `[*]`, not after the attribute-only `.*`) apply to each element."""
        steps: list[Any] = []
        while (self._at(".") or (full and self._at("["))) and _SPLAT.match(self.text, self.pos) is None:
            if self._take()[1] == ".":
                steps.append(self._attribute_name())
            else:
                steps.append(self._expression())
                self._take("]")
        text = self.text[start:self.pos].strip()
        if isinstance(value, Unknown):
            return Unknown(text, value.reference)
        items = value if isinstance(value, list) else [] if value is None else [value]
        return [_rest(item, steps, text) for item in items]

    def _primary(self) -> Any:
        start = self.pos
        kind, token = self._take()
        if kind == "number":
            return float(token) if any(c in token for c in ".eE") else int(token)
        if kind == "quote":
            return self._template()
        if kind == "name":
            if token in ("true", "false"):
                return token == "true"
            if token == "null":
                return None
            if self._at("("):
                return self._call(token, start)
            return self._reference(token, start)
        if token == "(":
            value = self._expression()
            self._take(")")
            return value
        if token == "[":
            if self._at("for"):
                return self._for("]", start)
            items: list[Any] = []
            while not self._at("]"):
                items.append(self._expression())
                if not self._at("]"):
                    self._take(",")
            self._take("]")
            return items
        if token == "{":
            if self._at("for"):
                return self._for("}", start)
            entries: dict[str, Any] = {}
            while not self._at("}"):
                ahead = self._peek()
                key = self._take()[1] if ahead is not None and ahead[0] == "name" else self._expression()
                if not self._at("=", ":"):
                    raise _Unparsed
                self._take()
                entries[str(key)] = self._expression()
                if self._at(","):
                    self._take(",")
            self._take("}")
            return entries
        raise _Unparsed

    def _for(self, close: str, start: int) -> Any:
        """A for expression (`[for o in var.origins : o.id if o.enabled]`, `{for k, v in m : k => v}`),
        its opening bracket taken: the body is evaluated once per element, in a scope naming it."""
        self._take("for")
        names = [self._take()[1]]
        if self._at(","):
            self._take(",")
            names.append(self._take()[1])
        self._take("in")
        collection = self._expression()
        self._take(":")
        body = self.pos
        pairs = list(collection.items() if isinstance(collection, Mapping) else enumerate(collection)) \
            if isinstance(collection, (list, Mapping)) else None
        # Read the body once with unknown elements: where it ends, whatever the collection.
        self.pos = self._for_body(body, close, {n: Unknown(n) for n in names})[3]
        self._take(close)
        text = self.text[start:self.pos].strip()
        if pairs is None:
            return Unknown(text)
        items: list[Any] = []
        entries: dict[str, Any] = {}
        for key, value in pairs:
            scope = {names[0]: value} if len(names) == 1 else {names[0]: key, names[1]: value}
            out_key, out_value, keep, _ = self._for_body(body, close, scope)
            if not isinstance(keep, bool):
                return Unknown(text)
            if not keep:
                continue
            if close == "]":
                items.append(out_value)
            elif isinstance(out_key, (str, int, float)) and not isinstance(out_key, bool):
                entries[string_of(out_key) or str(out_key)] = out_value
            else:
                return Unknown(text)
        return items if close == "]" else entries

    def _for_body(self, at: int, close: str, names: Mapping[str, Any]) -> tuple[Any, Any, Any, int]:
        """(key, value, whether the `if` keeps it, where the body ends) of a for expression's body at `at`."""
        parser = _Parser(self.text, self.ev, {**self.scope, **names})
        parser.pos = at
        key = parser._expression() if close == "}" else None
        if close == "}":
            parser._take("=>")
        value = parser._expression()
        if parser._at("..."):
            raise _Unparsed  # grouping mode: left to Terraform
        keep: Any = True
        if parser._at("if"):
            parser._take("if")
            keep = parser._expression()
        return key, value, keep, parser.pos

    def _template(self) -> Any:
        """A quoted string (its opening quote taken): escapes, `$${`, and `${...}` interpolations."""
        parts: list[Any] = []
        literal: list[str] = []
        start = self.pos
        while True:
            if self.pos >= len(self.text):
                raise _Unparsed
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                break
            if char == "\\" and self.pos + 1 < len(self.text):
                decoded, self.pos = _escape(self.text, self.pos)
                literal.append(decoded)
                continue
            if self.text.startswith(("$${", "%%{"), self.pos):
                literal.append(self.text[self.pos + 1:self.pos + 3])
                self.pos += 3
                continue
            if self.text.startswith("%{", self.pos):
                return self._directive_template(start)  # %{ if }, %{ for }: the string as a whole
            if self.text.startswith("${", self.pos):
                parts.append("".join(literal))
                literal = []
                self.pos += 2
                if self.text.startswith("~", self.pos):
                    self.pos += 1
                parts.append(self._expression())
                if self._at("~"):
                    self._take("~")
                self._take("}")
                continue
            literal.append(char)
            self.pos += 1
        parts.append("".join(literal))
        if len(parts) == 3 and parts[0] == parts[2] == "":
            # `"${aws_lambda_function.edge.qualified_arn}"` (Terraform 0.11's way to write any
            # expression): a template of one interpolation and nothing else is that value itself,
            # a list or a reference included, as Terraform evaluates it.
            return parts[1]
        strings = [string_of(p) for p in parts]
        if all(s is not None for s in strings):
            return "".join(s for s in strings if s is not None)
        return TemplateParts(tuple(p for p in parts if p != ""), self.text[start:self.pos - 1])

    def _directive_template(self, start: int) -> str:
        """A quoted template with directives (a heredoc's too), its opening quote at start - 1:
        its escapes decoded outside its sequences, then rendered as a template file is, with this
        parser's names in scope. What it cannot decide is _Unparsed."""
        text, i, template = self.text, start, []
        while True:
            if i >= len(text):
                raise _Unparsed
            char = text[i]
            if char == '"':
                break
            if text.startswith(("$${", "%%{"), i):
                template.append(text[i:i + 3])
                i += 3
            elif text.startswith(("${", "%{"), i):
                end = _closing_brace(text, i + 2)
                template.append(text[i:end + 1])
                i = end + 1
            elif char == "\\" and i + 1 < len(text):
                decoded, i = _escape(text, i)
                template.append(decoded)
            else:
                template.append(char)
                i += 1
        self.pos = i + 1
        return _FileTemplate("".join(template), self.ev).render(self.scope)

    def _call(self, name: str, start: int) -> Any:
        self._take("(")
        args: list[Any] = []
        while not self._at(")"):
            args.append(self._expression())
            if self._at("..."):
                raise _Unparsed
            if not self._at(")"):
                self._take(",")
        self._take(")")
        text = self.text[start:self.pos].strip()
        # A function that only looks at a container's shape (lookup, keys, merge...) answers when
        # the container is known though some of its values are not (`lookup(var.behavior, "x", null)`
        # with a module input whose other values are references); the rest need every value known.
        whole = name not in STRUCTURAL or (name == "lookup" and len(args) > 1 and not known(args[1]))
        if any(isinstance(a, (Unknown, TemplateParts)) for a in args) or (whole and not all(map(known, args))):
            return Unknown(text)
        try:
            if name == "templatefile":
                return self._template_file(args[0], args[1], text)
            return call_function(name, args, self.ev.module.folder, self.ev.note, text)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError, ArithmeticError, StopIteration):
            # Arguments Terraform would refuse (element() of an empty list, md5() of a number): the
            # expression is left as written, with a note, never a traceback.
            return Unknown(text)

    def _template_file(self, file: Any, variables: Any, text: str) -> Any:
        """`templatefile(path, vars)`: the file rendered as Terraform renders a template, with `vars`
        as its only names: `${...}` interpolations, `%{ if }` / `%{ else }` / `%{ endif }` and
        `%{ for x in list }` / `%{ endfor }` directives, `~` strip markers, `$${` / `%%{` literals."""
        content = call_function("file", [file], self.ev.module.folder, self.ev.note, text)
        if not isinstance(content, str) or not isinstance(variables, Mapping):
            return Unknown(text)
        try:
            return _FileTemplate(content, self.ev).render(dict(variables))
        except (_Unparsed, RecursionError, TypeError, ValueError):
            return Unknown(text)

    def _reference(self, root: str, start: int) -> Any:
        if root in self.scope:
            return self.scope[root]
        names: list[str] = []
        while self._at(".") and len(names) < (3 if root == "data" else 2):
            save = self.pos
            self._take(".")
            kind, name = self._take()
            if kind != "name":
                self.pos = save
                break
            names.append(name)
        if root not in ("var", "local", "path") and self._at("[") and len(names) == (2 if root == "data" else 1):
            # `aws_lambda_function.edge[0].arn`, `...["a"].arn`: a resource with count or for_each,
            # taken as the one resource its block describes.
            self._take("[")
            self._expression()
            self._take("]")
            if self._at("."):
                self._take(".")
                names.append(self._take()[1])
            self.ev.note(f"instance:{root}.{names[0]}", f"{self.text[start:self.pos].strip()}: an instance of a "
                                                        "resource with count or for_each; its block is imported as "
                                                        "the one instance")
        text = self.text[start:self.pos].strip()
        if root == "var" and names:
            return _rest(self.ev.variable(names[0]), names[1:], text)
        if root == "local" and names:
            return _rest(self.ev.local(names[0]), names[1:], text)
        if root == "path" and names:
            return str(self.ev.module.folder) if names[0] in ("module", "root", "cwd") else Unknown(text)
        if root == "terraform" and names == ["workspace"]:
            # The workspace `terraform apply` runs in: "default" unless one is selected (Terraform
            # docs, "Workspaces"); names built from it are then the default workspace's.
            self.ev.note("terraform.workspace", 'terraform.workspace: "default" is used (the workspace '
                                                "`terraform workspace select` chose may be another)")
            return "default"
        if root == "data" and len(names) == 3:
            return self.ev.attribute(f"data.{names[0]}.{names[1]}", names[2], self.ev)
        if root == "module" and len(names) == 2 and self.ev.outputs is not None:
            found = self.ev.outputs(names[0], names[1], self.ev)
            return Unknown(text) if isinstance(found, Unknown) and found.reference is None else found
        if root not in ("data", "module", "each", "count", "self", "terraform") and len(names) == 2:
            return self.ev.attribute(f"{root}.{names[0]}", names[1], self.ev)
        return Unknown(text)


class _Unparsed(Exception):
    """What this evaluator does not read."""


# A template's pieces: ("lit", text) | ("expr", start, end) | ("if", start, end, then, else) |
# ("for", names, start, end, body); start/end delimit an expression in the template's text.
_Node = tuple[Any, ...]
_DIRECTIVE = re.compile(r"\s*(?:(?P<kw>if|else|endif|endfor)\b|for\s+(?P<a>[A-Za-z_][\w-]*)\s*"
                        r"(?:,\s*(?P<b>[A-Za-z_][\w-]*)\s*)?in\b)")


class _FileTemplate:
    """A template file as Terraform's templatefile() renders it (Terraform docs, "String Templates"):
    what it cannot decide (a name it was not given, a condition that is not a bool) is _Unparsed."""

    def __init__(self, content: str, evaluator: Evaluator) -> None:
        self.text, self.ev = content, evaluator
        nodes, _, stop = self._nodes(self._segments(), 0, ())
        if stop is not None:
            raise _Unparsed
        self.nodes = nodes

    def _segments(self) -> list[list[Any]]:
        """Literal text and the `${...}` / `%{...}` sequences between, strip markers applied."""
        text, i = self.text, 0
        segments: list[list[Any]] = []
        literal: list[str] = []
        while i < len(text):
            if text.startswith(("$${", "%%{"), i):
                literal.append(text[i + 1:i + 3])
                i += 3
            elif text.startswith(("${", "%{"), i):
                end = _closing_brace(text, i + 2)
                start = i + 2 + (text.startswith("~", i + 2))
                right = text[start:end].rstrip().endswith("~")
                body_end = text.rindex("~", start, end) if right else end
                segments += [["lit", "".join(literal)], [text[i], start, body_end, start > i + 2, right]]
                literal, i = [], end + 1
            else:
                literal.append(text[i])
                i += 1
        segments.append(["lit", "".join(literal)])
        for k, seg in enumerate(segments):  # `~` strips the whitespace (newlines too) on its side
            if seg[0] != "lit":
                if seg[3]:
                    segments[k - 1][1] = segments[k - 1][1].rstrip()
                if seg[4]:
                    segments[k + 1][1] = segments[k + 1][1].lstrip()
        return segments

    def _nodes(self, segments: list[list[Any]], k: int, stops: tuple[str, ...]) -> tuple[list[_Node], int, str | None]:
        nodes: list[_Node] = []
        while k < len(segments):
            seg = segments[k]
            k += 1
            if seg[0] == "lit":
                nodes.append(("lit", seg[1]))
                continue
            if seg[0] == "$":
                nodes.append(("expr", seg[1], seg[2]))
                continue
            found = _DIRECTIVE.match(self.text, seg[1], seg[2])
            if found is None:
                raise _Unparsed
            keyword = found.group("kw") or "for"
            if keyword in stops:
                if self.text[found.end():seg[2]].strip():
                    raise _Unparsed
                return nodes, k, keyword
            if keyword == "if":
                then, k, stop = self._nodes(segments, k, ("else", "endif"))
                otherwise: list[_Node] = []
                if stop == "else":
                    otherwise, k, stop = self._nodes(segments, k, ("endif",))
                if stop != "endif":
                    raise _Unparsed
                nodes.append(("if", found.end(), seg[2], then, otherwise))
            elif keyword == "for":
                body, k, stop = self._nodes(segments, k, ("endfor",))
                if stop != "endfor":
                    raise _Unparsed
                names = tuple(n for n in (found.group("a"), found.group("b")) if n)
                nodes.append(("for", names, found.end(), seg[2], body))
            else:
                raise _Unparsed  # an else, endif or endfor without its if or for
        return nodes, k, None

    def _value(self, start: int, end: int, scope: Mapping[str, Any]) -> Any:
        parser = _Parser(self.text[:end], self.ev, scope)
        parser.pos = start
        value = parser._expression()
        if self.text[parser.pos:end].strip():
            raise _Unparsed
        return value

    def render(self, scope: Mapping[str, Any], nodes: list[_Node] | None = None) -> str:
        out: list[str] = []
        for node in self.nodes if nodes is None else nodes:
            if node[0] == "lit":
                out.append(node[1])
            elif node[0] == "expr":
                shown = string_of(self._value(node[1], node[2], scope))
                if shown is None:
                    raise _Unparsed
                out.append(shown)
            elif node[0] == "if":
                condition = self._value(node[1], node[2], scope)
                if not isinstance(condition, bool):
                    raise _Unparsed
                out.append(self.render(scope, node[3] if condition else node[4]))
            else:
                names, collection = node[1], self._value(node[2], node[3], scope)
                if isinstance(collection, Mapping):  # a map's elements in its keys' lexical order
                    pairs: list[tuple[Any, Any]] = sorted(collection.items())
                elif isinstance(collection, (list, tuple)):
                    pairs = list(enumerate(collection))
                else:
                    raise _Unparsed
                for key, item in pairs:
                    bound = {names[0]: item} if len(names) == 1 else {names[0]: key, names[1]: item}
                    out.append(self.render({**scope, **bound}, node[4]))
        return "".join(out)


def _escape(text: str, i: int) -> tuple[str, int]:
    """The character a quoted string's escape at i (its backslash) stands for, and where it ends."""
    escape = text[i + 1]
    if escape in "uU":
        width = 4 if escape == "u" else 8
        digits = text[i + 2:i + 2 + width]
        if not re.fullmatch(r"[0-9A-Fa-f]+", digits) or len(digits) != width:
            raise _Unparsed  # `"\u12"`: Terraform refuses the escape; the expression is left as written
        return chr(int(digits, 16)), i + 2 + width
    return {"n": "\n", "r": "\r", "t": "\t"}.get(escape, escape), i + 2


def _closing_brace(text: str, i: int) -> int:
    """Where the `}` closing a `${` / `%{` whose body starts at i is: brackets counted, strings skipped."""
    end = closing_bracket(text, i)
    if end < 0 or text[end] != "}":
        raise _Unparsed
    return end


def _rest(value: Any, names: list[str], text: str) -> Any:
    for name in names:
        value = _get(value, name, text)
    return value


def _get(value: Any, key: Any, text: str) -> Any:
    if isinstance(value, Unknown):
        return Unknown(text, value.reference)
    try:
        if isinstance(value, list) and isinstance(key, (int, str)) and str(key).isdigit():
            return value[int(key)]
        if isinstance(value, Mapping) and isinstance(key, str):
            return value[key]
    except (IndexError, KeyError):
        pass
    return Unknown(text)


def _operate(op: str, left: Any, right: Any, text: str) -> Any:
    if not (known(left) and known(right)):
        return Unknown(text)
    if op in ("==", "!="):
        return (left == right) == (op == "==")
    if op in ("&&", "||") and isinstance(left, bool) and isinstance(right, bool):
        return (left and right) if op == "&&" else (left or right)
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
    if numbers:
        if op in ("<", ">", "<=", ">="):
            return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
        if op == "/" and right == 0:
            return Unknown(text)
        return {"+": left + right, "-": left - right, "*": left * right, "/": left / right,
                "%": left % right if right else 0}.get(op, Unknown(text))
    return Unknown(text)
