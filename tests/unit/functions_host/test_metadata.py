"""Indexing an app from the azure-functions library's metadata, and the worker's signature checks."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from devstack.functions_host.errors import StartupError
from devstack.functions_host.metadata import import_app, index_functions

APP = '''
import azure.functions as func
import azurefunctions.extensions.bindings.servicebus as servicebus

app = func.FunctionApp()
bp = func.Blueprint()


@bp.service_bus_topic_trigger(arg_name="msg", topic_name="t", subscription_name="s", connection="SB",
                              is_sessions_enabled=True, auto_complete_messages=False)
def settle(msg: servicebus.ServiceBusReceivedMessage, actions: servicebus.ServiceBusMessageActions) -> None: ...


@app.function_name("renamed")
@app.route(route="r/{id:int}", methods=["GET"])
@app.service_bus_queue_output(arg_name="out", queue_name="q", connection="SB")
async def handler(req: func.HttpRequest, out: func.Out[str], context: func.Context) -> func.HttpResponse: ...


app.register_functions(bp)
'''


def write_app(tmp_path: Path, source: str) -> Path:
    (tmp_path / "function_app.py").write_text(textwrap.dedent(source))
    return tmp_path


def test_functions_triggers_outputs_and_special_parameters(tmp_path: Path) -> None:
    specs = {s.name: s for s in index_functions(import_app(write_app(tmp_path, APP)))}
    assert set(specs) == {"settle", "renamed"}
    settle = specs["settle"]
    assert (settle.trigger.type, settle.trigger.get("topicName"), settle.trigger.get("isSessionsEnabled"),
            settle.trigger.get("autoCompleteMessages")) == ("serviceBusTrigger", "t", True, False)
    assert settle.actions_parameter == "actions"
    assert not settle.is_async
    renamed = specs["renamed"]
    assert renamed.is_async and renamed.user_function.__name__ == "handler"
    assert [(b.name, b.type, b.direction) for b in renamed.outputs] == [("out", "serviceBus", "OUT"),
                                                                        ("$return", "http", "OUT")]
    assert renamed.trigger.get("methods") == ["GET"]


def test_output_parameter_must_be_typed_out(tmp_path: Path) -> None:
    source = '''
    import azure.functions as func
    app = func.FunctionApp()

    @app.route(route="r")
    @app.service_bus_queue_output(arg_name="out", queue_name="q", connection="SB")
    def r(req: func.HttpRequest, out: str) -> str: ...
    '''
    with pytest.raises(StartupError, match=r"function 'r', binding 'out' \(serviceBus\): .*func.Out"):
        index_functions(import_app(write_app(tmp_path, source)))


def test_batches_are_refused(tmp_path: Path) -> None:
    source = '''
    import azure.functions as func
    app = func.FunctionApp()

    @app.service_bus_queue_trigger(arg_name="m", queue_name="q", connection="SB", cardinality="many")
    def m(m: list[func.ServiceBusMessage]) -> None: ...
    '''
    with pytest.raises(StartupError, match="cardinality 'many'"):
        index_functions(import_app(write_app(tmp_path, source)))


def test_an_app_without_function_app_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match=r"no function_app\.py"):
        import_app(tmp_path)
    write_app(tmp_path, "x = 1\n")
    with pytest.raises(StartupError, match="exactly one FunctionApp"):
        import_app(tmp_path)


def test_import_errors_name_the_file_and_line(tmp_path: Path) -> None:
    write_app(tmp_path, "import azure.functions as func\n\nraise KeyError('SettingX')\n")
    with pytest.raises(StartupError, match=r"cannot import .*KeyError: 'SettingX' \(at .*function_app.py:3\)"):
        import_app(tmp_path)
