"""The package `func azure functionapp publish` (and `azd deploy`) uploads: the tree minus .funcignore.

The file list is built the way the tools build it, with .gitignore semantics (pathspec's GitIgnoreSpec):
an excluded directory is not descended into. Only the app may remain: no virtual environment (issue 14:
.venv-indexer is hundreds of MB), no tool cache, no devstack data, no tests."""
from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import pathspec
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_FILES = {"function_app.py", "host.json", "requirements.txt"}
JUNK_DIRS = [".venv", ".venv-indexer", ".venv-3.13", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
             ".devstack", ".azure", ".vscode", ".git"]


def ignore_spec(root: Path) -> pathspec.GitIgnoreSpec:
    """The .funcignore of ``root`` as the publishing tools read it."""
    return pathspec.GitIgnoreSpec.from_lines((root / ".funcignore").read_text().splitlines())


def package_files(root: Path) -> set[str]:
    """Every file the package would carry, as POSIX paths relative to ``root``."""
    spec, kept = ignore_spec(root), set()
    for directory, dirs, files in os.walk(root):
        rel = Path(directory).relative_to(root)
        dirs[:] = [d for d in dirs if not spec.match_file(f"{(rel / d).as_posix()}/")]
        kept.update(p for p in ((rel / f).as_posix() for f in files) if not spec.match_file(p))
    return kept


def app_packages(root: Path) -> set[str]:
    """The repository's top-level packages that function_app.py needs, following imports transitively."""
    local = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    found: set[str] = set()
    pending = [root / "function_app.py"]
    while pending:
        tree = ast.parse(pending.pop().read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for top in {n.split(".")[0] for n in names} & local - found:
                found.add(top)
                pending.extend((root / top).rglob("*.py"))
    return found


def touch(path: Path, content: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A copy of the app's sources and every other top-level entry, plus the junk a developer's tree holds."""
    for entry in REPO_ROOT.iterdir():
        if entry.name in JUNK_DIRS or entry.name in {"__pycache__"}:
            continue
        if entry.is_dir():
            shutil.copytree(entry, tmp_path / entry.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(entry, tmp_path / entry.name)
    for junk in JUNK_DIRS:
        touch(tmp_path / junk / "lib" / "python3.11" / "site-packages" / "big.py", "x = 1\n")
        touch(tmp_path / junk / "README")
    for package in ("ingestion", "adapters", "devstack", "tests"):
        touch(tmp_path / package / "__pycache__" / "handlers.cpython-311.pyc")
    touch(tmp_path / "ingestion" / "stray.pyc")
    touch(tmp_path / "local.settings.json", "{}")
    return tmp_path


def test_only_the_app_is_published(tree: Path) -> None:
    packages = app_packages(tree)
    assert {"ingestion", "adapters", "core", "contracts", "delivery"} <= packages, "the import walk found the app"
    kept = package_files(tree)
    tops = {p.split("/")[0] for p in kept}
    assert tops == RUNTIME_FILES | packages, sorted(tops ^ (RUNTIME_FILES | packages))
    for package in packages:
        sources = {p.relative_to(tree).as_posix() for p in (tree / package).rglob("*.py")}
        assert sources <= kept, f"{package}: {sorted(sources - kept)[:5]} missing from the package"


@pytest.mark.parametrize("junk", JUNK_DIRS)
def test_no_virtual_environment_cache_or_local_data_is_published(tree: Path, junk: str) -> None:
    assert not [p for p in package_files(tree) if p.split("/")[0] == junk]


def test_no_bytecode_or_local_settings_is_published(tree: Path) -> None:
    kept = package_files(tree)
    assert not [p for p in kept if "__pycache__" in p or p.endswith(".pyc")]
    assert "local.settings.json" not in kept


def test_the_repository_itself_publishes_only_the_app() -> None:
    """The real working tree (whatever caches it holds right now) passes the same check."""
    kept = package_files(REPO_ROOT)
    assert {p.split("/")[0] for p in kept} <= RUNTIME_FILES | app_packages(REPO_ROOT)
    assert kept >= RUNTIME_FILES
