"""The values a Terraform expression evaluates to here (terraform_expressions.py): a known
value, or what only the deployment decides (`Unknown`, `TemplateParts`), and a `file()`'s text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Unknown:
    """An expression the configuration alone does not decide; `reference` is (address, attribute)
    when it names a resource's or data source's attribute (`aws_lambda_function.edge`, `qualified_arn`)."""

    text: str
    reference: tuple[str, str] | None = None


class FileText(str):
    """A file's content read by `file()`, which remembers the file (a CloudFront Function's code is
    then served from it rather than copied)."""

    path: Path

    def __new__(cls, content: str, path: Path) -> FileText:
        made = super().__new__(cls, content)
        made.path = path
        return made


@dataclass(frozen=True)
class TemplateParts:
    """A string template with unknown parts (`"${aws_lambda_function.edge.arn}:${...version}"`)."""

    parts: tuple[Any, ...]
    text: str


def string_of(value: Any) -> str | None:
    """A known value as a template inserts it."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int)):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return None


def known(value: Any) -> bool:
    if isinstance(value, (Unknown, TemplateParts)):
        return False
    if isinstance(value, list):
        return all(map(known, value))
    if isinstance(value, Mapping):
        return all(map(known, value.values()))
    return True
