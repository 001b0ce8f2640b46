"""`edgesim init`: a new project made from the embedded default distribution, ready to edit.

The default (samples/) is a working distribution with its origin's folder, a CloudFront Function,
a Lambda@Edge handler, tests and sample events, but its functions live in edgesim's own functions/
folder. `init` copies all of it into one folder, each function into its `functions/`, with the paths
in the copied config and tests rewritten to the copies, so that `edgesim serve`, `pytest` and
`edgesim test cases.yaml` run there at once. It never overwrites a file.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from edgesim.config import CONFIG_FILENAME, default_config_path, load_config
from edgesim.config_schema import SCHEMA_FILENAME, SCHEMA_LINE, write_schema_beside
from edgesim.errors import UserError
from edgesim.function_associations import CloudFrontFunctionAssociation
from edgesim.origin_config import S3Origin

# Beside the default's config: what a project starts with besides the config and its functions.
# Text files among them get the same path rewriting as the config.
COMPANIONS = ("cases.yaml", "test_default_distribution.py", "test_functions_directly.py", "events")
_TEXT_SUFFIXES = (".toml", ".py", ".yaml", ".yml")
FUNCTIONS_FOLDER = "functions"


class ScaffoldError(UserError):
    """The project cannot be written where asked (a file would be overwritten)."""


@dataclass
class Created:
    """What `init` wrote: the files and folders at the top of the project, and the functions."""

    folder: Path
    entries: list[Path]
    functions: list[tuple[str, str, Path]]  # (event type, kind, file) as the config has them


def scaffold(target: Path, source: Path | None = None) -> Created:
    """Copy the distribution whose config is `source` (the embedded default) into `target`.

    Each function is one file (as the default's are): a handler's sibling modules are not copied."""
    config_path = source or default_config_path()
    home = config_path.parent
    config = load_config(config_path)
    # Every function file, and where its copy goes; the text that named it, and what names the copy.
    copies: dict[Path, Path] = {}
    functions: list[tuple[str, str, Path]] = []
    for _, event_type, assoc in config.function_associations():
        path = assoc.cloudfront_function if isinstance(assoc, CloudFrontFunctionAssociation) else assoc.path
        copies.setdefault(path, Path(FUNCTIONS_FOLDER) / path.name)
        functions.append((event_type.value, assoc.kind, copies[path]))
    renames = {Path(os.path.relpath(path, home)).as_posix(): new.as_posix() for path, new in copies.items()}
    served = [Path(os.path.relpath(o.directory, home)) for o in config.origins if isinstance(o, S3Origin)]
    top = [Path(CONFIG_FILENAME), *served, *(Path(name) for name in COMPANIONS if (home / name).exists())]
    if copies:
        top.append(Path(FUNCTIONS_FOLDER))
    top.append(Path(SCHEMA_FILENAME))
    clashes = [str(target / entry) for entry in top if (target / entry).exists()]
    if clashes:
        raise ScaffoldError(f"{', '.join(clashes)} already exist{'s' if len(clashes) == 1 else ''}; "
                            "edgesim init never overwrites: pick an empty folder, e.g. "
                            f"`edgesim init {_free_folder_name(target)}`")
    target.mkdir(parents=True, exist_ok=True)
    for entry in top:
        if entry in (Path(FUNCTIONS_FOLDER), Path(SCHEMA_FILENAME)):
            continue
        origin, copy = home / entry, target / entry
        if origin.is_dir():
            shutil.copytree(origin, copy)
        else:
            _copy_text_or_bytes(origin, copy, renames)
    for path, new in copies.items():
        (target / new).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / new)
    # The config's JSON Schema beside it, named on its first line, so an editor completes and checks
    # edgesim.toml as it is written (config_schema.py).
    config_copy = target / CONFIG_FILENAME
    if write_schema_beside(config_copy):
        config_copy.write_text(SCHEMA_LINE + config_copy.read_text(encoding="utf-8"), encoding="utf-8")
    load_config(config_copy)  # the copy stands on its own: a mistake here is edgesim's
    return Created(target, top, functions)


def _copy_text_or_bytes(origin: Path, copy: Path, renames: dict[str, str]) -> None:
    if origin.suffix not in _TEXT_SUFFIXES:
        shutil.copyfile(origin, copy)
        return
    text = origin.read_text(encoding="utf-8")
    for old, new in renames.items():
        text = text.replace(f'"{old}', f'"{new}')  # as a quoted path, in TOML and Python alike
    copy.write_text(text, encoding="utf-8")


def _free_folder_name(taken: Path) -> str:
    """A folder beside `taken` that does not exist yet, for the suggestion: never the one just
    refused (`edgesim init my-edge` run twice was told to run `edgesim init my-edge`)."""
    for n in range(1, 100):
        name = "my-edge" if n == 1 else f"my-edge-{n}"
        if not (taken.parent / name).exists():
            return name if taken.parent == Path(".") else str(taken.parent / name)
    return "a-new-folder"
