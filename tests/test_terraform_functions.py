"""Terraform's built-in functions as `edgesim import` evaluates them, on the examples of Terraform's
own documentation (developer.hashicorp.com/terraform/language/functions/NAME)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from import_support import import_into

from edgesim.terraform_functions import call_function
from edgesim.terraform_values import Unknown


def call(name: str, *args: Any) -> Any:
    return call_function(name, list(args), Path("."), lambda key, note: None, f"{name}(...)")


@pytest.mark.parametrize(("name", "args", "expected"), [
    ("abs", (-12.4,), 12.4), ("ceil", (5.1,), 6), ("floor", (4.9,), 4), ("signum", (-13,), -1),
    ("sum", ([10, 13, 6, 4.5],), 33.5),
    ("base64encode", ("Hello World",), "SGVsbG8gV29ybGQ="), ("base64decode", ("SGVsbG8gV29ybGQ=",), "Hello World"),
    ("md5", ("hello world",), "5eb63bbbe01eeed093cb22bb8f5acdc3"),
    ("sha1", ("hello world",), "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"),
    ("sha256", ("hello world",), "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"),
    ("chomp", ("hello\n",), "hello"), ("chomp", ("hello\r\n",), "hello"), ("chomp", ("hello\n\n",), "hello"),
    ("trim", ("?!hello?!", "!?"), "hello"), ("title", ("hello world",), "Hello World"),
    ("substr", ("hello world", 1, 4), "ello"), ("substr", ("🤔🤷", 0, 1), "🤔"), ("substr", ("hello world", -5, -1), "world"),
    ("strrev", ("hello",), "olleh"), ("one", ([],), None), ("one", (["hello"],), "hello"),
    ("coalescelist", (["a", "b"], ["c", "d"]), ["a", "b"]), ("coalescelist", ([], ["c", "d"]), ["c", "d"]),
    ("range", (3,), [0, 1, 2]), ("range", (1, 4), [1, 2, 3]), ("range", (1, 8, 2), [1, 3, 5, 7]),
    ("range", (4, 1), [4, 3, 2]),
    ("reverse", ([1, 2, 3],), [3, 2, 1]), ("slice", (["a", "b", "c", "d"], 1, 3), ["b", "c"]),
    ("sort", (["e", "d", "a", "x"],), ["a", "d", "e", "x"]), ("zipmap", (["a", "b"], [1, 2]), {"a": 1, "b": 2}),
    ("jsondecode", ('{"hello": "world"}',), {"hello": "world"}), ("tobool", ("true",), True),
    ("urlencode", ("Hello World!",), "Hello+World%21"),
    ("formatlist", ("Hello, %s!", ["Valentina", "Ander", "Olivia", "Sam"]),
     ["Hello, Valentina!", "Hello, Ander!", "Hello, Olivia!", "Hello, Sam!"]),
    ("formatlist", ("%s, %s!", "Salutations", ["Valentina", "Ander"]), ["Salutations, Valentina!", "Salutations, Ander!"]),
    ("jsonencode", ({"hello": "world"},), '{"hello":"world"}'),
])
def test_functions_give_terraforms_documented_results(name: str, args: tuple[Any, ...], expected: Any) -> None:
    assert call(name, *args) == expected


def test_a_function_not_evaluated_here_is_unknown_and_a_bad_argument_raises() -> None:
    # The caller (terraform_expressions) turns either into an Unknown that shows the expression.
    assert isinstance(call("yamldecode", "a: 1"), Unknown)
    with pytest.raises(ValueError):
        call("one", ["a", "b"])


@pytest.mark.parametrize(("name", "args"), [("coalesce", (None, "")), ("coalescelist", ([], [])),
                                            ("tobool", ("maybe",)), ("base64decode", ("not base64!",))])
def test_what_terraform_would_refuse_raises_an_error_the_evaluator_turns_into_unknown(name: str, args: tuple[Any, ...]) -> None:
    # Not StopIteration or a KeyError of its own making escaping as a traceback: a ValueError or
    # KeyError, which terraform_expressions' call turns into an Unknown.
    with pytest.raises((ValueError, KeyError)):
        call(name, *args)


# Arguments Terraform refuses: before, element([], 0) and md5(5) were tracebacks, and range(1e9) built
# a list of a billion numbers (Terraform caps range() at 1,024 elements).
@pytest.mark.parametrize("expression", ['element([], 0)', 'md5(5)', 'coalesce(null, "")', 'ceil("x")', 'sort([[1]])',
                                        'zipmap(["a"], [])', 'formatlist("%s %s", ["a"], ["b", "c"])', 'range(1e9)'])
def test_an_expression_terraform_would_refuse_is_left_as_written(tmp_path: Path, expression: str) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_cloudfront_distribution" "d" {\n enabled = true\n'
        f' comment = {expression}\n'
        ' origin {\n  domain_name = "a.example.com"\n  origin_id = "a"\n }\n'
        ' default_cache_behavior {\n  target_origin_id = "a"\n  viewer_protocol_policy = "allow-all"\n'
        '  allowed_methods = ["GET", "HEAD"]\n  cached_methods = ["GET", "HEAD"]\n }\n}\n')
    _, notes, _ = import_into(tmp_path, tmp_path)
    assert f"distribution comment: ${{{expression}}}" in notes


def test_a_bad_unicode_escape_is_left_as_written(tmp_path: Path) -> None:
    # `"\u12"`: a ValueError traceback out of edgesim import before.
    (tmp_path / "main.tf").write_text(
        'resource "aws_cloudfront_distribution" "d" {\n enabled = true\n comment = "\\u12"\n'
        ' origin {\n  domain_name = "a.example.com"\n  origin_id = "a"\n }\n'
        ' default_cache_behavior {\n  target_origin_id = "a"\n  viewer_protocol_policy = "allow-all"\n'
        '  allowed_methods = ["GET", "HEAD"]\n  cached_methods = ["GET", "HEAD"]\n }\n}\n')
    _, notes, _ = import_into(tmp_path, tmp_path)
    assert "distribution comment: ${\\u12}" in notes
