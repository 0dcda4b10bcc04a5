"""Bad input gets a clear 4xx and loses nothing; authentication is checked."""
from __future__ import annotations

import json

import pytest
from azure.cosmos import ContainerProxy, CosmosClient, exceptions

from tests.contract.cosmos import rest
from tests.support.cosmos import CosmosEmulator

WRONG_KEY = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk="


def test_wrong_key_is_401(emulator: CosmosEmulator) -> None:
    with pytest.raises(exceptions.CosmosHttpResponseError) as err:
        CosmosClient(emulator.endpoint, WRONG_KEY)  # the client reads the account first
    assert err.value.status_code == 401
    assert "signature" in err.value.message


def test_missing_or_tampered_signature_is_401(emulator: CosmosEmulator, container: ContainerProxy) -> None:
    path = f"/dbs/contract-tests/colls/{container.id}"
    status, body = rest.request(emulator.endpoint, emulator.key, "GET", path, "colls",
                                f"dbs/contract-tests/colls/{container.id}")
    assert status == 200 and body["id"] == container.id
    # A signature for another resource must not open this one.
    status, body = rest.request(emulator.endpoint, emulator.key, "GET", path, "colls", "dbs/contract-tests/colls/x")
    assert status == 401 and "signature" in body["message"]
    status, _ = rest.request(emulator.endpoint, emulator.key, "GET", path, "colls",
                             f"dbs/contract-tests/colls/{container.id}", headers={"authorization": ""})
    assert status == 401


def _docs_path(container: ContainerProxy) -> tuple[str, str]:
    link = f"dbs/contract-tests/colls/{container.id}"
    return f"/{link}/docs", link


DEEP = b'{"id": "deep", "pk": "p", "x": ' + b"[" * 200 + b"]" * 200 + b"}"


@pytest.mark.parametrize("body", [b"{not json", b'{"id": "a", "pk": "p",}', b"\xff\xfe", b"[1, 2]", b'"text"',
                                  b'{"id": "a", "pk": NaN}', b"", b'{"pk": "p"}', b'{"id": 5, "pk": "p"}',
                                  b'{"id": "a", "pk": "p", "x": "\\ud800"}', DEEP, b"[" * 100_000,
                                  b'{"id": "a", "pk": "p", "x": 1e999}', b'{"id": "a", "pk": -1e999}',
                                  b'{"id": "a", "pk": "p", "x": Infinity}',
                                  b'{"id": "a", "pk": "p", "x": 1' + b"0" * 400 + b"}",
                                  b'{"id": "a", "pk": "p", "x": 1' + b"0" * 5000 + b"}"])
def test_malformed_item_bodies_are_400(emulator: CosmosEmulator, container: ContainerProxy, body: bytes) -> None:
    path, link = _docs_path(container)
    status, reply = rest.request(emulator.endpoint, emulator.key, "POST", path, "docs", link, body=body,
                                 headers={"x-ms-documentdb-partitionkey": '["p"]'})
    assert status == 400 and reply["message"], reply
    assert list(container.read_all_items()) == []


@pytest.mark.parametrize("bad_id", ["a/b", "a\\b", "a?b", "a#b", "trailing "])
def test_invalid_id_characters_are_400(emulator: CosmosEmulator, container: ContainerProxy, bad_id: str) -> None:
    path, link = _docs_path(container)
    body = json.dumps({"id": bad_id, "pk": "p"}).encode()
    status, reply = rest.request(emulator.endpoint, emulator.key, "POST", path, "docs", link, body=body,
                                 headers={"x-ms-documentdb-partitionkey": '["p"]'})
    assert status == 400 and "id" in reply["message"]


def test_malformed_query_and_patch_bodies_are_400(emulator: CosmosEmulator, container: ContainerProxy) -> None:
    container.create_item({"id": "a", "pk": "p"})
    path, link = _docs_path(container)
    for body in (b"{", b'{"query": 5}', b'{"query": "SELECT * FROM c", "parameters": [{"value": 1}]}'):
        status, _ = rest.request(emulator.endpoint, emulator.key, "POST", path, "docs", link, body=body,
                                 headers={"x-ms-documentdb-isquery": "true",
                                          "content-type": "application/query+json",
                                          "x-ms-documentdb-partitionkey": '["p"]'})
        assert status == 400, body
    for body in (b"{", b'{"operations": "x"}', b'{"operations": []}', b'{"operations": [{"op": "bogus"}]}'):
        status, _ = rest.request(emulator.endpoint, emulator.key, "PATCH", f"{path}/a", "docs", f"{link}/docs/a",
                                 body=body, headers={"x-ms-documentdb-partitionkey": '["p"]'})
        assert status == 400, body
    assert container.read_item("a", "p")["id"] == "a"


def test_bad_headers_and_paths_are_4xx_not_500(emulator: CosmosEmulator, container: ContainerProxy) -> None:
    path, link = _docs_path(container)
    cases = [
        ("GET", f"{path}/a", "docs", f"{link}/docs/a", {"x-ms-documentdb-partitionkey": "not json"}),
        ("GET", f"{path}/a", "docs", f"{link}/docs/a", {"x-ms-documentdb-partitionkey": '["a", "b"]'}),
        ("GET", f"{path}", "docs", link, {"x-ms-max-item-count": "many"}),
        ("GET", f"{path}", "docs", link, {"a-im": "Incremental Feed", "if-none-match": "garbage"}),
        ("GET", "/dbs/contract-tests/users", "users", "dbs/contract-tests", {}),
        ("PUT", "/dbs/contract-tests", "dbs", "dbs/contract-tests", {}),
        ("POST", "/", "", "", {}),
        ("GET", f"{path}/a", "docs", f"{link}/docs/a", {"x-ms-documentdb-partitionkey": '["\\udc00"]'}),
        ("GET", f"{path}/a", "docs", f"{link}/docs/a", {"x-ms-documentdb-partitionkey": "[1e999]"}),
    ]
    for verb, url, kind, signed_link, headers in cases:
        status, reply = rest.request(emulator.endpoint, emulator.key, verb, url, kind, signed_link, headers=headers)
        assert 400 <= status < 500, (url, headers, status, reply)


def test_item_over_2mb_is_413(container: ContainerProxy) -> None:
    with pytest.raises(exceptions.CosmosHttpResponseError) as err:
        container.create_item({"id": "big", "pk": "p", "blob": "x" * (2 * 1024 * 1024 + 10)})
    assert err.value.status_code == 413
    container.create_item({"id": "fits", "pk": "p", "blob": "x" * (1024 * 1024)})
    with pytest.raises(exceptions.CosmosHttpResponseError) as err:
        container.patch_item("fits", "p", [{"op": "set", "path": "/more", "value": "y" * (1024 * 1024 + 10)}])
    assert err.value.status_code == 413
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        container.read_item("big", "p")
    assert "more" not in container.read_item("fits", "p")


def test_request_far_beyond_limit_is_413(emulator: CosmosEmulator, container: ContainerProxy) -> None:
    path, link = _docs_path(container)
    body = json.dumps({"id": "huge", "pk": "p", "blob": "x" * (8 * 1024 * 1024)}).encode()
    status, _ = rest.request(emulator.endpoint, emulator.key, "POST", path, "docs", link, body=body,
                             headers={"x-ms-documentdb-partitionkey": '["p"]'})
    assert status == 413


def test_non_finite_numbers_are_400_and_never_stored(emulator: CosmosEmulator, container: ContainerProxy) -> None:
    container.create_item({"id": "a", "pk": "p", "n": 1e308})
    path, link = _docs_path(container)
    status, reply = rest.request(emulator.endpoint, emulator.key, "GET", f"{path}/a", "docs", f"{link}/docs/a",
                                 headers={"x-ms-documentdb-partitionkey": "[1e999]"})
    assert status == 400 and "range of a double" in reply["message"], reply
    # JSON has no Infinity: an incr that overflows fails whole and writes nothing.
    with pytest.raises(exceptions.CosmosHttpResponseError) as err:
        container.patch_item("a", "p", [{"op": "set", "path": "/m", "value": 1},
                                        {"op": "incr", "path": "/n", "value": 1e308}])
    assert err.value.status_code == 400 and "overflows" in err.value.message
    stored = container.read_item("a", "p")
    assert stored["n"] == 1e308 and "m" not in stored
    assert list(container.query_items("SELECT VALUE c.n FROM c", partition_key="p")) == [1e308]
