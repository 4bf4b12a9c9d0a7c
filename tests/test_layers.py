"""The package's shape: every module imports on its own, layers point down, and each
third-party library is imported by one module (STYLE.md habits 5 and 6)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

from runner.sim import demo_credentials
from tests.conftest import ROOT, sim_server

PACKAGE = ROOT / "runner"
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for path in PACKAGE.rglob("*.py"))

# Lower numbers are lower layers; a module may import its own layer or below.
LAYERS = {
    "runner": 0, "runner.errors": 0, "runner.resources": 0, "runner.clock": 0,
    "runner.secrets": 0, "runner.startup": 0,
    "runner.yamlio": 1, "runner.validation": 1, "runner.templating": 1, "runner.window": 1,
    "runner.spec": 2, "runner.playbook": 3, "runner.catalog": 3, "runner.auth": 3,
    "runner.sim": 4, "runner.journal": 4, "runner.csvinput": 4, "runner.engine": 5,
    "runner.contract": 6,
    "runner.filecheck": 6, "runner.reporting": 6,
    "runner.run_command": 7, "runner.cli": 8, "runner.__main__": 9,
}
OWNERS = {  # third-party library -> the modules allowed to import it
    "yaml": {"runner.yamlio"},
    "jinja2": {"runner.templating.sandbox", "runner.templating.template"},
    "jsonschema": {"runner.validation"}, "referencing": {"runner.validation"},
    "jsonschema_specifications": {"runner.validation"},
    "click": {"runner.cli", "runner.cli.complete", "runner.cli.options", "runner.cli.runs"},
    "uvicorn": {"runner.sim.serve"},
    "httpx": {"runner.engine.services", "runner.engine.launch", "runner.engine.transport",
              "runner.sim.embedded", "runner.auth", "runner.auth.huawei_c2", "runner.auth.rsa_sign",
              "runner.auth.api_key", "runner.auth.bearer"},
    "httptools": {"runner.engine.transport"}, "fastjsonschema": {"runner.fast_validation"},
    "cryptography": {"runner.auth.rsa_sign"},
}


def _layer(module: str) -> int:
    while module not in LAYERS:
        module = module.rsplit(".", 1)[0]
    return LAYERS[module]


def _tree(module: str) -> ast.Module:
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = ROOT / module.replace(".", "/") / "__init__.py"
    return ast.parse(path.read_text(encoding="utf-8"))


def _imports(module: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


@pytest.mark.parametrize("module", MODULES)
def test_imports_point_down(module: str) -> None:
    upward = [name for name in _imports(module)
              if name.startswith("runner") and _layer(name) > _layer(module)]
    assert upward == [], f"{module} (layer {_layer(module)}) imports {upward}"


@pytest.mark.parametrize("module", MODULES)
def test_each_library_is_imported_by_its_one_module(module: str) -> None:
    for name in _imports(module):
        owners = OWNERS.get(name.split(".")[0])
        assert owners is None or module in owners, f"{module} imports {name}"


def test_every_module_imports_fresh() -> None:
    script = "import importlib, sys\n" + "".join(
        f"[sys.modules.pop(m) for m in list(sys.modules) if m.startswith('runner')]\n"
        f"importlib.import_module({module!r})\n" for module in MODULES)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_live_run_starts_without_the_simulator_or_cryptography() -> None:
    """Start-up pays for what a run uses: a live iSales run (C2 signing) loads neither the
    embedded simulator nor cryptography (the speech API's RSA signing), about 20 ms, nor what
    only options it was not given need (--record, --report-junit, --report-html), 10 ms."""
    unused = ("cryptography", "runner.sim.app", "runner.contract", "runner.reporting.junit",
              "runner.reporting.html")
    script = ("import sys\nfrom runner.cli import main\ntry:\n    main(['run', "
              "'tests/data/playbooks/reserve-many.yaml', '--var', 'count=1', '-q'])\n"
              "except SystemExit as done:\n    print(done.code, sorted({p for p in "
              f"{unused!r} for m in sys.modules if m.startswith(p)}}))\n")
    with sim_server() as base:
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, env={
                                  **os.environ, **demo_credentials.ENVIRONMENT,
                                  "ISALES_URL": base})
    assert done.stdout.splitlines()[-1] == "0 []", done.stdout + done.stderr


def _writes_out(module: str) -> list[str]:
    """Where a module prints, or writes to the standard streams itself."""
    return [f"line {node.lineno}" for node in ast.walk(_tree(module))
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "print")
            or (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "sys" and node.attr in ("stdout", "stderr"))]


@pytest.mark.parametrize("module", [m for m in MODULES if _layer(m) < LAYERS["runner.reporting"]])
def test_nothing_below_the_commands_and_reporting_prints(module: str) -> None:
    """The library says what happened (events, errors, returned notices); the command line
    and the reporters decide what the user sees, and where."""
    assert _writes_out(module) == [], f"{module} writes to the standard streams"
