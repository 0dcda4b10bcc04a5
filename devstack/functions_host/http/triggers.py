"""HTTP triggers: route matching, method filtering, function keys, request/response conversion."""
from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from aiohttp import web
from azure.functions.http import HttpResponseConverter

from devstack.functions_host.errors import InvocationError, StartupError
from devstack.functions_host.http.routes import Route, compile_route, sort_key
from devstack.functions_host.metadata import FunctionSpec
from devstack.functions_host.runner import FunctionRunner
from devstack.functions_host.settings import AppSettings

log = logging.getLogger(__name__)

# Settings holding the keys when --enable-auth is on (documented in docs/functions-host.md).
HOST_KEY_SETTING = "FUNCTIONS_HOST_KEY"
MASTER_KEY_SETTING = "FUNCTIONS_MASTER_KEY"
# The default of the host's FUNCTIONS_REQUEST_BODY_SIZE_LIMIT app setting, 104857600 bytes (100 MB): the
# largest HTTP trigger request body Azure Functions accepts unless an app raises it.
MAX_HTTP_BODY_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class KeyPolicy:
    """Function keys: FUNCTION level accepts the host or master key, ADMIN only the master key."""

    enabled: bool
    host_key: str | None = None
    master_key: str | None = None

    @classmethod
    def from_settings(cls, settings: AppSettings, enabled: bool) -> KeyPolicy:
        """Keys from app settings; with auth on, at least the master key must be set."""
        if not enabled:
            return cls(False)
        master = settings.require(MASTER_KEY_SETTING, needed_by="--enable-auth")
        return cls(True, settings.get(HOST_KEY_SETTING), master)

    def allows(self, level: str, request: web.Request) -> bool:
        """True when the request carries a key good enough for the auth level."""
        return self.refusal(level, request) is None

    def refusal(self, level: str, request: web.Request) -> str | None:
        """Why the request's key is not good enough for the auth level; None when it is."""
        if not self.enabled or level == "anonymous":
            return None
        presented = request.headers.get("x-functions-key") or request.query.get("code")
        if not presented:
            return (f"a key is required (auth level {level}): send it in the x-functions-key header "
                    "or the code query parameter")
        try:
            candidate = presented.encode("utf-8")
        except UnicodeEncodeError:  # aiohttp keeps undecodable header bytes as lone surrogates
            return "the function key is not valid UTF-8"
        accepted = [self.master_key] if level == "admin" else [self.master_key, self.host_key]
        if any(key and hmac.compare_digest(candidate, key.encode()) for key in accepted):
            return None
        return "the key is not valid here" + (" (auth level admin takes only the master key)"
                                               if level == "admin" else "")


@dataclass(frozen=True)
class HttpFunction:
    """An HTTP-triggered function with its compiled route."""

    spec: FunctionSpec
    route: Route
    methods: frozenset[str] | None
    auth_level: str


def http_functions(specs: list[FunctionSpec], settings: AppSettings) -> list[HttpFunction]:
    """The app's HTTP functions, most specific route first."""
    functions = []
    for spec in specs:
        if spec.trigger.type != "httpTrigger":
            continue
        template = settings.expand(spec.trigger.get("route") or spec.name, needed_by=spec.describe(spec.trigger))
        try:
            route = compile_route(template)
        except StartupError as exc:
            raise StartupError(f"{spec.describe(spec.trigger)}: {exc}") from None
        methods = spec.trigger.get("methods")
        functions.append(HttpFunction(spec, route, frozenset(m.upper() for m in methods) if methods else None,
                                      str(spec.trigger.get("authLevel", "function")).lower()))
    return sorted(functions, key=lambda f: sort_key(f.route))


class HttpTriggers:
    """Serves `/<routePrefix>/<route>` for every HTTP function."""

    def __init__(self, functions: list[HttpFunction], route_prefix: str, keys: KeyPolicy,
                 runner: FunctionRunner) -> None:
        self._functions = functions
        self._prefix = route_prefix.strip("/")
        self._keys = keys
        self._runner = runner

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Route, check method and key, invoke, convert the response."""
        path = self._strip_prefix(request.path)
        if path is None:
            return web.Response(status=404)
        matches = [(f, params) for f in self._functions if (params := f.route.match(path)) is not None]
        if not matches:
            return web.Response(status=404)
        allowed = [(f, p) for f, p in matches if f.methods is None or request.method in f.methods]
        if not allowed:
            methods = sorted(set().union(*(f.methods or set() for f, _ in matches)))
            return web.Response(status=405, headers={"Allow": ", ".join(methods)})
        function, params = allowed[0]
        if (refusal := self._keys.refusal(function.auth_level, request)) is not None:
            return web.Response(status=401, text=refusal)
        return await self._invoke(function, request, params)

    def _strip_prefix(self, path: str) -> str | None:
        path = path.strip("/")
        if not self._prefix:
            return path
        head, _, rest = path.partition("/")
        return rest if head.lower() == self._prefix.lower() else None

    async def _invoke(self, function: HttpFunction, request: web.Request, params: dict[str, str]) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_HTTP_BODY_BYTES:
            return web.Response(status=413, text=f"request body is {request.content_length} bytes; HTTP triggers "
                                                 f"accept at most {MAX_HTTP_BODY_BYTES} bytes (100 MB)")
        body = await request.read()  # past the limit without a Content-Length, aiohttp answers 413 itself
        http_request = func.HttpRequest(
            method=request.method, url=str(request.url), headers=dict(request.headers),
            params={key: request.query.get(key, "") for key in request.query}, route_params=params, body=body)
        binding_data = {"method": request.method, "url": str(request.rel_url), "route_params": params}
        try:
            invocation = await self._runner.run(function.spec, http_request, binding_data=binding_data)
        except InvocationError:
            return web.Response(status=500)
        return to_aiohttp(_http_output(function.spec, invocation.outputs))


def _http_output(spec: FunctionSpec, outputs: dict[str, Any]) -> Any:
    for binding in spec.outputs:
        if binding.type == "http" and binding.name in outputs:
            return outputs[binding.name]
    return None


def to_aiohttp(value: Any) -> web.Response:
    """The HTTP response for a function's HTTP output, encoded as the worker encodes it."""
    if value is None:
        return web.Response(status=204)  # the function set no HTTP output
    if isinstance(value, str):
        return web.Response(status=200, text=value)
    if not isinstance(value, func.HttpResponse):
        log.error("HTTP output must be a str or func.HttpResponse, not %s", type(value).__name__)
        return web.Response(status=500)
    datum = HttpResponseConverter.encode(value, expected_type=None).value
    headers = {name: h.value for name, h in datum["headers"].items()}
    response = web.Response(status=int(datum["status_code"].value), body=datum["body"].value)
    for name, header in headers.items():
        response.headers[name] = header
    for cookie in datum.get("cookies") or []:  # the converter moves Set-Cookie headers here
        for morsel in cookie.values():
            response.headers.add("Set-Cookie", morsel.OutputString())
    return response
