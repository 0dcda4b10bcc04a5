"""An azure-core HTTP transport straight on urllib3, for the sync Cosmos DB client.

Why: azure-core's default sync transport goes through `requests`, which adds a request object, a prepared
request (URL re-parsed, headers merged), cookie-jar bookkeeping and hooks to every call before urllib3 sends it.
The Cosmos SDK needs none of that: it signs and sets every header itself, and reads every body whole. Under load
that layer was about a seventh of the Functions host's CPU (py-spy, bench/e2e_bench.py). This transport hands
the SDK's request to a urllib3 pool as it is and maps urllib3's failures to the azure-core errors the SDK's retry
policies act on, the way azure-core's RequestsTransport maps requests' ones
(azure/core/pipeline/transport/_requests_basic.py): a connection that could not be made is a
ServiceRequestError (safe to retry: nothing was sent), one that broke after sending is a ServiceResponseError.

What it leaves out, on purpose: proxies (adapters/cosmos.py keeps the SDK's own transport whenever a proxy
applies), streamed downloads (the Cosmos SDK never streams) and client certificates.
"""
from __future__ import annotations

from typing import Any

import urllib3
from azure.core.exceptions import (
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpRequest, HttpResponse, HttpTransport
from azure.core.utils import CaseInsensitiveDict
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

# azure-core's defaults for a transport (azure/core/pipeline/transport/_requests_basic.py): 300 s each.
DEFAULT_TIMEOUT = 300.0


class Urllib3TransportResponse(HttpResponse):
    """A whole response: status, headers and body read at once (the Cosmos SDK reads every body whole)."""

    def __init__(self, request: HttpRequest, raw: urllib3.BaseHTTPResponse) -> None:
        super().__init__(request, raw)
        self.status_code = raw.status
        self.headers = CaseInsensitiveDict(raw.headers.items())
        self.reason = raw.reason or ""
        self.content_type = raw.headers.get("Content-Type")
        self._body = raw.data

    def body(self) -> bytes:
        return self._body

    def stream_download(self, pipeline: Any, **kwargs: Any) -> Any:
        """The body in one piece (nothing here streams)."""
        return iter([self._body])


class Urllib3Transport(HttpTransport):  # type: ignore[type-arg]
    """Sends each request through one urllib3 pool manager (kept-alive connections per host, thread-safe).

    ``verify``: True (the system's trust store), False, or a CA bundle path, as azure-core's connection_verify."""

    def __init__(self, verify: bool | str = True, pool_maxsize: int = 32) -> None:
        self._verify, self._pool_maxsize = verify, pool_maxsize
        self._pool: urllib3.PoolManager | None = None

    @property
    def verify(self) -> bool | str:
        """How servers' certificates are checked: True, False or the CA bundle's path."""
        return self._verify

    def __enter__(self) -> Urllib3Transport:
        self.open()
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def open(self) -> None:
        if self._pool is None:
            tls: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED" if self._verify else "CERT_NONE"}
            if isinstance(self._verify, str):
                tls["ca_certs"] = self._verify
            # maxsize: connections kept per host; block=False lets a burst open more and drop the extras after.
            self._pool = urllib3.PoolManager(maxsize=self._pool_maxsize, block=False, **tls)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()
            self._pool = None

    def send(self, request: HttpRequest, **kwargs: Any) -> Urllib3TransportResponse:
        """One request, one response; urllib3 neither retries nor redirects (the SDK's policies decide that)."""
        self.open()
        assert self._pool is not None
        timeout = urllib3.Timeout(connect=kwargs.get("connection_timeout", DEFAULT_TIMEOUT),
                                  read=kwargs.get("read_timeout", DEFAULT_TIMEOUT))
        body = request.data
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            raw = self._pool.urlopen(request.method, request.url, body=body, headers=dict(request.headers),
                                     retries=False, redirect=False, timeout=timeout, preload_content=True)
        except ConnectTimeoutError as exc:
            raise ServiceRequestTimeoutError(exc, error=exc) from exc
        except NewConnectionError as exc:
            raise ServiceRequestError(exc, error=exc) from exc
        except ReadTimeoutError as exc:
            raise ServiceResponseTimeoutError(exc, error=exc) from exc
        except ProtocolError as exc:  # the connection broke after the request went out
            raise ServiceResponseError(exc, error=exc) from exc
        except HTTPError as exc:
            raise ServiceRequestError(exc, error=exc) from exc
        return Urllib3TransportResponse(request, raw)
