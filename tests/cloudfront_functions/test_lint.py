"""The language subset of each runtime, refused at load and reported by check (spec §1.5, §1.6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cff_support import RUNTIMES, call, load, request  # noqa: F401
from edgesim.cloudfront_functions import check_cloudfront_function
from edgesim.config import CloudFrontFunctionAssociation
from edgesim.errors import FunctionCodeError, FunctionExecutionError

BOTH = [
    ("for (var x of [1]) {}", 'Token "of"', "for…of"),
    ("var {a} = e;", "destructuring", "destructuring"),
    ("var c = class {};", "a class", "class"),
    ("var a = [].concat([...[1]]);", "spread", "spread"),
    ("var a = e?.request;", "optional chaining", "optional"),
    ("try { x(); } catch { }", "optional catch binding", "catch"),
    ("function* g() { yield 1; }", "generator", "generator"),
    ("var a; a ??= 1;", "nullish assignment", "??="),
]
ONLY_1_0 = [
    ("var a = e.x ?? 1;", "nullish coalescing", 'Token "?"'),
    ("const a = 1;", "const/let", 'Token "const"'),
    ("let a = 1;", "const/let", 'Token "let"'),
]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("snippet, construct, _", BOTH)
async def test_refused_by_both_runtimes(load, runtime: str, snippet: str, construct: str, _: str) -> None:  # noqa: F811
    code = f"function handler(e) {{\n  {snippet}\n  return e.request;\n}}"
    with pytest.raises(FunctionCodeError) as info:
        await load(code, runtime=runtime)
    assert info.value.line == 2 and ":2: " in str(info.value)


@pytest.mark.parametrize("snippet, construct, token", ONLY_1_0)
async def test_refused_by_1_0_only(load, snippet: str, construct: str, token: str) -> None:  # noqa: F811
    code = f"function handler(e) {{\n  {snippet}\n  return e.request;\n}}"
    with pytest.raises(FunctionCodeError, match=construct):
        await load(code, runtime="cloudfront-js-1.0")
    await load(code, runtime="cloudfront-js-2.0", name="ok")


async def test_async_and_import_need_2_0(load) -> None:  # noqa: F811
    with pytest.raises(FunctionCodeError, match="an async function"):
        await load("async function handler(e) { return e.request; }", runtime="cloudfront-js-1.0")
    with pytest.raises(FunctionCodeError, match="import"):
        await load("import cf from 'cloudfront';\nfunction handler(e) { return e.request; }", runtime="cloudfront-js-1.0")
    with pytest.raises(FunctionCodeError, match="module 'fs'"):
        await load("import fs from 'fs';\nfunction handler(e) { return e.request; }")
    with pytest.raises(FunctionCodeError, match="await inside call arguments"):
        await load("async function handler(e) { f(await g()); return e.request; }")


# CloudFront's 2.0 engine answers in njs's words (Illegal export statement, await in arguments not
# supported, Token "of" not supported), and njs takes a default import only: its parser refuses
# `import {x} from`, `import * as m from` and a bare `import "m"` with "Non-default import is not
# supported" (njs_parser.c, njs_parser_import_statement). AWS's docs and samples use the default form.
@pytest.mark.parametrize("statement", [
    "import { kvs } from 'cloudfront';", "import * as cf from 'cloudfront';", "import 'cloudfront';",
])
async def test_a_non_default_import_is_refused_in_njss_words(load, statement: str) -> None:  # noqa: F811
    code = f"{statement}\nfunction handler(e) {{ return e.request; }}"
    with pytest.raises(FunctionCodeError, match="a non-default import") as info:
        await load(code)
    assert info.value.line == 1 and "import cf from 'cloudfront'" in str(info.value)
    fn = await load(code, name="deferred", defer_errors=True)
    with pytest.raises(FunctionExecutionError, match="SyntaxError: Non-default import is not supported in 1"):
        await fn.invoke(call())


async def test_cloudfront_module_by_require_or_by_a_later_import(load) -> None:  # noqa: F811
    # njs resolves require() and import from one module table, and takes an import anywhere at the
    # top level (its only check is the scope): AWS's kvs-jwt-verify sample imports cloudfront second,
    # after crypto; pilchard/imgproxy-aws-cdk's function once did `const cf = require("cloudfront")`.
    for name, code in [
        ("required", "var cf = require('cloudfront');\n"),
        ("second", "import crypto from 'crypto';\nimport cf from 'cloudfront';\n"),
        ("later", "var x = 1;\nimport cf from 'cloudfront';\n"),
    ]:
        fn = await load(code + "function handler(e) { e.request.uri = '/' + typeof cf.kvs; return e.request; }",
                        name=name)
        assert (await fn.invoke(call())).request.uri == "/function"


async def test_await_in_arguments_fails_in_cloudfronts_words(load) -> None:  # noqa: F811
    # What TestFunction answers for `parseFloat(await kvs.get('weight'))` and `JSON.parse(await kvs.get(k))`.
    code = "async function handler(e) {\n  var n = parseFloat(await Promise.resolve('1'));\n  return e.request;\n}"
    fn = await load(code, defer_errors=True)
    with pytest.raises(FunctionExecutionError, match="SyntaxError: await in arguments not supported in 2"):
        await fn.invoke(call())


async def test_deferred_subset_violation_fails_each_run_with_503(load) -> None:  # noqa: F811
    fn = await load("function handler(e) {\n  for (var x of []) {}\n  return e.request;\n}", defer_errors=True)
    with pytest.raises(FunctionExecutionError, match='SyntaxError: Token "of" not supported in this version in 2'):
        await fn.invoke(call())


async def test_syntax_error_and_missing_handler(load) -> None:  # noqa: F811
    with pytest.raises(FunctionCodeError) as info:
        await load("function handler(e) {\n  return e.request\n  x y\n}")
    assert info.value.line == 3 and "SyntaxError" in str(info.value)
    with pytest.raises(FunctionCodeError, match="no top-level `function handler"):
        await load("function main(e) { return e.request; }", name="nohandler")
    with pytest.raises(FunctionCodeError, match="return outside a function"):
        await load("return;\nfunction handler(e) { return e.request; }", name="toplevelreturn")


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_handler_bound_by_a_top_level_var(load, runtime: str) -> None:  # noqa: F811
    # What a bundler emits (webpack's library type "var"): the global is declared, then assigned.
    code = "var handler;\n(function () { handler = function (e) { e.request.uri = '/bundled'; return e.request; }; })();"
    fn = await load(code, runtime=runtime)
    assert (await fn.invoke(call())).request.uri == "/bundled"
    # Or a bundle sets the global property outright (rollup: globalThis.handler = ...).
    code = "var n = 1;\nglobalThis.handler = function (e) { e.request.uri = '/global' + n; return e.request; };"
    fn = await load(code, runtime=runtime, name="global")
    assert (await fn.invoke(call())).request.uri == "/global1"


async def test_top_level_async_arrow_runs_but_async_arguments_and_closures_are_refused(load) -> None:  # noqa: F811
    # 2.0's docs refuse "async arguments and closures"; an async arrow bound at the top level works.
    code = "const twice = async (n) => n * 2;\nasync function handler(e) { e.request.uri = '/' + (await twice(21)); return e.request; }"
    fn = await load(code)
    assert (await fn.invoke(call())).request.uri == "/42"
    for name, snippet in [("argument", "await Promise.all([1].map(async (x) => x));"),
                          ("closure", "var inner = async function () { return e; }; await inner();")]:
        with pytest.raises(FunctionCodeError, match="an async closure") as info:
            await load(f"async function handler(e) {{\n  {snippet}\n  return e.request;\n}}", name=name)
        assert info.value.line == 2


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_any_export_is_an_illegal_export_statement(load, runtime: str) -> None:  # noqa: F811
    # CloudFront's TestFunction on a file ending in `export { handler };` (a file shared with a Node
    # test runner): "SyntaxError: Illegal export statement in <line>", and 503 on every request.
    code = "function handler(e) { e.request.uri = '/exported'; return e.request; }\nexport { handler };"
    with pytest.raises(FunctionCodeError, match="export") as info:
        await load(code, runtime=runtime)
    assert info.value.line == 2
    with pytest.raises(FunctionCodeError, match="export"):
        await load("export function handler(e) { return e.request; }", runtime=runtime, name="declared")
    fn = await load(code, runtime=runtime, name="deferred", defer_errors=True)
    with pytest.raises(FunctionExecutionError, match="SyntaxError: Illegal export statement in 2"):
        await fn.invoke(call())


async def test_nullish_coalescing_runs_on_2_0(load) -> None:  # noqa: F811
    # SST's Router function (cloudfront-js-2.0) defaults its origin override with `override ?? {}`.
    fn = await load("function handler(e) {\n  var o = e.request.querystring.o ?? {value: '/d'};\n"
                    "  e.request.uri = o.value;\n  return e.request;\n}")
    assert (await fn.invoke(call())).request.uri == "/d"
    assert (await fn.invoke(call(request(query="o=/q")))).request.uri == "/q"


async def test_size_limit(load) -> None:  # noqa: F811
    code = "function handler(e) { return e.request; }\n" + "// padding\n" * 1000
    with pytest.raises(FunctionCodeError) as info:
        await load(code)
    assert info.value.code == "FunctionSizeLimitExceeded"
    assert "10240 bytes" in str(info.value)


def test_check_reports_every_problem_with_file_line_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "bad.js"
    path.write_text("const a = 1;\nfunction handler(e) {\n  for (var k of a) {}\n  return e?.request;\n}\n")
    problems = check_cloudfront_function(CloudFrontFunctionAssociation(cloudfront_function=path, runtime="cloudfront-js-1.0"))
    assert problems == [
        f"{path}:1: const/let is not supported in cloudfront-js-1.0 (CloudFront docs: \"JavaScript runtime features for CloudFront Functions\"); use var, or runtime cloudfront-js-2.0",
        f"{path}:3: a for…of loop is not supported in cloudfront-js-1.0 (CloudFront docs: \"JavaScript runtime features for CloudFront Functions\"); loop with an index: for (var i = 0; i < a.length; i++)",
        f"{path}:4: optional chaining (?.) is not supported in cloudfront-js-1.0 (CloudFront docs: \"JavaScript runtime features for CloudFront Functions\"); test each step: a && a.b",
    ]
    assert check_cloudfront_function(CloudFrontFunctionAssociation(
        cloudfront_function=Path(__file__).parents[2] / "functions" / "cff" / "add-index.js")) == []


def test_edgesim_check_lists_each_problem(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from edgesim.cli import main

    (tmp_path / "bad.js").write_text("const a = 1;\nfunction handler(e) {\n  return e?.request;\n}\n")
    (tmp_path / "edgesim.toml").write_text(
        '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:3000"\n\n[default_cache_behavior]\ntarget_origin = "app"\n'
        'functions.viewer-request = { cloudfront_function = "bad.js", runtime = "cloudfront-js-1.0" }\n')
    result = CliRunner().invoke(main, ["check", "--config", str(tmp_path / "edgesim.toml")])
    assert result.exit_code == 1
    assert f"{tmp_path / 'bad.js'}:1: const/let is not supported in cloudfront-js-1.0" in result.output
    assert f"{tmp_path / 'bad.js'}:3: optional chaining (?.)" in result.output


@pytest.mark.parametrize(
    ("code", "where", "message"),
    [
        ("function handler(event) {\n  var request = event.request;\n  request.headers['x'] = { value: ; };\n"
         "  return request;\n}\n", "3:35", "SyntaxError: Unexpected token ';'"),
        ("  var x = ;\nfunction handler(e) { return e.request; }\n", "1:11", "SyntaxError: Unexpected token ';'"),
        ("function handler(e) {\n  return e.request\n  var a = 1 +* 2;\n}\n", "3:14", "SyntaxError: Unexpected token '*'"),
        # Wrapped in edgesim's factory, an unbalanced brace fails past the file: said in the file, no column.
        ("function handler(e) { return e.request;\n", "1", "SyntaxError: Unexpected end of input"),
        ("function handler(e) { return e.request; }}\n", "1", "SyntaxError: Unexpected token '}'"),
    ],
)
async def test_check_says_what_serve_says_for_a_syntax_error_with_its_column(
        tmp_path: Path, load, code: str, where: str, message: str) -> None:  # noqa: F811
    path = tmp_path / "vr.js"
    path.write_text(code)
    # Called inside a running loop here (as from an async test); `edgesim check` calls it outside one.
    problems = check_cloudfront_function(CloudFrontFunctionAssociation(cloudfront_function=path))
    assert problems == [f"{path}:{where}: {message}"]
    with pytest.raises(FunctionCodeError) as info:  # what serve says: the same words, on the same line
        await load(path=path)
    assert str(info.value) == f"{path}:{where.split(':')[0]}: {message}"


def test_edgesim_check_names_v8s_message_for_a_syntax_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from edgesim.cli import main

    (tmp_path / "vr.js").write_text("function handler(event) {\n  var r = event.request;\n  r.headers['x'] = { value: ; };\n"
                                    "  return r;\n}\n")
    (tmp_path / "edgesim.toml").write_text(
        '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:3000"\n\n[default_cache_behavior]\ntarget_origin = "app"\n'
        'functions.viewer-request = { cloudfront_function = "vr.js" }\n')
    result = CliRunner().invoke(main, ["check", "--config", str(tmp_path / "edgesim.toml")])
    assert result.exit_code == 1
    assert result.output == f"error: {tmp_path / 'vr.js'}:3:29: SyntaxError: Unexpected token ';'\n"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_an_exported_handler_is_reported_once_as_the_export(tmp_path: Path, runtime: str) -> None:
    # `export function handler(event)` (a basic-auth function shared on GitHub): the handler is
    # there, the export is what CloudFront refuses. check said so, then also said there was no
    # top-level handler, which sent the reader looking for a function that is plainly in the file.
    path = tmp_path / "exported.js"
    path.write_text("var USER = 'u';\n\nexport function handler(event)\n{\n  return event.request;\n}\n")
    problems = check_cloudfront_function(CloudFrontFunctionAssociation(cloudfront_function=path, runtime=runtime))
    assert len(problems) == 1, problems
    assert f"{path}:3: export is not supported" in problems[0]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("literal, quoted", [("/^\\p{L}+$/u", "u"), ("/a.b/s", "s"), ("/a/gd", "gd"), ("/a/gig", "gig")])
async def test_regexp_flags_other_than_gimy_fail_as_njs_parses_them(load, runtime: str, literal: str,
                                                                     quoted: str) -> None:  # noqa: F811
    # The runtime pages' RegExp is ES 5.1's (g, i, m) plus 2.0's sticky y; njs_regexp_flags() takes
    # those four only. V8 ran /u, /s and /d, and the function then failed every request on CloudFront.
    code = f"function handler(e) {{\n  var ok = /a/gimy;\n  if ({literal}.test(e.request.uri)) {{}}\n  return e.request;\n}}"
    with pytest.raises(FunctionCodeError, match=f"RegExp flag '{quoted[-1]}'") as info:
        await load(code, runtime=runtime)
    assert info.value.line == 3
    fn = await load(code, runtime=runtime, name="deferred", defer_errors=True)
    with pytest.raises(FunctionExecutionError, match=f'SyntaxError: Invalid RegExp flags "{quoted}" in 3'):
        await fn.invoke(call())


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_the_regexp_constructor_takes_the_same_flags(load, runtime: str) -> None:  # noqa: F811
    fn = await load("""function handler(e) {
  var r = new RegExp('a', 'gimy'), out = [r.flags, r instanceof RegExp, RegExp('b').source, 'a,b'.split(/,/).length];
  ['u', 'su', 'gg', 'd'].forEach(function (f) { try { new RegExp('a', f); out.push('ran'); } catch (x) { out.push(String(x)); } });
  console.log(JSON.stringify(out));
  return e.request;
}""", runtime=runtime)
    logs = (await fn.invoke(call())).logs
    assert logs == ['["gimy",true,"b",2,"SyntaxError: Invalid RegExp flags \\"u\\"","SyntaxError: Invalid RegExp flags '
                    '\\"su\\"","SyntaxError: Invalid RegExp flags \\"gg\\"","SyntaxError: Invalid RegExp flags \\"d\\""]']
