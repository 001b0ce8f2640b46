"""What users read names pages they can open: the CloudFront Developer Guide, never the internal spec.

The spec (and its source tags: AD/x, DG/x, [SCF ...]) is for edgesim's developers; comments and
docstrings may cite it, string literals, which end up in errors, notes and logs, may not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import tree_sitter_javascript
from tree_sitter import Language, Node, Parser

from edgesim.docs_links import PAGES, cite

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "edgesim"
# "spec §2.7", the spec's source tags (AD/x, DG/x), and the bracketed [SCF ...] notes.
INTERNAL = re.compile(r"\bspec\s*§|\b(?:AD|DG)/\w|\[SCF\b")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings: developers' text, free to cite the spec."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def _python_strings(path: Path) -> list[tuple[int, str]]:
    """Every string literal in `path` but its docstrings, f-string pieces included (comments are not in the AST)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip]


def _js_strings(path: Path) -> list[tuple[int, str]]:
    """Every string and template literal in a JavaScript file (comments are separate nodes)."""
    parser = Parser(Language(tree_sitter_javascript.language()))
    tree = parser.parse(path.read_bytes())
    out: list[tuple[int, str]] = []
    stack: list[Node] = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in ("string", "template_string"):
            out.append((node.start_point[0] + 1, (node.text or b"").decode("utf-8")))
        stack.extend(node.children)
    return out


def test_no_message_in_edgesim_cites_the_internal_spec() -> None:
    offenders = [f"{path.relative_to(ROOT)}:{line}: {text!r}"
                 for path in sorted(PACKAGE.rglob("*.py")) for line, text in _python_strings(path) if INTERNAL.search(text)]
    offenders += [f"{path.relative_to(ROOT)}:{line}: {text!r}"
                  for path in sorted(PACKAGE.rglob("*.js")) for line, text in _js_strings(path) if INTERNAL.search(text)]
    assert offenders == []


def test_the_scan_sees_messages_and_skips_docstrings(tmp_path: Path) -> None:
    # The check above is only as good as its scan: a message is caught, a docstring and a comment are not.
    sample = tmp_path / "sample.py"
    sample.write_text('"""Module (spec §1.1)."""\n\ndef f(x):\n    """Doc (spec §1.2)."""\n'
                      '    # comment (spec §1.3)\n    raise ValueError(f"{x} is bad (spec §1.4)")\n')
    assert [text for _, text in _python_strings(sample) if INTERNAL.search(text)] == [" is bad (spec §1.4)"]
    script = tmp_path / "sample.js"
    script.write_text('// comment (spec §1.5)\nthrow new Error("bad (DG/cloudfront-limits)");\n')
    assert [line for line, text in _js_strings(script) if INTERNAL.search(text)] == [2]


@pytest.mark.parametrize("folder", ["samples", "functions"])
def test_files_users_copy_do_not_cite_the_spec(folder: str) -> None:
    # `edgesim init` copies these into a user's project and the README points at them: users read
    # their comments too.
    offenders = [str(path.relative_to(ROOT)) for path in sorted((ROOT / folder).rglob("*"))
                 if path.is_file() and path.suffix in (".py", ".js", ".toml", ".yaml", ".json", ".md")
                 and INTERNAL.search(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_every_cited_page_is_in_the_table() -> None:
    cited: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "cite":
                assert len(node.args) == 1 and isinstance(node.args[0], ast.Constant), f"{path}:{node.lineno}"
                cited.add(node.args[0].value)
    assert cited <= set(PAGES), cited - set(PAGES)
    assert cited == set(PAGES), f"pages no message cites: {set(PAGES) - cited}"


def test_a_reference_is_the_guide_page_title_in_quotes() -> None:
    assert cite("cloudfront-limits") == 'CloudFront docs: "Quotas"'
    with pytest.raises(KeyError):
        cite("no-such-page")
    for key, page in PAGES.items():
        assert page.url == f"https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/{key}.html"


def test_the_readme_lists_every_page_with_its_url() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Where messages point", 1)[1]
    rows = re.findall(r"^\| (.+?) \| <(https://\S+)> \|$", section, flags=re.MULTILINE)
    assert sorted(rows) == sorted((page.title, page.url) for page in PAGES.values())
