"""tools/worker_protos.py: the indexing messages encode with FunctionRpc.proto's field numbers and enums.

Runs in the project's venv (protobuf is there too, via the Service Bus extension): the messages are
plain protobuf, so their wire bytes show that the transcribed numbers and types are the real ones.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from tools.worker_protos import build_protos


@pytest.fixture(scope="module")
def protos():
    return build_protos()


def test_enum_constants_the_runtime_compares_against(protos):
    # azure_functions_runtime.functions compares binding.direction/data_type with these.
    assert (protos.BindingInfo.out, protos.BindingInfo.inout) == (1, 2)
    assert (protos.BindingInfo.undefined, protos.BindingInfo.binary) == (0, 2)
    assert protos.RpcRetryOptions.fixed_delay == 1


def test_binding_info_wire_bytes(protos):
    message = protos.BindingInfo(type="x", direction=1, data_type=2)
    # field 2 (string) "x", field 3 (varint) 1, field 4 (varint) 2
    assert message.SerializeToString() == b"\x12\x01x\x18\x01\x20\x02"


def test_function_metadata_wire_bytes(protos):
    message = protos.RpcFunctionMetadata(
        name="f", function_id="id", raw_bindings=["{}"], language="python",
        retry_options=protos.RpcRetryOptions(max_retry_count=3, retry_strategy="fixed_delay",
                                             delay_interval=timedelta(seconds=5)),
        properties={"k": "v"})
    # name=4, language=9, raw_bindings=10, function_id=13, retry_options=15, properties=16
    assert message.SerializeToString() == (
        b"\x22\x01f" b"\x4a\x06python" b"\x52\x02{}" b"\x6a\x02id"
        b"\x7a\x08" b"\x10\x03" b"\x1a\x02\x08\x05" b"\x30\x01"
        b"\x82\x01\x06" b"\x0a\x01k\x12\x01v")


def test_protobuf_type_checks_apply(protos):
    with pytest.raises(TypeError):
        protos.RpcFunctionMetadata(raw_bindings=[{"type": "httpTrigger"}])
    with pytest.raises(ValueError):
        protos.RpcRetryOptions(retry_strategy="linear")


def test_building_twice_reuses_the_registered_descriptor(protos):
    assert build_protos().BindingInfo is protos.BindingInfo
