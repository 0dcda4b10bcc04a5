"""make check-functions: index the app with the Azure Functions Python worker's own indexer.

Usage: python tools/check_functions.py [--app DIR] [--script-file NAME] [--setup-only]

Any Python 3 may start this file. It finds a Python 3.13 (the worker's indexer,
`azure-functions-runtime`, requires >= 3.13), builds `.venv-indexer` with it when missing or when
its requirements changed, and runs itself again inside that virtualenv, where `function_index`
does the indexing. Without a Python 3.13 it prints "skipped: no Python 3.13" and exits 0.
Exit codes: 0 all functions index, 1 an indexing error, 2 bad usage (no such app).
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV = REPO_ROOT / ".venv-indexer"
STAMP = VENV / ".check-functions-installed"
# Pinned: the validation rules live in this package, so a new release may change the verdict.
RUNTIME_REQUIREMENT = "azure-functions-runtime==1.3.0"
APP_REQUIREMENTS = REPO_ROOT / "requirements.txt"
PREFIX = "check-functions:"


def find_python313() -> str | None:
    """A Python 3.13 interpreter: $CHECK_FUNCTIONS_PYTHON, python3.13 on PATH, then pyenv's."""
    candidates = [os.environ.get("CHECK_FUNCTIONS_PYTHON"), shutil.which("python3.13")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates += [str(p) for p in sorted((pyenv_root / "versions").glob("3.13*/bin/python3.13"),
                                          reverse=True)]
    for candidate in filter(None, candidates):
        executable = _python313_executable(candidate)
        if executable:
            return executable
    return None


def _python313_executable(command: str) -> str | None:
    """The real interpreter behind ``command`` (a pyenv shim, say) if it runs and is 3.13."""
    try:
        probe = subprocess.run(
            [command, "-c", "import sys; print(sys.version_info[:2] == (3, 13), sys.executable)"],
            capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    is_313, _, executable = probe.stdout.strip().partition(" ")
    return executable if probe.returncode == 0 and is_313 == "True" else None


def _requirements_digest(python: str) -> str:
    """Changes whenever the venv must be rebuilt: interpreter, runtime pin or app requirements."""
    text = f"{python}\n{RUNTIME_REQUIREMENT}\n{APP_REQUIREMENTS.read_text(encoding='utf-8')}"
    return hashlib.sha256(text.encode()).hexdigest()


def ensure_venv(python: str) -> Path:
    """Create or refresh .venv-indexer; returns its interpreter. Raises CalledProcessError."""
    venv_python = VENV / "bin" / "python"
    digest = _requirements_digest(python)
    if venv_python.exists() and STAMP.exists() and STAMP.read_text().strip() == digest:
        return venv_python
    print(f"{PREFIX} building {VENV.name} with {python} (first run takes a minute)", flush=True)
    if _python313_executable(str(venv_python)) is None:
        subprocess.run([python, "-m", "venv", "--clear", str(VENV)], check=True)
    # Everything in the app's requirements.txt installs on 3.13 (azure-functions resolves to the
    # last 1.x that allows 3.13: 1.26 declares Requires-Python <3.13), so the app is imported
    # with the same packages it is deployed with.
    subprocess.run([str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    RUNTIME_REQUIREMENT, "-r", str(APP_REQUIREMENTS)], check=True)
    STAMP.write_text(digest + "\n")
    return venv_python


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="check_functions", description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=REPO_ROOT,
                        help="directory holding the app's script file (default: repo root)")
    parser.add_argument("--script-file", default=os.environ.get("PYTHON_SCRIPT_FILE_NAME",
                                                                "function_app.py"),
                        help="the worker's PYTHON_SCRIPT_FILE_NAME (default function_app.py)")
    parser.add_argument("--setup-only", action="store_true",
                        help="only build .venv-indexer, do not index")
    return parser.parse_args(argv)


def _inside_indexer_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def launch(args: argparse.Namespace, argv: list[str]) -> int:
    """Outside the indexer venv: find 3.13, build the venv, run this file again inside it."""
    python = find_python313()
    if python is None:
        print(f"{PREFIX} skipped: no Python 3.13 (looked at $CHECK_FUNCTIONS_PYTHON, python3.13 "
              "on PATH and pyenv versions); the worker's indexer needs Python 3.13")
        return 0
    try:
        venv_python = ensure_venv(python)
    except subprocess.CalledProcessError as exc:
        print(f"{PREFIX} FAILED to build {VENV.name}: {exc}", file=sys.stderr)
        return 1
    if args.setup_only:
        print(f"{PREFIX} {VENV.name} ready ({venv_python})")
        return 0
    return subprocess.run([str(venv_python), str(Path(__file__).resolve()), *argv],
                          check=False).returncode


def run_index(args: argparse.Namespace) -> int:
    """Inside the indexer venv: index the app and print one line per function."""
    from function_index import AppIndexError, DropRuntimeErrorLogs, index_app, runtime_versions

    # Warnings the app or azure-functions log while importing stay visible, one line each.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(DropRuntimeErrorLogs())
    app_dir = args.app.resolve()
    if not (app_dir / args.script_file).is_file():
        print(f"{PREFIX} no {args.script_file} in {app_dir}", file=sys.stderr)
        return 2
    try:
        indexed, errors = index_app(app_dir, args.script_file)
    except AppIndexError as exc:
        print(f"{PREFIX} FAILED: cannot index {app_dir / args.script_file}: {exc}", file=sys.stderr)
        return 1
    for function in indexed:
        print(f"ok    {function.name}  trigger={function.trigger}  {'  '.join(function.bindings)}")
    for error in errors:
        print(f"FAIL  {error.name}: {error.message}")
    summary = (f"{len(indexed)} function(s) indexed, {len(errors)} rejected "
               f"by the worker's indexer ({runtime_versions()})")
    if errors:
        print(f"{PREFIX} FAILED: {summary}", file=sys.stderr)
        return 1
    print(f"{PREFIX} {summary}")
    return 0


def main(argv: list[str]) -> int:
    """Entry point for both roles (launcher outside the venv, indexer inside it)."""
    args = _parse(argv)
    if _inside_indexer_venv():
        return 0 if args.setup_only else run_index(args)
    return launch(args, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
