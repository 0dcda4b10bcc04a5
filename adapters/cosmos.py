"""DocumentContainer on azure-cosmos (sync SDK): status codes mapped to the port's typed errors."""
from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from azure.core import MatchConditions
from azure.core.pipeline.transport import RequestsTransport
from azure.cosmos import ContainerProxy, CosmosClient
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosBatchOperationError,
    CosmosHttpResponseError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)

from core.ports import BatchFailed, BatchOperation, Conflict, Document, InvalidId, NotFound, PreconditionFailed
from core.settings import COSMOS_CONNECTION, Settings

# What requests reads from the environment on every request when its session trusts the environment:
# proxies (and their exclusions) and CA bundles (requests.Session.merge_environment_settings).
ENVIRONMENT_SETTINGS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
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


def uses_environment_settings(environ: Mapping[str, str]) -> bool:
    """True when a proxy or CA-bundle variable is set (either case), so requests must keep reading them."""
    return any(environ.get(name) or environ.get(name.lower()) for name in ENVIRONMENT_SETTINGS)


def _transport() -> RequestsTransport:
    """The SDK's own transport; it skips the per-request environment lookup when there is nothing to find.

    With ``trust_env`` requests walks os.environ for proxy settings on every request
    (Session.merge_environment_settings -> get_environ_proxies): 5.5 % of the host's CPU under load
    (py-spy, bench/e2e_bench.py). azure-core's ``use_env_settings`` turns that off; it stays on whenever a
    proxy or CA bundle is configured, so behind a proxy nothing changes.
    """
    return RequestsTransport(use_env_settings=uses_environment_settings(os.environ))


def _connect(settings: Settings) -> CosmosClient:
    connection = settings.get(COSMOS_CONNECTION)
    if connection:
        return CosmosClient.from_connection_string(connection, transport=_transport())
    endpoint = settings.get(f"{COSMOS_CONNECTION}__accountEndpoint")
    if not endpoint:
        raise RuntimeError(f"set {COSMOS_CONNECTION} or {COSMOS_CONNECTION}__accountEndpoint")
    from azure.identity import DefaultAzureCredential  # only on the managed-identity path
    return CosmosClient(endpoint, credential=DefaultAzureCredential(), transport=_transport())
