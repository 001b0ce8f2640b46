"""A Terraform configuration's local module calls, followed to the distribution a module defines.

A root configuration often defines its distribution through a module (`module "cdn" { source =
"./modules/cdn" ... }`, or a registry module's example calling `source = "../../"`). A module whose
source is a local folder is read as Terraform reads it: its `.tf` files, its variables given the
module block's arguments (evaluated in the caller), its resources addressed `module.cdn.<address>`.
A registry or git source is not fetched: it is read where `terraform init` put it (the
`.terraform/modules/modules.json` manifest names each call's folder), else only named in the error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgesim.errors import ConfigError
from edgesim.terraform_expressions import Evaluator
from edgesim.terraform_hcl import Module, load_module, strip_meta, terraform_files
from edgesim.terraform_values import Unknown

# A module block's meta-arguments, which are not the module's variables.
_META = {"source", "version", "count", "for_each", "providers", "depends_on"}
# Module calls followed below the root (a module calling its own submodules).
_DEPTH = 3


@dataclass(frozen=True)
class ModuleCall:
    """A local module the configuration calls: its files, and the evaluator of its expressions."""

    name: str  # `module.cdn` (`module.site.module.cdn` when nested)
    source: str
    module: Module
    evaluator: Evaluator


def local_source(raw: object, ev: Evaluator) -> str | None:
    """A module block's `source` when it is a local folder (Terraform's `./` or `../` prefix)."""
    source = ev.value(raw)
    return source if isinstance(source, str) and source.startswith(("./", "../")) else None


def _installed(root: Path) -> dict[str, tuple[str, Path]]:
    """`terraform init`'s manifest of the modules it installed: call key ("cdn", "cdn.edge") ->
    (source, folder)."""
    manifest = root / ".terraform" / "modules" / "modules.json"
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8")).get("Modules") or []
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(e["Key"]): (str(e.get("Source", "")), (root / str(e["Dir"])).resolve())
            for e in entries if isinstance(e, dict) and e.get("Key") and e.get("Dir")}


def _call(module: Module, ev: Evaluator, name: str, root: Path) -> ModuleCall | None:
    """The module `module` calls as `name`, when its files are here (a local source, or one
    `terraform init` installed), with an evaluator whose variables are the call's arguments."""
    body = module.modules.get(name)
    if body is None:
        return None
    key = ev.prefix.replace("module.", "")  # `module.site.module.cdn.` -> the manifest's "site.cdn."
    source = local_source(body.get("source"), ev)
    folder = (module.folder / source).resolve() if source is not None else None
    installed = _installed(root) if folder is None else {}
    if folder is None and f"{key}{name}" in installed:
        source, folder = installed[f"{key}{name}"]
    if folder is None or not folder.is_dir() or not terraform_files(folder):
        return None
    try:
        child = load_module(folder)
    except ConfigError as exc:  # a module the distribution may not need: said, not fatal
        ev.note(f"module-error:{folder}", f"module {name} (source {source}) is not read: {exc}")
        return None
    child.tfvars.clear()  # a module's variables come from its caller, not from tfvars beside it
    inputs = {arg: ev.value(raw) for arg, raw in strip_meta(body).items() if arg not in _META}
    address = f"{ev.prefix}module.{name}"
    child_ev = Evaluator(child, ev.attribute, notes=ev.notes, noted=ev.noted, inputs=inputs, prefix=address + ".",
                         outputs=ev.outputs)
    return ModuleCall(address, source or "", child, child_ev)


def module_calls(module: Module, ev: Evaluator, depth: int = 0, root: Path | None = None) -> Iterator[ModuleCall]:
    """The modules `module` calls (and the ones they call) whose files are here, each with an
    evaluator whose variables are the call's arguments and whose notes are the caller's."""
    if depth >= _DEPTH:
        return
    root = root or module.folder
    for name in module.modules:
        call = _call(module, ev, name, root)
        if call is not None:
            yield call
            yield from module_calls(call.module, call.evaluator, depth + 1, root)


def output_reader(root: Path) -> Callable[[str, str, Evaluator], Any]:
    """The hook that answers `module.NAME.OUTPUT` with the output's value, evaluated in the called
    module (a reference to one of its resources follows that resource); an Unknown when not here."""
    calls: dict[tuple[str, str], ModuleCall | None] = {}

    def read(name: str, output: str, ev: Evaluator) -> Any:
        if (ev.prefix, name) not in calls:
            calls[(ev.prefix, name)] = None  # a module reading its own caller's output stays unknown
            calls[(ev.prefix, name)] = _call(ev.module, ev, name, root)
        call = calls[(ev.prefix, name)]
        declared = call.module.outputs.get(output) if call is not None else None
        if call is None or declared is None or "value" not in declared:
            return Unknown(f"module.{name}.{output}")
        return call.evaluator.value(declared["value"])

    return read
