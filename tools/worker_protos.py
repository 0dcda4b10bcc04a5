"""The slice of the Functions host <-> worker gRPC messages that indexing builds, as real protobuf classes.

`azure_functions_runtime` never imports protobuf itself: the worker that hosts it (the proxy worker
on Azure) injects its generated `FunctionRpc_pb2` classes as a `protos` namespace. Those generated
classes are not published on PyPI, so this module builds the three messages indexing constructs
(`BindingInfo`, `RpcRetryOptions`, `RpcFunctionMetadata`) at run time from a descriptor whose
package, message, field and enum names, numbers and types are transcribed from the worker's
`FunctionRpc.proto` (azure-functions-language-worker-protobuf; package `AzureFunctionsRpcMessages`).
Because they are real protobuf messages, protobuf's own checks apply exactly as on Azure: a
`raw_bindings` entry that is not a string, an unknown enum name or a wrongly typed field raises.

Left out on purpose: `RpcFunctionMetadata.status` (field 8, a `StatusResult`), which the indexer
never sets, and every message that is only used on the gRPC stream (init, invocation, logs).
"""
from __future__ import annotations

from types import SimpleNamespace

from google.protobuf import descriptor_pb2, descriptor_pool, duration_pb2, message_factory

_PACKAGE = "AzureFunctionsRpcMessages"
# A file name of our own so the descriptor never collides with a real FunctionRpc.proto that some
# other package may register in the default pool.
_FILE_NAME = "check_functions/FunctionRpcIndexingSubset.proto"

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {"string": _F.TYPE_STRING, "bool": _F.TYPE_BOOL, "int32": _F.TYPE_INT32}


def _field(message: descriptor_pb2.DescriptorProto, name: str, number: int, kind: str,
           *, repeated: bool = False) -> None:
    """Add a field; ``kind`` is a scalar name, ``enum:.Full.Name`` or ``msg:.Full.Name``."""
    field = message.field.add(name=name, number=number,
                              label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL)
    if kind in _SCALARS:
        field.type = _SCALARS[kind]
    else:
        tag, type_name = kind.split(":", 1)
        field.type = _F.TYPE_ENUM if tag == "enum" else _F.TYPE_MESSAGE
        field.type_name = type_name


def _map_field(message: descriptor_pb2.DescriptorProto, name: str, number: int,
               value_kind: str) -> None:
    """Add ``map<string, value_kind> name = number`` the way protoc lowers maps (a nested *Entry)."""
    entry_name = "".join(part.capitalize() for part in name.split("_")) + "Entry"
    entry = message.nested_type.add(name=entry_name)
    entry.options.map_entry = True
    _field(entry, "key", 1, "string")
    _field(entry, "value", 2, value_kind)
    _field(message, name, number, f"msg:.{_PACKAGE}.{message.name}.{entry_name}", repeated=True)


def _enum(message: descriptor_pb2.DescriptorProto, name: str, values: list[str]) -> None:
    """Add a nested enum whose values are numbered in the given order (as in the .proto)."""
    enum = message.enum_type.add(name=name)
    for number, value in enumerate(values):
        enum.value.add(name=value, number=number)


def _binding_info() -> descriptor_pb2.DescriptorProto:
    message = descriptor_pb2.DescriptorProto(name="BindingInfo")
    _enum(message, "Direction", ["in", "out", "inout"])
    _enum(message, "DataType", ["undefined", "string", "binary", "stream"])
    _field(message, "type", 2, "string")
    _field(message, "direction", 3, f"enum:.{_PACKAGE}.BindingInfo.Direction")
    _field(message, "data_type", 4, f"enum:.{_PACKAGE}.BindingInfo.DataType")
    _map_field(message, "properties", 5, "string")
    return message


def _retry_options() -> descriptor_pb2.DescriptorProto:
    message = descriptor_pb2.DescriptorProto(name="RpcRetryOptions")
    _enum(message, "RetryStrategy", ["exponential_backoff", "fixed_delay"])
    _field(message, "max_retry_count", 2, "int32")
    for number, name in ((3, "delay_interval"), (4, "minimum_interval"), (5, "maximum_interval")):
        _field(message, name, number, "msg:.google.protobuf.Duration")
    _field(message, "retry_strategy", 6, f"enum:.{_PACKAGE}.RpcRetryOptions.RetryStrategy")
    return message


def _function_metadata() -> descriptor_pb2.DescriptorProto:
    message = descriptor_pb2.DescriptorProto(name="RpcFunctionMetadata")
    for number, name in ((1, "directory"), (2, "script_file"), (3, "entry_point"), (4, "name"),
                         (9, "language"), (13, "function_id")):
        _field(message, name, number, "string")
    _map_field(message, "bindings", 6, f"msg:.{_PACKAGE}.BindingInfo")
    _field(message, "is_proxy", 7, "bool")
    _field(message, "raw_bindings", 10, "string", repeated=True)
    _field(message, "managed_dependency_enabled", 14, "bool")
    _field(message, "retry_options", 15, f"msg:.{_PACKAGE}.RpcRetryOptions")
    _map_field(message, "properties", 16, "string")
    return message


def build_protos() -> SimpleNamespace:
    """The ``protos`` namespace the runtime's indexer expects, backed by real protobuf classes."""
    pool = descriptor_pool.Default()
    try:
        file_descriptor = pool.FindFileByName(_FILE_NAME)
    except KeyError:
        proto = descriptor_pb2.FileDescriptorProto(
            name=_FILE_NAME, package=_PACKAGE, syntax="proto3",
            dependency=[duration_pb2.DESCRIPTOR.name])
        proto.message_type.extend([_binding_info(), _retry_options(), _function_metadata()])
        pool.Add(proto)
        file_descriptor = pool.FindFileByName(_FILE_NAME)
    classes = {name: message_factory.GetMessageClass(descriptor)
               for name, descriptor in file_descriptor.message_types_by_name.items()}
    return SimpleNamespace(**classes)
