"""Route templates: typed, optional and catch-all parameters; specificity order; bad templates."""
from __future__ import annotations

import pytest

from devstack.functions_host.errors import StartupError
from devstack.functions_host.http.routes import compile_route, sort_key


@pytest.mark.parametrize(("template", "path", "expected"), [
    ("items/{id}", "items/abc", {"id": "abc"}),
    ("items/{id:int}", "items/42", {"id": "42"}),
    ("items/{id:int}", "items/4x", None),
    ("items/{id:guid}", "items/0f8fad5b-d9cb-469f-a165-70867728950e", {"id": "0f8fad5b-d9cb-469f-a165-70867728950e"}),
    ("items/{flag:bool}", "items/TRUE", {"flag": "TRUE"}),
    ("greet/{name?}", "greet", {}),
    ("greet/{name?}", "greet/ada", {"name": "ada"}),
    ("files/{*rest}", "files/a/b/c", {"rest": "a/b/c"}),
    ("files/{*rest}", "files", {}),
    ("Items/{id}", "ITEMS/1", {"id": "1"}),  # ASP.NET routing ignores case
    ("items/{id}", "items/1/extra", None),
    ("a/{x}/b/{y:alpha}", "a/1/b/zz", {"x": "1", "y": "zz"}),
])
def test_match(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert compile_route(template).match(path) == expected


@pytest.mark.parametrize(("template", "message"), [
    ("items/{id:number}", "unknown constraint 'number'"),
    ("files/{*rest}/more", "catch-all"),
    ("items/{}", "not a route parameter"),
    ("items/x{id}", "not a route parameter"),
])
def test_bad_templates_are_startup_errors(template: str, message: str) -> None:
    with pytest.raises(StartupError, match=message):
        compile_route(template)


def test_literal_routes_sort_before_parameter_routes() -> None:
    routes = [compile_route(t) for t in ("{*all}", "items/{id}", "items/special")]
    assert [r.template for r in sorted(routes, key=sort_key)] == ["items/special", "items/{id}", "{*all}"]
