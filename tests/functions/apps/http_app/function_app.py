"""Sample app for the host's HTTP trigger tests: routes, methods, outputs, errors, auth, settings."""
from __future__ import annotations

import json
import os

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
bp = func.Blueprint()


@app.route(route="items/{id:int}", methods=["GET"])
def get_item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"id": req.route_params["id"], "q": req.params.get("q")}),
                             mimetype="application/json")


@app.route(route="items/{name:alpha}", methods=["GET"])
def get_item_by_name(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"name={req.route_params['name']}")


@app.route(route="greet/{name?}")
def greet(req: func.HttpRequest) -> str:
    return f"hello {req.route_params.get('name', 'nobody')}"


@app.route(route="files/{*path}")
def files(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.route_params.get("path", ""))


@app.route(route="echo", methods=["POST", "PUT"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.get_body(), status_code=201, headers={"X-Method": req.method},
                             mimetype="application/octet-stream")


@app.route(route="cookies")
def cookies(req: func.HttpRequest) -> func.HttpResponse:
    response = func.HttpResponse("with cookies")
    response.headers.add("Set-Cookie", "a=1; Path=/")
    response.headers.add("Set-Cookie", "b=2; HttpOnly")
    return response


@app.route(route="named", binding_arg_name="res")
def named_output(req: func.HttpRequest, res: func.Out[func.HttpResponse]) -> None:
    res.set(func.HttpResponse("from named output", status_code=202))


@app.route(route="boom")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("boom on purpose")


@app.route(route="slow")
async def slow(req: func.HttpRequest) -> func.HttpResponse:
    import asyncio

    await asyncio.sleep(float(req.params.get("seconds", "0")))
    return func.HttpResponse("slept")


@app.route(route="setting/{name}")
def setting(req: func.HttpRequest) -> str:
    return os.environ.get(req.route_params["name"], "<unset>")


@app.route(route="switched-off")
def switched_off(req: func.HttpRequest) -> str:
    return "should not run: disabled by AzureWebJobs.switched_off.Disabled"


@bp.route(route="keyed", auth_level=func.AuthLevel.FUNCTION)
def keyed(req: func.HttpRequest) -> str:
    return "function level ok"


@bp.route(route="admin-only", auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> str:
    return "admin level ok"


app.register_functions(bp)
