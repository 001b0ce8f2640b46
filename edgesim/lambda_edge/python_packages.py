"""What a Python Lambda@Edge handler may import from edgesim's own environment, and edgesim's
words when it imports something it may not.

On Lambda a Python handler sees its deployment package (LAMBDA_TASK_ROOT: the handler's folder,
with what `pip install --target` vendored into it), the standard library, and what the Python
runtime itself bundles: the AWS SDK for Python, boto3, and its dependencies (AWS Lambda DG,
"Building Lambda functions with Python" and "Runtime-included SDK versions"; a runtime's
/var/runtime holds boto3, botocore, s3transfer, jmespath, python-dateutil, urllib3 and six, and
since python3.8 no `requests`: AWS Compute Blog, "Upcoming changes to the Python SDK in AWS
Lambda"). Lambda@Edge adds nothing: no layers, no environment variables (spec §2.1; CloudFront
DG, "Restrictions on Lambda@Edge"). A handler that fails to import is a function error, CloudFront's
503 LambdaExecutionError (spec §2.8), as any other init failure is answered.

So the worker runs without the site module (`python -S`: no site-packages, no .pth file, no
editable-install finder) and the shim lets it find, from edgesim's site-packages, only the runtime's
packages, standing in for Lambda's own copy (whose version edgesim cannot match). A handler's own
vendored copy comes first, as /var/task precedes /var/runtime on Lambda's sys.path.
`[distribution] lambda_python_site_packages = true` lets a handler import everything edgesim's
interpreter has, as before.
"""

from __future__ import annotations

import functools
import importlib.machinery
import os
import site
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RuntimePackage:
    """A package Lambda's Python runtime bundles: how a handler imports it, and how pip names it."""

    module: str
    distribution: str


# boto3's dependency tree as Lambda's Python runtimes bundle it (their /var/runtime/*.dist-info).
# UNCERTAIN: Lambda's own site-packages (/var/lang/lib/python3.x/site-packages) may hold pip or
# setuptools too; no AWS page names them for handlers to use, so they are not offered.
RUNTIME_PACKAGES: tuple[RuntimePackage, ...] = (
    RuntimePackage("boto3", "boto3"),
    RuntimePackage("botocore", "botocore"),
    RuntimePackage("s3transfer", "s3transfer"),
    RuntimePackage("jmespath", "jmespath"),
    RuntimePackage("dateutil", "python-dateutil"),
    RuntimePackage("urllib3", "urllib3"),
    RuntimePackage("six", "six"),
)
_BY_MODULE = {package.module: package for package in RUNTIME_PACKAGES}

# The setting that lets a handler import all of edgesim's environment, as the config spells it.
OPT_OUT = "[distribution] lambda_python_site_packages = true"


@functools.lru_cache(maxsize=1)
def site_dirs() -> tuple[str, ...]:
    """The site-packages folders of edgesim's interpreter, where the runtime's packages are found.

    Asked of `site` (this process ran it): the worker, started with -S, cannot tell in a virtual
    environment of Python 3.10 or older. Folders a .pth file adds are left out, as they are
    for the handler."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return tuple(d for d in dict.fromkeys(dirs) if os.path.isdir(d))


def shim_arguments(site_packages: bool) -> list[str]:
    """The Python worker shim's options: the runtime's packages and where to find them, unless the
    handler gets the whole environment (then the interpreter runs its site module as usual)."""
    if site_packages:
        return []
    runtime = ",".join(f"{p.module}={p.distribution}" for p in RUNTIME_PACKAGES)
    return [f"--site={os.pathsep.join(site_dirs())}", f"--runtime-packages={runtime}"]


def installed_here(module: str) -> bool:
    """Whether edgesim's interpreter has top-level `module` in its site-packages."""
    try:
        return importlib.machinery.PathFinder.find_spec(module, list(site_dirs())) is not None
    except (ImportError, ValueError):
        return False


@functools.lru_cache(maxsize=64)
def distribution_of(module: str) -> str:
    """The distribution pip installs `module` from (`jwt` -> PyJWT, `yaml` -> PyYAML), as edgesim's
    environment knows it; the module's own name when it does not. Remembered: reading every installed
    distribution's file list takes a tenth of a second or more, and serve words the same failure
    again for each request to a handler that does not load."""
    known = _BY_MODULE.get(module)
    if known is not None:
        return known.distribution
    import importlib.metadata  # here only: on a failed import, never on the way to serving

    names = importlib.metadata.packages_distributions().get(module) or []
    return names[0] if len(names) == 1 else module


def missing_module_hint(module: str, folder: Path, site_packages: bool = False) -> str:
    """edgesim's words after Lambda's "No module named 'x'": how to give the function `module`.

    Lambda@Edge runs only what the function's package holds, so `pip install --target` into the
    handler's folder is the way, by the distribution's name; a package of the runtime's (boto3) is
    Lambda's to provide, and edgesim stands in for it with its own environment's copy."""
    top = module.split(".")[0]
    runtime = _BY_MODULE.get(top)
    if runtime is not None and not site_packages and not installed_here(top):
        return (f"{top} comes with Lambda's Python runtime (the AWS SDK for Python); edgesim stands in for it with "
                f"the copy installed beside edgesim, and there is none: `pip install {runtime.distribution}` "
                "where edgesim is installed")
    if runtime is None and not site_packages and installed_here(top):
        dist = distribution_of(top)
        return (f"{top} is installed in edgesim's environment ({dist}) but not in the function's package, and "
                f"Lambda@Edge runs only what that package holds: `pip install {dist} --target {folder}`, and deploy "
                f"it with the code (or, knowing Lambda@Edge will not have it, {OPT_OUT})")
    return (f"Lambda@Edge runs only what the function's package holds: install it beside the handler, "
            f"`pip install {distribution_of(top)} --target {folder}`, and deploy it with the code")
