"""Index a v2 Python app with the Azure Functions worker's own indexer (`azure-functions-runtime`).

Runs under Python 3.13 inside `.venv-indexer`. It follows the worker's `worker_init_request` path
(azure_functions_runtime.handle_event): `load_binding_registry()`, then `index_function_app()`
imports the script file and collects the functions, then `process_indexed_function()` runs
`Registry.add_indexed_function()` — the checks of parameters against bindings and of annotations
against binding types that `azure-functions`' own `get_functions()` does not make — and builds the
`RpcFunctionMetadata` the worker would send to the host.
"""
from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from azure_functions_runtime import loader
from azure_functions_runtime.bindings import meta
from azure_functions_runtime.functions import Registry
from worker_protos import build_protos


class AppIndexError(Exception):
    """The app could not be imported or its function app object could not be found."""


@dataclass(frozen=True)
class IndexedFunction:
    """One function as the worker reports it to the host."""

    name: str
    trigger: str
    bindings: tuple[str, ...]


@dataclass(frozen=True)
class FunctionError:
    """One function the worker refuses to load, with the worker's own message."""

    name: str
    message: str


class DropRuntimeErrorLogs(logging.Filter):
    """Drop the runtime's own error logs: they repeat (with a traceback) what the CLI reports."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep records that do not come from inside azure_functions_runtime."""
        return "azure_functions_runtime" not in Path(record.pathname).parts


def runtime_versions() -> str:
    """Versions that decide the outcome, for the summary line."""
    return (f"azure-functions-runtime {version('azure-functions-runtime')}, "
            f"azure-functions {version('azure-functions')}, "
            f"Python {sys.version.split()[0]}")


def index_app(app_dir: Path, script_file: str) -> tuple[list[IndexedFunction], list[FunctionError]]:
    """Index every function of the app; validation errors are collected per function."""
    # The worker makes the app directory importable before it imports the script file.
    sys.path.insert(0, str(app_dir))
    meta.load_binding_registry()
    try:
        functions = loader.index_function_app(str(app_dir / script_file))
    except Exception as exc:
        # The worker appends its whole sys.path to import errors; the first part is the news.
        message = str(exc).split(" Current sys.path:", 1)[0]
        raise AppIndexError(f"{type(exc).__name__}: {message}") from exc
    protos = build_protos()
    registry = Registry()
    indexed: list[IndexedFunction] = []
    errors: list[FunctionError] = []
    # One call per function (the worker passes them all at once and stops at the first error) so
    # that every broken function is reported in one run, each under its own name.
    for function in functions:
        try:
            [metadata], _logs = loader.process_indexed_function(
                protos, registry, [function], str(app_dir))
        except Exception as exc:
            errors.append(FunctionError(function.get_function_name(), _describe(exc, function)))
            continue
        indexed.append(_summarise(metadata, registry))
    return indexed, errors


def _describe(exc: Exception, function: Any) -> str:
    """The worker's FunctionLoadError names function and binding; anything else gets the bindings."""
    text = str(exc)
    if text.startswith("cannot load the "):
        return text
    # e.g. azure-functions' Event Grid converter raises a bare TypeError for a wrong Out[...] type.
    bindings = ", ".join(f"{b.name}:{b.type}" for b in function.get_bindings())
    return f"{type(exc).__name__}: {text} (while checking bindings {bindings})"


def _summarise(metadata: Any, registry: Registry) -> IndexedFunction:
    """Trigger and bindings from the raw binding JSON the host receives (deferred ones marked)."""
    info = registry.get_function(metadata.function_id)
    trigger = ""
    bindings: list[str] = []
    for raw in metadata.raw_bindings:
        binding = json.loads(raw)
        kind = binding["type"]
        if kind.lower().endswith("trigger"):
            trigger = kind
        flags = [str(binding.get("direction", "")).lower()]
        param = info.input_types.get(binding["name"]) if info else None
        if param is not None and param.deferred_bindings_enabled:
            flags.append(f"sdk-type {param.pytype.__name__}")
        bindings.append(f"{binding['name']}:{kind}({', '.join(flags)})")
    if info is not None and info.settlement_client_arg:
        bindings.append(f"{info.settlement_client_arg}:settlement-client")
    return IndexedFunction(metadata.name, trigger, tuple(bindings))
