"""DocumentContainer on azure-cosmos (sync SDK): status codes mapped to the port's typed errors."""
from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from azure.core import MatchConditions
from azure.core.pipeline.transport import HttpTransport, RequestsTransport
from azure.cosmos import ContainerProxy, CosmosClient
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosBatchOperationError,
    CosmosHttpResponseError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_environ_proxies

from adapters.http_transport import Urllib3Transport
from core.ports import BatchFailed, BatchOperation, Conflict, Document, InvalidId, NotFound, PreconditionFailed
from core.settings import COSMOS_CONNECTION, Settings

_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CosmosContainer:
    """One Cosmos DB container; the partition key value of writes comes from the document itself."""

    def __init__(self, container: ContainerProxy) -> None:
        self._container = container

    def read(self, item_id: str, partition_key: str) -> Document | None:
        """The document, or None if absent."""
        try:
            return dict(self._container.read_item(item_id, partition_key=partition_key))
        except CosmosResourceNotFoundError:
            return None

    def create(self, document: Document) -> Document:
        """Create; Conflict if the id exists in that partition."""
        try:
            with _valid_id(document):
                return dict(self._container.create_item(document))
        except CosmosResourceExistsError as exc:
            raise Conflict(document["id"]) from exc

    def upsert(self, document: Document) -> Document:
        """Create or replace unconditionally."""
        with _valid_id(document):
            return dict(self._container.upsert_item(document))

    def replace(self, document: Document, if_match: str | None = None) -> Document:
        """Replace; NotFound, or PreconditionFailed on a stale ETag (HTTP If-Match -> 412)."""
        condition: dict[str, Any] = ({"etag": if_match, "match_condition": MatchConditions.IfNotModified}
                                     if if_match else {})
        try:
            with _valid_id(document):
                return dict(self._container.replace_item(document["id"], document, **condition))
        except CosmosResourceNotFoundError as exc:
            raise NotFound(document["id"]) from exc
        except CosmosAccessConditionFailedError as exc:
            raise PreconditionFailed(document["id"]) from exc

    def delete(self, item_id: str, partition_key: str) -> None:
        """Delete; NotFound if absent."""
        try:
            self._container.delete_item(item_id, partition_key=partition_key)
        except CosmosResourceNotFoundError as exc:
            raise NotFound(item_id) from exc

    def query_kind(self, partition_key: str, kind: str) -> list[Document]:
        """Every document of one kind in one partition (a single-partition query)."""
        items = self._container.query_items("SELECT * FROM c WHERE c.kind = @kind",
                                            parameters=[{"name": "@kind", "value": kind}], partition_key=partition_key)
        return [dict(item) for item in items]

    def query_due(self, field: str, until: str, limit: int) -> list[Document]:
        """A cross-partition query; ``field`` is one of the app's own property names (checked, never user input)."""
        if not _PROPERTY.match(field):
            raise ValueError(f"not a property name: {field!r}")
        # c.f <= @until is undefined (so false) for a missing field, null or a non-string: Cosmos compares
        # only values of the same type (Cosmos DB docs, "Comparison operators").
        items = self._container.query_items(
            f"SELECT TOP @limit * FROM c WHERE c.{field} <= @until",
            parameters=[{"name": "@limit", "value": limit}, {"name": "@until", "value": until}],
            enable_cross_partition_query=True)
        return [dict(item) for item in items]

    def execute_batch(self, operations: Sequence[BatchOperation], partition_key: str) -> None:
        """A transactional batch; on failure Cosmos answers 207 and the SDK raises with the failing index."""
        try:
            self._container.execute_item_batch([_operation(op) for op in operations], partition_key=partition_key)
        except CosmosBatchOperationError as exc:
            index = exc.error_index or 0
            responses = exc.operation_responses or []
            status = responses[index].get("statusCode", exc.status_code) if index < len(responses) else exc.status_code
            raise BatchFailed(index, int(status or 0)) from exc


@contextmanager
def _valid_id(document: Document) -> Iterator[None]:
    """Map an id Cosmos refuses to InvalidId: the SDK checks '/', '\\', '#', '?', tab and line breaks itself
    (ValueError "Id contains illegal chars."), the service answers 400 for the rest."""
    try:
        yield
    except ValueError as exc:
        raise InvalidId(f"invalid document id {document.get('id')!r}: {exc}") from exc
    except CosmosHttpResponseError as exc:
        if exc.status_code == 400:
            raise InvalidId(f"invalid document {document.get('id')!r}: {exc.message}") from exc
        raise


def _operation(op: BatchOperation) -> tuple[Any, ...]:
    # Shapes documented on ContainerProxy.execute_item_batch (azure-cosmos 4.x).
    if op.op == "delete":
        return ("delete", (op.item_id,))
    if op.op == "replace":
        return ("replace", (op.item_id, op.document), {"if_match_etag": op.if_match} if op.if_match else {})
    return (op.op, (op.document,))


class CosmosContainers:
    """Containers of the app's database on one lazily created, process-wide CosmosClient."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: CosmosClient | None = None
        self._lock = threading.Lock()

    def container(self, name: str) -> CosmosContainer:
        """A container of the database (containers are provisioned from resources/cosmos.json, not created here)."""
        return CosmosContainer(self._get_client().get_database_client(self._settings.cosmos_database)
                               .get_container_client(name))

    def _get_client(self) -> CosmosClient:
        with self._lock:
            if self._client is None:
                self._client = _connect(self._settings)
            return self._client


def _transport(endpoint: str, environ: Mapping[str, str] | None = None) -> HttpTransport:  # type: ignore[type-arg]
    """The client's transport, with what requests would read from the environment read once, here.

    Without a proxy for the account endpoint: urllib3 directly (adapters/http_transport.py), trusting the CA bundle
    requests would use. With one: the SDK's own requests transport, whose session does not trust the environment
    either (else it walks os.environ for proxies on every request, Session.merge_environment_settings ->
    get_environ_proxies: 6 % of the host's CPU under load, py-spy, bench/e2e_bench.py); the proxy (NO_PROXY
    honoured) is looked up once, when the client is built.
    """
    environ = os.environ if environ is None else environ
    bundle = environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE")
    proxies = get_environ_proxies(endpoint)
    if not proxies:
        return Urllib3Transport(verify=bundle or DEFAULT_CA_BUNDLE_PATH)
    transport = RequestsTransport(use_env_settings=False, connection_verify=bundle or True)
    transport.open()  # azure-core builds its session here (trust_env off, its retry-free adapters mounted)
    if transport.session is None:
        raise RuntimeError("azure-core's RequestsTransport.open() made no session")
    transport.session.proxies.update(proxies)
    return transport  # type: ignore[no-any-return]


def account_endpoint(connection_string: str) -> str:
    """The ``AccountEndpoint`` of a Cosmos DB connection string."""
    for part in connection_string.split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() == "accountendpoint":
            return value.strip()
    raise RuntimeError(f"{COSMOS_CONNECTION} has no AccountEndpoint")


def _connect(settings: Settings) -> CosmosClient:
    connection = settings.get(COSMOS_CONNECTION)
    if connection:
        return CosmosClient.from_connection_string(connection, transport=_transport(account_endpoint(connection)))
    endpoint = settings.get(f"{COSMOS_CONNECTION}__accountEndpoint")
    if not endpoint:
        raise RuntimeError(f"set {COSMOS_CONNECTION} or {COSMOS_CONNECTION}__accountEndpoint")
    from azure.identity import DefaultAzureCredential  # only on the managed-identity path
    return CosmosClient(endpoint, credential=DefaultAzureCredential(), transport=_transport(endpoint))
