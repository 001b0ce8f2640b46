"""The cloudfront-js-1.0 / 2.0 language subset, checked at load with tree-sitter (spec §1.5).

V8 accepts far more JavaScript than CloudFront's engine. Each construct CloudFront refuses is
found in the syntax tree and reported with its line and the rewrite that works on CloudFront.
`import` statements are also rewritten here into `require()` calls on the same line, because the
user's code runs inside a function (see isolate.py) where `import` is not allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import tree_sitter_javascript
from tree_sitter import Language, Node, Parser

from edgesim.cloudfront_functions.mutation import ANY, written_builtin
from edgesim.docs_links import cite

Runtime = Literal["cloudfront-js-1.0", "cloudfront-js-2.0"]

# The modules a CloudFront Function can load (spec §1.7); `cloudfront` is 2.0 only.
MODULES = {"cloudfront-js-1.0": ("crypto", "querystring"), "cloudfront-js-2.0": ("cloudfront", "crypto", "querystring")}
_RUNTIME_DOCS = cite("functions-javascript-runtime-features")  # the page listing what each runtime supports


@dataclass(frozen=True)
class Violation:
    line: int  # 1-based
    construct: str  # what was found, in words
    token: str  # the token CloudFront's engine names in its error ("of", "const", "class"...)
    fix: str
    # The engine's own words when they are not the generic 'Token "x" not supported' (an export).
    engine_text: str | None = None

    def problem(self, file: str, runtime: str) -> str:
        """One `edgesim check` line: file:line: construct and the fix."""
        return f"{file}:{self.line}: {self.construct} is not supported in {runtime} ({_RUNTIME_DOCS}); {self.fix}"

    def engine_message(self) -> str:
        """The error CloudFront's engine gives at run time (spec §1.10: njs's wording)."""
        if self.engine_text is not None:
            return f"SyntaxError: {self.engine_text} in {self.line}"
        return f'SyntaxError: Token "{self.token}" not supported in this version in {self.line}'


@dataclass(frozen=True)
class Analysis:
    violations: tuple[Violation, ...]
    syntax_error_line: int | None  # first line tree-sitter could not parse, if any
    has_handler: bool
    source: str  # the code with import statements rewritten to require()
    # The built-in containers the code could change (mutation.py), restored after each invocation:
    # paths from the global object, or ("*",) for all of them. Empty for most functions.
    builtin_writes: tuple[str, ...] = ()

    @property
    def mutates_builtins(self) -> bool:
        return bool(self.builtin_writes)


# node type -> (construct, token, fix), refused by both runtimes (spec §1.5's list).
_BOTH: dict[str, tuple[str, str, str]] = {
    "object_pattern": ("destructuring", "{", "assign each property instead: var a = obj.a;"),
    "array_pattern": ("destructuring", "[", "assign each element instead: var a = arr[0];"),
    "class_declaration": ("a class", "class", "use a constructor function and its prototype"),
    "class": ("a class", "class", "use a constructor function and its prototype"),
    "spread_element": ("spread (...)", "...", "use Object.assign(), Array.prototype.concat() or fn.apply()"),
    "optional_chain": ("optional chaining (?.)", "?.", "test each step: a && a.b"),
    "generator_function_declaration": ("a generator function", "*", "return an array instead"),
    "generator_function": ("a generator function", "*", "return an array instead"),
    "yield_expression": ("yield", "yield", "return an array instead"),
}
# refused by cloudfront-js-1.0 only
_V1: dict[str, tuple[str, str, str]] = {
    "lexical_declaration": ("const/let", "const", "use var, or runtime cloudfront-js-2.0"),
    "await_expression": ("await", "await", "use runtime cloudfront-js-2.0"),
}


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(Language(tree_sitter_javascript.language()))


def analyse(code: str, runtime: Runtime) -> Analysis:
    source = code.encode("utf-8")
    tree = _parser().parse(source)
    found: list[Violation] = []
    edits: list[tuple[int, int, str]] = []
    syntax_line: int | None = None
    global_handler = False  # `globalThis.handler = ...` somewhere (a bundle's way to name it)
    writes: set[str] = set()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if (node.is_error or node.is_missing) and syntax_line is None:
            syntax_line = node.start_point[0] + 1
        if node.is_error and (node.text or b"").lstrip().startswith(b"%"):
            # `%Name()` is V8's natives syntax, which edgesim's V8 accepts for its own prelude (v8.py):
            # refused here so user code never reaches it. CloudFront's engine sees a syntax error.
            found.append(Violation(node.start_point[0] + 1, "V8 natives syntax (%Name)", "%",
                                   "it is not JavaScript; remove it"))
        violation = _check_node(node, runtime)
        if violation is not None:
            found.append(violation)
        if node.type == "export_statement":
            found.append(_export_problem(node))
        written = written_builtin(node)
        if written is not None:
            writes.add(written)
        if node.type == "assignment_expression" and not global_handler:
            global_handler = _is_global_handler(node.child_by_field_name("left"))
        if node.type == "import_statement":
            replacement, problem = _import_as_require(node, runtime)
            if problem is not None:
                found.append(problem)
            edits.append((node.start_byte, node.end_byte, replacement))
        stack.extend(reversed(node.children))
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text.encode("utf-8") + source[end:]
    found.sort(key=lambda v: v.line)
    has_handler = global_handler or _has_handler(tree.root_node)
    return Analysis(tuple(found), syntax_line, has_handler, source.decode("utf-8"),
                    (ANY,) if ANY in writes else tuple(sorted(writes)))


def _check_node(node: Node, runtime: Runtime) -> Violation | None:
    line = node.start_point[0] + 1
    kind = node.type
    rule = _BOTH.get(kind) or (_V1.get(kind) if runtime == "cloudfront-js-1.0" else None)
    if rule is not None and node.is_named:  # keyword tokens share some names ("class")
        construct, token, fix = rule
        if kind == "lexical_declaration":
            token = node.children[0].type  # const or let
        return Violation(line, construct, token, fix)
    if kind == "binary_expression" and runtime == "cloudfront-js-1.0" and any(c.type == "??" for c in node.children):
        # 2.0 runs `a ?? b`: SST's Router deploys a cloudfront-js-2.0 function built on it
        # (sst/sst platform/src/components/aws/router.ts, setUrlOrigin: `override = override ?? {}`)
        # and the njs engine CloudFront's error texts come from parses it (NJS_TOKEN_COALESCE).
        # UNCERTAIN for 1.0, an older engine: still refused there.
        return Violation(line, "nullish coalescing (??)", "?", "test for null and undefined: a != null ? a : b")
    if kind == "augmented_assignment_expression" and any(c.type == "??=" for c in node.children):
        # Logical assignment (ES2021) is in neither runtime's feature list (spec §1.5) and no
        # published function uses it: UNCERTAIN for 2.0, kept refused.
        return Violation(line, "nullish assignment (??=)", "?", "assign with a test: if (a == null) a = b;")
    if kind == "for_in_statement" and any(c.type == "of" for c in node.children):
        return Violation(line, "a for…of loop", "of", "loop with an index: for (var i = 0; i < a.length; i++)")
    if kind == "catch_clause" and node.child_by_field_name("parameter") is None:
        return Violation(line, "optional catch binding (catch {})", "{", "name the error: catch (e) {}")
    if kind == "call_expression" and node.children and node.children[0].type == "import":
        return Violation(line, "dynamic import()", "import", "import modules at the top: import cf from 'cloudfront'")
    if kind == "regex_flags" and node.text is not None:
        bad = _bad_regexp_flags(node.text.decode("utf-8"))
        if bad is not None:
            return Violation(line, f"the RegExp flag '{bad[-1]}'", bad,
                             "CloudFront's RegExp takes only the flags g, i, m and y: drop the others "
                             "(for s, write [\\s\\S] instead of .)",
                             engine_text=f'Invalid RegExp flags "{bad}"')
    if kind == "number" and node.text is not None and node.text.endswith(b"n"):
        return Violation(line, "a BigInt literal", "n", "use a Number")
    is_async = any(c.type == "async" for c in node.children)
    if is_async and runtime == "cloudfront-js-1.0":
        return Violation(line, "an async function", "async", "use runtime cloudfront-js-2.0")
    if is_async and kind in ("arrow_function", "function_expression", "function") and (
            not _top_level(node) or (node.parent is not None and node.parent.type == "arguments")):
        # 2.0's docs: "async arguments and closures are not supported": an async function passed
        # as an argument or made inside another function. One bound at the top level works: AWS's
        # sample-simple-dynamic-origin-routing-using-amazon-cloudfront-functions runs on `const
        # getDomain = async (request) => {...}`.
        return Violation(line, "an async closure", "async", "make it a named top-level async function")
    if kind == "return_statement" and _top_level(node):
        # Legal for V8 here only because the code runs inside edgesim's factory function.
        return Violation(line, "return outside a function", "return", "return only from inside handler()")
    if kind == "await_expression" and runtime == "cloudfront-js-2.0" and _inside_arguments(node):
        # CloudFront's TestFunction words it "SyntaxError: await in arguments not supported", with
        # the line (projects that hit it with `JSON.parse(await kvs.get(k))` and
        # `parseFloat(await kvs.get('weight'))` quote it). UNCERTAIN: `new X(await y)` is taken as
        # the same case (njs parses both argument lists alike).
        return Violation(line, "await inside call arguments", "await",
                         "await into a variable first: var v = await x; f(v);",
                         engine_text="await in arguments not supported")
    return None


# The RegExp flags of CloudFront's engine: ES 5.1's g, i, m and 2.0's sticky y (runtime pages, spec
# §1.5). njs's njs_regexp_flags() (nginx/njs src/njs_regexp.c) knows exactly these four; any other
# letter, or one given twice, fails the parse with 'SyntaxError: Invalid RegExp flags "gu"'. V8 runs
# /u, /s and /d, so /^\p{L}+$/u or /a.b/s ran here and failed every request on CloudFront. UNCERTAIN
# for 1.0 and y (the 1.0 page lists ES 5.1 RegExp only): y is taken in both, as njs parses it.
REGEXP_FLAGS = "gimy"


def _bad_regexp_flags(flags: str) -> str | None:
    """The flags up to the first one njs refuses, as its error quotes them; None if all are taken."""
    seen: set[str] = set()
    for i, flag in enumerate(flags):
        if flag not in REGEXP_FLAGS or flag in seen:
            return flags[:i + 1]
        seen.add(flag)
    return None


_FUNCTIONS = ("function_declaration", "function_expression", "function", "arrow_function", "method_definition",
              "generator_function_declaration", "generator_function")


def _top_level(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in _FUNCTIONS:
            return False
        parent = parent.parent
    return True


def _inside_arguments(node: Node) -> bool:
    parent = node.parent
    while parent is not None and parent.type not in ("function_declaration", "function_expression", "arrow_function", "method_definition"):
        if parent.type == "arguments":
            return True
        parent = parent.parent
    return False


def _export_problem(node: Node) -> Violation:
    """Every export is refused, in both runtimes, `export { handler };` included: CloudFront's
    TestFunction answers "SyntaxError: Illegal export statement in <line>" and the live function
    fails every request with 503 (DhananjayThomble/URL-Shortener-App PR #358, checked with
    `aws cloudfront test-function`; njs's parser words it so outside a module). The handler is
    found as a global (spec §1.1): `import cf from 'cloudfront'` is the one module statement taken."""
    return Violation(node.start_point[0] + 1, "export", "export",
                     "delete it: CloudFront finds the global function handler(event), nothing is exported",
                     engine_text="Illegal export statement")


def _import_as_require(node: Node, runtime: Runtime) -> tuple[str, Violation | None]:
    """`import cf from 'cloudfront'` -> `var cf = require("cloudfront");` on the same line.

    A default import only, anywhere at the top level: njs, whose words CloudFront's 2.0 engine
    answers in (spec §1.5), refuses `import {x} from`, `import * as m from` and a bare `import "m"`
    with "Non-default import is not supported" (njs_parser.c, njs_parser_import_statement, whose
    only other check is the scope, so an import need not come first: AWS's kvs-jwt-verify sample
    imports cloudfront second). The docs write it `import cf from 'cloudfront'`, "the first line"
    (DG/helper-functions-origin-modification); no published function uses another form."""
    line = node.start_point[0] + 1
    if runtime == "cloudfront-js-1.0":
        return "", Violation(line, "import", "import", "use require('crypto') in cloudfront-js-1.0")
    source = node.child_by_field_name("source")
    module = source.text.decode("utf-8")[1:-1] if source is not None and source.text else ""
    clause = next((c for c in node.children if c.type == "import_clause"), None)
    names = [c for c in clause.children if c.is_named] if clause is not None else []
    if len(names) != 1 or names[0].type != "identifier":
        example = module if module in MODULES[runtime] else "cloudfront"
        short = "cf" if example == "cloudfront" else example
        return "", Violation(line, "a non-default import", "import",
                             f"import the module's default export: import {short} from '{example}' "
                             f"(then {short}.name for each thing you use)",
                             engine_text=("Non-default import is not supported" if not names or names[0].type != "identifier"
                                          else 'Unexpected token ","'))
    if module not in MODULES[runtime]:
        return "", Violation(line, f"module {module!r}", "import",
                             f"CloudFront Functions can load only {', '.join(MODULES[runtime])}")
    local = names[0].text.decode("utf-8") if names[0].text else ""
    return f"var {local} = require({module!r});", None


def _is_global_handler(target: Node | None) -> bool:
    """`globalThis.handler` as an assignment's target: the global CloudFront looks up (spec §1.1)."""
    if target is None or target.type != "member_expression":
        return False
    obj, prop = target.child_by_field_name("object"), target.child_by_field_name("property")
    return obj is not None and obj.text == b"globalThis" and prop is not None and prop.text == b"handler"


def _has_handler(root: Node) -> bool:
    """A top-level `function handler` or `var handler`, the global CloudFront looks up (spec §1.1).

    A bundler's output declares `var handler;` and assigns the function later (AWS's TypeScript
    sample bundles with webpack's `library: {type: "var"}`), so a var declaration counts too.
    An exported one (`export function handler(event)`) is still the handler: the export is the
    problem, reported on its own (_export_problem), as CloudFront's error names only the export.
    """
    for child in root.children:
        if child.type == "export_statement":
            child = child.child_by_field_name("declaration") or child
        if child.type == "function_declaration":
            name = child.child_by_field_name("name")
            if name is not None and name.text == b"handler":
                return True
        if child.type == "variable_declaration":
            for declarator in child.children:
                name = declarator.child_by_field_name("name") if declarator.type == "variable_declarator" else None
                if name is not None and name.text == b"handler":
                    return True
    return False
