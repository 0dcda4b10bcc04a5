"""Load a v2-model `function_app.py` and index its functions from the library's own binding metadata.

The real host reads the same metadata: the worker calls ``app.get_functions()`` and each function's
``get_function_json()`` (the host's function.json shape) and checks the Python signature against it.
"""
from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import sys
import traceback
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func

from devstack.functions_host.errors import StartupError

log = logging.getLogger(__name__)

TRIGGERS = ("httpTrigger", "serviceBusTrigger", "eventGridTrigger", "timerTrigger")
OUTPUTS = ("http", "serviceBus", "eventGrid", "cosmosDB")
CONTEXT_PARAMETER = "context"


@dataclass(frozen=True)
class Binding:
    """One entry of the function's function.json ``bindings``."""

    name: str
    type: str
    direction: str
    raw: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        """A binding property (camelCase, as in function.json)."""
        return self.raw.get(key, default)


@dataclass(frozen=True)
class FunctionSpec:
    """Everything the host needs to run one function."""

    name: str
    trigger: Binding
    outputs: tuple[Binding, ...]
    user_function: Callable[..., Any]
    parameters: tuple[str, ...]
    annotations: dict[str, Any] = field(default_factory=dict)
    actions_parameter: str | None = None

    @property
    def is_async(self) -> bool:
        """True for ``async def`` functions (run on the worker's event loop, not a thread)."""
        return inspect.iscoroutinefunction(self.user_function)

    @property
    def trigger_annotation(self) -> Any:
        """The type annotation of the trigger parameter (None when absent)."""
        return self.annotations.get(self.trigger.name)

    def describe(self, binding: Binding) -> str:
        """How error messages name a binding of this function."""
        return f"function {self.name!r}, binding {binding.name!r} ({binding.type})"


def import_app(app_dir: Path) -> Any:
    """Import ``<app_dir>/function_app.py`` as the worker does and return its FunctionApp."""
    script = app_dir / "function_app.py"
    if not script.exists():
        raise StartupError(f"no function_app.py in {app_dir}")
    sys.path.insert(0, str(app_dir))  # the app imports its own packages (blueprints) relative to it
    spec = importlib.util.spec_from_file_location("function_app", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # any import-time failure is the app's, reported in one line
        raise StartupError(f"cannot import {script}: {type(exc).__name__}: {exc}{_where(exc, app_dir)}") from None
    apps = [value for value in vars(module).values() if isinstance(value, func.FunctionRegister)]
    if len(apps) != 1:
        raise StartupError(f"{script} must define exactly one FunctionApp at module level (found {len(apps)})")
    return apps[0]


def _where(exc: BaseException, app_dir: Path) -> str:
    """` (at file:line)` for the innermost frame inside the app, to point at the culprit."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if str(app_dir) in (f.filename or "")]
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def index_functions(app: Any) -> list[FunctionSpec]:
    """Every function of the app, validated; StartupError names the function and binding at fault."""
    try:
        functions = app.get_functions()
    except Exception as exc:  # the library validates names/bindings here
        raise StartupError(f"the app's function metadata is invalid: {exc}") from None
    specs = [_index_function(function) for function in functions]
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise StartupError(f"function names must be unique; duplicated: {', '.join(duplicates)}")
    return specs


def _index_function(function: Any) -> FunctionSpec:
    name = function.get_function_name()
    bindings = [_binding(raw) for raw in json.loads(function.get_function_json())["bindings"]]
    triggers = [b for b in bindings if b.type.endswith("Trigger")]
    if len(triggers) != 1:
        raise StartupError(f"function {name!r} must have exactly one trigger (has {len(triggers)})")
    trigger = triggers[0]
    if trigger.type not in TRIGGERS:
        raise StartupError(f"function {name!r}, binding {trigger.name!r}: trigger type {trigger.type!r} "
                           f"is not supported by this host (supported: {', '.join(TRIGGERS)})")
    outputs = tuple(b for b in bindings if b is not trigger)
    for binding in outputs:
        if binding.direction != "OUT" or binding.type not in OUTPUTS:
            raise StartupError(f"function {name!r}, binding {binding.name!r}: {binding.direction.lower()} "
                               f"binding type {binding.type!r} is not supported by this host "
                               f"(outputs supported: {', '.join(OUTPUTS)})")
    user_function = function.get_user_function()
    annotations = _annotations(name, user_function)
    parameters = tuple(inspect.signature(user_function).parameters)
    spec = FunctionSpec(name, trigger, outputs, user_function, parameters, annotations,
                        _actions_parameter(annotations))
    _check_signature(spec)
    return spec


def _binding(raw: dict[str, Any]) -> Binding:
    return Binding(name=str(raw["name"]), type=str(raw["type"]), direction=str(raw["direction"]).upper(),
                   raw=raw)


def _annotations(name: str, user_function: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(user_function)
    except Exception as exc:  # a string annotation that does not resolve
        raise StartupError(f"function {name!r}: cannot resolve its type annotations ({exc})") from None


def _actions_parameter(annotations: dict[str, Any]) -> str | None:
    """The parameter typed ServiceBusMessageActions (the worker recognises it by type, not by binding)."""
    for parameter, annotation in annotations.items():
        if is_message_actions_type(annotation):
            return parameter
    return None


def is_message_actions_type(annotation: Any) -> bool:
    """True for the extension's ServiceBusMessageActions (a GrpcClientType) or a class of that name."""
    if not isinstance(annotation, type):
        return False
    try:
        from azurefunctions.extensions.base import GrpcClientType
    except ImportError:  # the extension is optional; fall back to the documented class name
        return annotation.__name__ == "ServiceBusMessageActions"
    return issubclass(annotation, GrpcClientType)


def _check_signature(spec: FunctionSpec) -> None:
    """The checks the worker makes: every parameter has a binding, every `out` parameter is Out[...]."""
    bound = {spec.trigger.name} | {b.name for b in spec.outputs}
    extra = {CONTEXT_PARAMETER, spec.actions_parameter}
    unbound = [p for p in spec.parameters if p not in bound and p not in extra]
    if unbound:
        raise StartupError(f"function {spec.name!r}: parameter(s) {', '.join(unbound)} have no binding")
    if spec.trigger.name not in spec.parameters:
        raise StartupError(f"function {spec.name!r}: trigger binding {spec.trigger.name!r} has no parameter")
    for binding in spec.outputs:
        if binding.name == "$return":
            continue
        if binding.name not in spec.parameters:
            raise StartupError(f"{spec.describe(binding)}: no parameter of that name")
        annotation = spec.annotations.get(binding.name)
        if annotation is not None and typing.get_origin(annotation) is not func.Out and annotation is not func.Out:
            raise StartupError(f"{spec.describe(binding)}: an output parameter must be typed func.Out[...]")
    if spec.trigger.get("cardinality", "one").lower() == "many":
        raise StartupError(f"{spec.describe(spec.trigger)}: cardinality 'many' (batches) is not supported")
