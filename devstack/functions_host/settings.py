"""host.json options and app settings (local.settings.json `Values` under the real environment)."""
from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.functions_host.errors import StartupError

log = logging.getLogger(__name__)

# host.json `logging.logLevel` uses .NET level names
# (https://learn.microsoft.com/azure/azure-functions/functions-host-json#logging).
_DOTNET_LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "information": logging.INFO,
                  "warning": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL,
                  "none": logging.CRITICAL + 10}
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?$")
_SETTING_EXPRESSION = re.compile(r"%([^%]+)%")


def parse_timespan(value: str | int | float) -> float:
    """Seconds in a .NET TimeSpan string such as ``00:05:00`` or ``1.02:00:00.5``."""
    if isinstance(value, (int, float)):
        return float(value)
    match = _TIMESPAN.match(value.strip())
    if not match:
        raise StartupError(f"host.json: {value!r} is not a TimeSpan like '00:05:00'")
    days, hours, minutes, seconds, fraction = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float(f"0.{fraction}") if fraction else 0.0)


@dataclass(frozen=True)
class ServiceBusOptions:
    """host.json `extensions.serviceBus`, defaults of the Service Bus extension 5.x."""

    prefetch_count: int = 0
    auto_complete_messages: bool = True
    max_auto_lock_renewal_duration: float = 300.0
    max_concurrent_calls: int = 16 * (os.cpu_count() or 1)
    max_concurrent_sessions: int = 8
    # The extension leaves SessionIdleTimeout unset, so the processor falls back to its TryTimeout
    # (60 s): how long a session with no message keeps its slot before the next session is taken.
    session_idle_timeout: float = 60.0
    # clientRetryOptions.tryTimeout (ServiceBusRetryOptions.TryTimeout, default 60 s): also how long the
    # session processor's accept of the next available session waits.
    try_timeout: float = 60.0
    # `clientRetryOptions` mapped to the SDK client's retry keywords (retry_total, retry_backoff_*).
    client_retry: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HostOptions:
    """What the host reads from host.json."""

    route_prefix: str = "api"
    function_timeout: float | None = 300.0
    log_level: int = logging.INFO
    service_bus: ServiceBusOptions = field(default_factory=ServiceBusOptions)


HOST_OVERRIDE_PREFIX = "AzureFunctionsJobHost__"


def load_host_json(app_dir: Path, overrides: Mapping[str, str] | None = None) -> HostOptions:
    """Read ``host.json`` (absent file = all defaults), with `AzureFunctionsJobHost__a__b` settings applied."""
    path = app_dir / "host.json"
    document = _read_json(path) if path.exists() else {}
    _apply_overrides(document, overrides or {})
    extensions = document.get("extensions") or {}
    prefix = (extensions.get("http") or {}).get("routePrefix", "api")
    return HostOptions(
        route_prefix=str(prefix).strip("/"),
        function_timeout=_function_timeout(document.get("functionTimeout")),
        log_level=_log_level(document.get("logging") or {}),
        service_bus=_service_bus_options(extensions.get("serviceBus") or {}),
    )


def _apply_overrides(document: dict[str, Any], settings: Mapping[str, str]) -> None:
    """App settings override host.json values, `__` separating the path (case-insensitive keys), as on
    Azure: https://learn.microsoft.com/azure/azure-functions/functions-host-json#override-hostjson-values."""
    for name, value in settings.items():
        if not name.lower().startswith(HOST_OVERRIDE_PREFIX.lower()):
            continue
        *parents, leaf = name[len(HOST_OVERRIDE_PREFIX):].split("__")
        node = document
        for key in parents:
            key = _same_key(node, key)
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[_same_key(node, leaf)] = _setting_value(value)


def _same_key(node: dict[str, Any], key: str) -> str:
    """The key already in ``node`` that equals ``key`` ignoring case (host.json keys are case-insensitive)."""
    return next((existing for existing in node if existing.lower() == key.lower()), key)


def _setting_value(value: str) -> Any:
    """Settings are strings; numbers and booleans in them mean numbers and booleans in host.json."""
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return int(value) if value.strip().lstrip("-").isdigit() else value


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise StartupError(f"{path.name}: not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise StartupError(f"{path.name}: must hold a JSON object")
    return document


def _function_timeout(value: Any) -> float | None:
    # "-1" means unbounded (https://learn.microsoft.com/azure/azure-functions/functions-host-json#functiontimeout).
    if value is None:
        return 300.0
    if str(value).strip() == "-1":
        return None
    return parse_timespan(value)


def _log_level(logging_section: Mapping[str, Any]) -> int:
    name = str((logging_section.get("logLevel") or {}).get("default", "Information")).lower()
    if name not in _DOTNET_LEVELS:
        raise StartupError(f"host.json: unknown logging.logLevel.default {name!r}")
    return _DOTNET_LEVELS[name]


def _service_bus_options(section: Mapping[str, Any]) -> ServiceBusOptions:
    defaults = ServiceBusOptions()
    # Extension 5.x keys are flat; 4.x nested them under messageHandlerOptions/sessionHandlerOptions.
    flat = {**(section.get("messageHandlerOptions") or {}), **(section.get("sessionHandlerOptions") or {}),
            **section}
    renew = flat.get("maxAutoLockRenewalDuration", flat.get("maxAutoRenewDuration"))
    idle = flat.get("sessionIdleTimeout", flat.get("messageWaitTimeout"))
    return ServiceBusOptions(
        prefetch_count=int(flat.get("prefetchCount", defaults.prefetch_count)),
        auto_complete_messages=bool(flat.get("autoCompleteMessages", flat.get("autoComplete", True))),
        max_auto_lock_renewal_duration=parse_timespan(renew) if renew is not None
        else defaults.max_auto_lock_renewal_duration,
        max_concurrent_calls=int(flat.get("maxConcurrentCalls", defaults.max_concurrent_calls)),
        max_concurrent_sessions=int(flat.get("maxConcurrentSessions", defaults.max_concurrent_sessions)),
        session_idle_timeout=parse_timespan(idle) if idle is not None else defaults.session_idle_timeout,
        client_retry=_client_retry(flat.get("clientRetryOptions") or {}),
        try_timeout=_try_timeout(flat.get("clientRetryOptions") or {}, defaults.try_timeout),
    )


def _try_timeout(options: Mapping[str, Any], default: float) -> float:
    value = options.get("tryTimeout")
    return parse_timespan(value) if value is not None else default


def _client_retry(options: Mapping[str, Any]) -> dict[str, Any]:
    """host.json `clientRetryOptions` (.NET ServiceBusRetryOptions) as azure-servicebus client keywords."""
    retry: dict[str, Any] = {}
    if "maxRetries" in options:
        retry["retry_total"] = int(options["maxRetries"])
    if "delay" in options:
        retry["retry_backoff_factor"] = parse_timespan(options["delay"])
    if "maxDelay" in options:
        retry["retry_backoff_max"] = parse_timespan(options["maxDelay"])
    if "mode" in options:
        retry["retry_mode"] = str(options["mode"]).lower()
    return retry


class AppSettings:
    """App settings: the process environment over local.settings.json ``Values`` (as `func start` does)."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    @classmethod
    def load(cls, app_dir: Path, environ: Mapping[str, str] | None = None) -> AppSettings:
        """Merge ``local.settings.json`` Values with the environment; the environment wins."""
        environ = os.environ if environ is None else environ
        path = app_dir / "local.settings.json"
        values: dict[str, str] = {}
        if path.exists():
            raw = _read_json(path).get("Values") or {}
            values = {str(key): str(value) for key, value in raw.items()}
        return cls({**values, **environ})

    def export_to(self, environ: dict[str, str] | os._Environ[str]) -> None:
        """Make every setting visible to the app through ``os.environ`` (where apps read them)."""
        for key, value in self._values.items():
            environ.setdefault(key, value)

    def values(self) -> dict[str, str]:
        """Every setting (a copy)."""
        return dict(self._values)

    def get(self, name: str) -> str | None:
        """A setting's value, or None."""
        return self._values.get(name)

    def require(self, name: str, *, needed_by: str) -> str:
        """A setting's value; a StartupError naming who needs it when it is missing or empty."""
        value = self._values.get(name)
        if not value:
            raise StartupError(f"{needed_by} needs app setting {name!r}, which is not set")
        return value

    def expand(self, value: str, *, needed_by: str) -> str:
        """Resolve ``%Setting%`` binding expressions, as the host does for names and schedules."""
        return _SETTING_EXPRESSION.sub(lambda m: self.require(m.group(1), needed_by=needed_by), value)

    def is_disabled(self, function_name: str) -> bool:
        """`AzureWebJobs.<name>.Disabled` (or the Linux spelling with `__`) set to true or 1."""
        for key in (f"AzureWebJobs.{function_name}.Disabled", f"AzureWebJobs__{function_name}__Disabled"):
            if (self._values.get(key) or "").strip().lower() in ("true", "1"):
                return True
        return False
