"""The app's layering (docs/app.md "Architecture"): one owner per concept, handlers free of the Azure SDKs.

Read from the sources' imports (ast), plus one real import per service in a fresh interpreter."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ["ingestion", "package", "drone_scheduler", "delivery", "remediation", "notifications"]
APP = ["core", "adapters", "contracts", *SERVICES]


def imports_of(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def sources(*folders: str) -> list[Path]:
    """The Python files of the given top-level folders."""
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


def top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("service", SERVICES)
def test_handlers_load_no_azure_sdk_and_no_functions_library(service: str) -> None:
    probe = (f"import sys, {service}.handlers; "
             "print(sorted(m for m in sys.modules if m == 'azure' or m.startswith('azure.')))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", f"{service}.handlers loads {loaded.stdout.strip()}"


@pytest.mark.parametrize("folder", ["core", "contracts"])
def test_core_and_contracts_import_no_azure_package(folder: str) -> None:
    offenders = {p.relative_to(ROOT).as_posix(): sorted(m for m in imports_of(p) if top(m) == "azure")
                 for p in sources(folder)}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_contracts_import_nothing_of_the_services_core_or_adapters() -> None:
    inner = {*SERVICES, "core", "adapters"}
    offenders = {p.relative_to(ROOT).as_posix(): sorted(m for m in imports_of(p) if top(m) in inner)
                 for p in sources("contracts")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_imports_no_service_and_no_adapter() -> None:
    offenders = {p.relative_to(ROOT).as_posix(): sorted(m for m in imports_of(p) if top(m) in {*SERVICES, "adapters"})
                 for p in sources("core")}
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reads_no_other_service_documents(service: str) -> None:
    """Each service owns its containers: its documents and repository are imported by itself and the composition
    root only (docs/design.md "Data")."""
    others = [s for s in SERVICES if s != service]
    offenders = {}
    for path in sources(*others, "core", "contracts"):
        owned = sorted(m for m in imports_of(path) if m in {f"{service}.documents", f"{service}.repository"})
        if owned:
            offenders[path.relative_to(ROOT).as_posix()] = owned
    assert offenders == {}


def test_the_app_and_devstack_never_import_each_other() -> None:
    app_to_devstack = [p.relative_to(ROOT).as_posix() for p in [ROOT / "function_app.py", *sources(*APP)]
                       if any(top(m) == "devstack" for m in imports_of(p))]
    devstack_to_app = [p.relative_to(ROOT).as_posix() for p in sources("devstack")
                       if any(top(m) in {*APP, "function_app"} for m in imports_of(p))]
    assert (app_to_devstack, devstack_to_app) == ([], [])
