"""infra/*.bicep, parsed offline with pycep-parser: the topology it declares is the one in resources/*.json;
and docs/asyncapi.yaml, the published message contract, is current, well-formed and names the same topology.

No Bicep CLI or Azure subscription is needed. pycep-parser turns a template into a JSON tree; `Template`
below evaluates the part of Bicep the template uses (variables, loops, lambdas, accessors, the functions it
calls) over the JSON files `loadJsonContent` reads, so the queues, topics, subscriptions, rules, containers
and Event Grid subscriptions Azure would get are compared, property by property, with what devstack
provisions. A value only Azure knows at deployment (a resource id, an endpoint) stays a symbolic `Ref`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pycep import BicepParser

from contracts.messages import AnyMessage
from core.settings import COSMOS_CONNECTION, EVENT_GRID_ENDPOINT, EVENT_GRID_KEY, SERVICE_BUS_CONNECTION
from tests.unit.app.support import app_functions
from tools.asyncapi import asyncapi_yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
MAIN = INFRA / "main.bicep"
RESOURCES = REPO_ROOT / "resources"
RESOURCE_FILES = ("Config.json", "cosmos.json", "eventgrid.json")

# Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles;
# Cosmos DB's data-plane roles: https://learn.microsoft.com/azure/cosmos-db/how-to-setup-rbac).
SERVICE_BUS_DATA_SENDER = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"
SERVICE_BUS_DATA_RECEIVER = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"
EVENTGRID_DATA_SENDER = "d5a91429-5739-47e2-a06b-3470a27159e7"
COSMOS_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"
HOST_ROLES = {"ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
              "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
              "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher"}
OWNER_ROLES = {"090c5cfd-751d-490a-894a-3ce6f1109419": "Azure Service Bus Data Owner",
               "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
               "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
               "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
               "1e241071-0855-49ea-94dc-649edcd759de": "EventGrid Contributor"}
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Ref:
    """A value only known at deployment: a resource (or one of its properties), or a parameter without default."""

    path: str

    def __str__(self) -> str:
        return f"<{self.path}>"


@dataclass(frozen=True)
class Lambda:
    names: tuple[str, ...]
    body: Any
    scope: Mapping[str, Any]


class Template:
    """Evaluates a pycep-parser tree the way Bicep would, for the constructs infra/main.bicep uses."""

    def __init__(self, path: Path, parameters: Mapping[str, Any] | None = None) -> None:
        self.file = path
        self.tree = BicepParser().parse(file_path=path)
        self.overrides = dict(parameters or {})
        self._variables: dict[str, Any] = {}

    # -- symbols --------------------------------------------------------------------------------------
    def resource(self, name: str) -> dict[str, Any]:
        return self.tree["resources"][name]

    def variable(self, name: str) -> Any:
        if name not in self._variables:
            self._variables[name] = self.eval(self.tree["variables"][name]["value"], {})
        return self._variables[name]

    def parameter(self, name: str) -> Any:
        if name in self.overrides:
            return self.overrides[name]
        default = self.tree["parameters"][name].get("default")
        return Ref(f"param:{name}") if default is None else self.eval(default, {})

    def lookup(self, name: str, scope: Mapping[str, Any]) -> Any:
        """An identifier's value; pycep keeps literals and identifiers both as plain strings."""
        if name in scope:
            return scope[name]
        if name in self.tree["variables"]:
            return self.variable(name)
        if name in self.tree["parameters"]:
            return self.parameter(name)
        if name in self.tree["resources"]:
            return Ref(name)
        return name  # a string literal

    # -- expressions ----------------------------------------------------------------------------------
    def eval(self, node: Any, scope: Mapping[str, Any]) -> Any:
        if node is None or isinstance(node, (bool, int, float)):
            return node
        if isinstance(node, str):
            return self.interpolate(node, scope) if "${" in node else self.lookup(node, scope)
        if isinstance(node, list):
            return [self.eval(item, scope) for item in node]
        if isinstance(node, dict) and set(node) == {"operator"}:
            return self.operator(node["operator"], scope)
        if isinstance(node, dict) and set(node) == {"function"}:
            return self.function(node["function"], scope)
        if isinstance(node, dict) and node.get("type") == "lambda_expression":
            detail = node["detail"]
            names = tuple(v for k, v in sorted(detail.items()) if k.startswith("var_"))
            return Lambda(names, detail["expression"], dict(scope))
        assert isinstance(node, dict), node
        return {self.key(key, scope): self.eval(value, scope) for key, value in node.items()}

    def key(self, key: str, scope: Mapping[str, Any]) -> str:
        """An object key: an identifier, or a quoted string, possibly interpolated (`'${identity.id}'`)."""
        key = key.strip("'")
        return self.interpolate(key, scope) if "${" in key else key

    def interpolate(self, text: str, scope: Mapping[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            head, *rest = match.group(1).strip().split(".")
            value = self.lookup(head, scope)
            for key in rest:
                value = self.member(value, key)
            return str(value)
        return re.sub(r"\$\{([A-Za-z_][\w.]*)\}", one, text)

    def member(self, base: Any, key: Any) -> Any:
        if isinstance(base, Ref):
            return Ref(f"{base.path}.{key}" if isinstance(key, str) else f"{base.path}[{key}]")
        return base[key]

    def path(self, node: Any, base: Any, scope: Mapping[str, Any]) -> Any:
        """The right side of `.`: pycep nests `a.b.c` (and `a.b == x`) to the right, as a path from `a`."""
        if isinstance(node, str):
            return self.member(base, node)
        op = node["operator"]
        left, right = op["operands"]["operand_1"], op["operands"]["operand_2"]
        if op["type"] == "property_accessor":
            return self.path(right, self.path(left, base, scope), scope)
        if op["type"] == "index_accessor":
            return self.member(self.path(left, base, scope), self.eval(right, scope))
        if op["type"] in _COMPARISONS:
            return _COMPARISONS[op["type"]](self.path(left, base, scope), self.eval(right, scope))
        raise NotImplementedError(f"{op['type']} after '.'")

    def operator(self, op: Mapping[str, Any], scope: Mapping[str, Any]) -> Any:
        kind, operands = op["type"], op["operands"]
        if kind == "property_accessor":
            return self.path(operands["operand_2"], self.eval(operands["operand_1"], scope), scope)
        if kind == "index_accessor":
            return self.member(self.eval(operands["operand_1"], scope), self.eval(operands["operand_2"], scope))
        if kind == "conditional":
            branch = "true_value" if self.eval(operands["condition"], scope) else "false_value"
            return self.eval(operands[branch], scope)
        if kind == "not":
            return not self.eval(operands["bool_value"], scope)
        if kind in _COMPARISONS:
            return _COMPARISONS[kind](self.eval(operands["operand_1"], scope), self.eval(operands["operand_2"], scope))
        raise NotImplementedError(kind)

    def call(self, fn: Lambda, *args: Any) -> Any:
        return self.eval(fn.body, {**fn.scope, **dict(zip(fn.names, args, strict=False))})

    def function(self, fn: Mapping[str, Any], scope: Mapping[str, Any]) -> Any:
        kind, params = fn["type"], fn["parameters"]
        if kind == "load_json_content":
            return json.loads((self.file.parent / params["file_path"]).read_text())
        args = [self.eval(value, scope) for value in params.values() if value is not None]
        if any(isinstance(a, Ref) for a in args) or kind in _OPAQUE:
            return Ref(f"{kind}(...)")
        builtins: dict[str, Callable[..., Any]] = {
            "flatten": lambda a: [x for part in a for x in part],
            "map": lambda a, f: [self.call(f, x) for x in a],
            "filter": lambda a, f: [x for x in a if self.call(f, x)],
            "range": lambda start, count: list(range(start, start + count)),
            "length": len,
            "contains": lambda container, item: item in container,
            "empty": lambda value: value is None or len(value) == 0,
            "union": lambda *objects: {k: v for o in objects for k, v in o.items()},
            "items": lambda o: [{"key": k, "value": v} for k, v in sorted(o.items())],
            "toObject": lambda a, key, value: {self.call(key, x): self.call(value, x) for x in a},
            "last": lambda a: a[-1],
            "split": lambda text, sep: text.split(sep),
            "subscription_resource_id": lambda kind_, *names: f"/providers/{kind_}/{'/'.join(names)}",
        }
        if kind not in builtins:
            raise NotImplementedError(f"Bicep function {kind}")
        return builtins[kind](*args)

    # -- resources ------------------------------------------------------------------------------------
    def instances(self, name: str) -> list[dict[str, Any]]:
        """Every instance a resource declaration deploys (one, or one per loop item), evaluated."""
        config = self.resource(name)["config"]
        if "loop_type" not in config:
            return [self.eval(config, {})]
        loop = config["loop_type"]["detail"]
        items = self.eval(loop["array_name"], {})
        scopes = [{loop["item_name"]: item, **({loop["index_name"]: i} if "index_name" in loop else {})}
                  for i, item in enumerate(items)]
        return [self.eval(config["config"], scope) for scope in scopes]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {n: r for n, r in self.tree["resources"].items() if r["type"] == resource_type}

    def depends_on(self, node: Any) -> set[str]:
        """The variables an expression reads, transitively."""
        found: set[str] = set()
        pending = [node]
        while pending:
            current = pending.pop()
            if isinstance(current, str):
                names = set(re.findall(r"[A-Za-z_]\w*", current)) if "${" in current else {current}
                for name in names & set(self.tree["variables"]) - found:
                    found.add(name)
                    pending.append(self.tree["variables"][name]["value"])
            elif isinstance(current, dict):
                pending.extend(current.values())
            elif isinstance(current, list):
                pending.extend(current)
        return found


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {"equals": lambda a, b: a == b,
                                                       "not_equals": lambda a, b: a != b}
_OPAQUE = {"guid", "unique_string", "resource_group", "take", "subscription"}


def camel(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Emulator Config.json properties as ARM spells them; "" (no forwarding) is no property."""
    return {k[0].lower() + k[1:]: (None if v == "" else v) for k, v in properties.items()}


@pytest.fixture(scope="module")
def template() -> Template:
    return Template(MAIN)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return {name: json.loads((RESOURCES / name).read_text()) for name in RESOURCE_FILES}


@pytest.fixture(scope="module")
def namespace(config: dict[str, Any]) -> dict[str, Any]:
    [namespace] = config["Config.json"]["UserConfig"]["Namespaces"]  # the template deploys the first one only
    return namespace


@pytest.mark.parametrize("bicep", sorted(REPO_ROOT.glob("infra/**/*.bicep")), ids=lambda p: p.name)
def test_every_bicep_file_parses(bicep: Path) -> None:
    tree = BicepParser().parse(file_path=bicep)
    assert tree["resources"], f"{bicep} declares no resource"


def test_the_topology_is_loaded_from_the_files_the_app_ships(template: Template) -> None:
    loaded = {name: value["function"]["parameters"]["file_path"]
              for name, value in ((n, v["value"]) for n, v in template.tree["variables"].items())
              if isinstance(value, dict) and value.get("function", {}).get("type") == "load_json_content"}
    assert {(INFRA / p).resolve() for p in loaded.values()} == {RESOURCES / f for f in RESOURCE_FILES}
    for name in ("queues", "topics", "subscriptions", "rules", "matchNothingDefaultRules", "containers",
                 "eventSubscriptions"):
        array = template.resource(name)["config"]["loop_type"]["detail"]["array_name"]
        assert template.depends_on(array) & set(loaded), f"the loop of {name} does not iterate over resources/*.json"


def test_queues_are_those_of_config_json(template: Template, namespace: dict[str, Any]) -> None:
    deployed = {q["name"]: q["properties"] for q in template.instances("queues")}
    assert deployed == {q["Name"]: camel(q["Properties"]) for q in namespace["Queues"]}


def test_topics_and_subscriptions_are_those_of_config_json(template: Template, namespace: dict[str, Any]) -> None:
    topics = template.instances("topics")
    declared = {t["Name"]: camel(t["Properties"]) for t in namespace["Topics"]}
    assert {t["name"]: t["properties"] for t in topics} == declared
    deployed = {(topics[int(s["parent"].path.split("[")[1].rstrip("]"))]["name"], s["name"]): s["properties"]
                for s in template.instances("subscriptions")}
    assert deployed == {(t["Name"], s["Name"]): camel(s["Properties"])
                        for t in namespace["Topics"] for s in t["Subscriptions"]}


def test_rules_are_those_of_config_json_and_default_matches_nothing_beside_them(template: Template,
                                                                                 namespace: dict[str, Any]) -> None:
    subscriptions = [s["name"] for s in template.instances("subscriptions")]

    def owner(rule: dict[str, Any]) -> str:
        return subscriptions[int(rule["parent"].path.split("[")[1].rstrip("]"))]

    declared = {(s["Name"], r["Name"]): r["Properties"] for t in namespace["Topics"] for s in t["Subscriptions"]
                for r in s.get("Rules", [])}
    assert declared, "Config.json declares the delivery subscription's correlation filter"
    deployed = {(owner(r), r["name"]): r["properties"] for r in template.instances("rules")}
    assert set(deployed) == set(declared)
    for key, properties in declared.items():
        arm = deployed[key]
        assert arm["filterType"] == {"Correlation": "CorrelationFilter", "Sql": "SqlFilter"}[properties["FilterType"]]
        correlation = properties.get("CorrelationFilter")
        sql = properties.get("SqlFilter")
        assert arm["correlationFilter"] == (camel(correlation) if correlation is not None else None)
        assert arm["sqlFilter"] == ({"sqlExpression": sql["SqlExpression"]} if sql is not None else None)
    defaults = template.instances("matchNothingDefaultRules")
    assert sorted(owner(r) for r in defaults) == sorted({s for s, _ in declared})
    assert all(r["name"] == "$Default" and r["properties"]["sqlFilter"] == {"sqlExpression": "1=0"} for r in defaults)


def test_cosmos_containers_are_those_of_cosmos_json(template: Template, config: dict[str, Any]) -> None:
    [database] = config["cosmos.json"]["databases"]
    [deployed_db] = template.instances("database")
    assert deployed_db["name"] == database["id"]
    expected = {c["id"]: {"id": c["id"], "partitionKey": {"paths": [c["partitionKey"]], "kind": "Hash", "version": 2},
                          **({} if c.get("defaultTtl") is None else {"defaultTtl": c["defaultTtl"]})}
                for c in database["containers"]}
    assert {c["name"]: c["properties"]["resource"] for c in template.instances("containers")} == expected


def test_event_grid_topic_and_subscriptions_are_those_of_eventgrid_json(config: dict[str, Any]) -> None:
    [topic] = config["eventgrid.json"]["topics"]
    before_publish = Template(MAIN, {"deployEventSubscription": False})
    assert before_publish.instances("eventSubscriptions") == [], "no subscription before the function exists"
    [deployed_topic] = before_publish.instances("eventTopic")
    assert deployed_topic["properties"]["inputSchema"] == topic["inputSchema"]
    assert deployed_topic["name"].endswith(f"-{topic['name']}")
    triggers = {f.get_function_name() for f in app_functions().values()
                if any(b.type == "eventGridTrigger" for b in f.get_bindings())}
    second_pass = Template(MAIN, {"deployEventSubscription": True})
    deployed = {s["name"]: s["properties"] for s in second_pass.instances("eventSubscriptions")}
    assert set(deployed) == {s["name"] for s in topic["subscriptions"]}
    for sub in topic["subscriptions"]:
        arm = deployed[sub["name"]]
        function = arm["destination"]["properties"]["resourceId"].rsplit("/functions/", 1)[1]
        assert arm["destination"]["endpointType"] == "AzureFunction" and function in triggers
        assert sub["endpointUrl"].endswith(f"functionName={function}")
        assert arm["filter"] == {"includedEventTypes": sub["filter"]["includedEventTypes"]}
        assert arm["retryPolicy"] == sub["retryPolicy"]


def granted(template: Template) -> dict[str, tuple[str, str]]:
    """Every role the template grants: role definition id -> (assignment, scope)."""
    roles: dict[str, tuple[str, str]] = {}
    for name in template.of_type("Microsoft.Authorization/roleAssignments"):
        [assignment] = template.instances(name)
        [role] = GUID.findall(assignment["properties"]["roleDefinitionId"])
        assert assignment["properties"]["principalId"] == Ref("identity.properties.principalId"), name
        roles[role] = (name, str(assignment["scope"]))
    for name in template.of_type("Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments"):
        [assignment] = template.instances(name)
        [role] = GUID.findall(assignment["properties"]["roleDefinitionId"])
        roles[role] = (name, assignment["properties"]["scope"])
    return roles


def test_the_identity_holds_exactly_the_least_privilege_roles(template: Template, config: dict[str, Any]) -> None:
    roles = granted(template)
    app_roles = {SERVICE_BUS_DATA_SENDER, SERVICE_BUS_DATA_RECEIVER, EVENTGRID_DATA_SENDER, COSMOS_DATA_CONTRIBUTOR}
    assert set(roles) - set(HOST_ROLES) == app_roles, \
        "the app's data roles: Service Bus send + receive, Event Grid send, Cosmos data"
    assert set(roles) & set(HOST_ROLES) == set(HOST_ROLES), "the host's storage and telemetry roles"
    assert roles[SERVICE_BUS_DATA_SENDER][1] == roles[SERVICE_BUS_DATA_RECEIVER][1] == "<serviceBus>"
    assert roles[EVENTGRID_DATA_SENDER][1] == "<eventTopic>"
    [database] = config["cosmos.json"]["databases"]
    assert roles[COSMOS_DATA_CONTRIBUTOR][1] == f"<cosmos.id>/dbs/{database['id']}", "scoped to the database"
    text = MAIN.read_text()
    assert not [name for guid, name in OWNER_ROLES.items() if guid in text]


def test_local_auth_is_off_wherever_the_app_uses_its_identity(template: Template) -> None:
    def properties(name: str) -> dict[str, Any]:
        [resource] = template.instances(name)
        return resource["properties"]

    assert properties("serviceBus")["disableLocalAuth"] is True
    assert properties("cosmos")["disableLocalAuth"] is True
    assert properties("eventTopic")["disableLocalAuth"] is True
    assert properties("storage")["allowSharedKeyAccess"] is False
    assert properties("insights")["DisableLocalAuth"] is True


def test_the_function_app_is_flex_consumption_python_311_with_a_user_assigned_identity(template: Template) -> None:
    [plan] = template.instances("plan")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    [app] = template.instances("functionApp")
    assert app["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {"<identity.id>": {}}}
    assert app["properties"]["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}
    deployment = app["properties"]["functionAppConfig"]["deployment"]
    assert deployment["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    assert app["kind"] == "functionapp,linux"
    assert template.of_type("Microsoft.Insights/components"), "Application Insights"


def test_app_settings_are_the_identity_forms_the_adapters_read(template: Template) -> None:
    settings = template.variable("appSettings")
    bus, cosmos, grid = SERVICE_BUS_CONNECTION, COSMOS_CONNECTION, EVENT_GRID_ENDPOINT
    assert {f"{bus}__fullyQualifiedNamespace", f"{cosmos}__accountEndpoint", grid, "AZURE_CLIENT_ID"} <= set(settings)
    assert not {bus, cosmos, EVENT_GRID_KEY} & set(settings), "a key form would win over the identity"
    for connection in (bus, cosmos, "AzureWebJobsStorage"):
        assert settings[f"{connection}__credential"] == "managedidentity"
    # Flex Consumption refuses these two app settings (the runtime is in functionAppConfig).
    assert not {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"} & set(settings)
    settings_source = (REPO_ROOT / "core" / "settings.py").read_text()
    assert [k for k in template.parameter("appTuning") if f'"{k}"' not in settings_source] == [], \
        "every tuning setting is one core/settings.py reads"


def test_azure_yaml_deploys_this_app_to_the_tagged_function_app(template: Template) -> None:
    azure = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())
    [(service, spec)] = azure["services"].items()
    assert (service, spec["language"], spec["host"], spec["project"]) == ("api", "python", "function", ".")
    assert azure.get("infra", {}).get("path", "infra") == "infra" and (REPO_ROOT / "infra" / "main.bicep").is_file()
    [app] = template.instances("functionApp")
    assert app["tags"]["azd-service-name"] == service
    assert "deployEventSubscription=true" in json.dumps(azure["hooks"]), \
        "the second pass adds the Event Grid subscriptions"


CITING = ["infra/main.bicep", "azure.yaml", "README.md", *sorted(p.relative_to(REPO_ROOT).as_posix()
                                                               for p in (REPO_ROOT / "docs").glob("*.md"))]
CITED = re.compile(r"\b((?:adapters|core|contracts|devstack|docs|infra|resources|tests|tools|bench|ingestion|package|"
                   r"drone_scheduler|delivery|remediation|notifications)/[\w./-]*\w\.(?:py|md|json|bicep|yaml))")


@pytest.mark.parametrize("document", CITING)
def test_every_repository_file_cited_exists(document: str) -> None:
    text = (REPO_ROOT / document).read_text()
    cited = set(CITED.findall(text))
    if document in ("infra/main.bicep", "azure.yaml", "README.md", "docs/deploy.md"):
        assert cited, f"{document} cites no file (the pattern is broken)"
    assert sorted(p for p in cited if not (REPO_ROOT / p).is_file()) == []


# ---- docs/asyncapi.yaml (AsyncAPI 3.0) -----------------------------------------------------------------
ASYNCAPI = REPO_ROOT / "docs" / "asyncapi.yaml"
COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")  # AsyncAPI 3.0 "Components Object": key pattern


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    return yaml.safe_load(ASYNCAPI.read_text())


def resolve(document: dict[str, Any], ref: str) -> Any:
    """A local JSON Pointer `$ref` (RFC 6901), as AsyncAPI resolves it."""
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if isinstance(node.get("$ref"), str) else [r for v in node.values() for r in refs(v)]
    return [r for v in node for r in refs(v)] if isinstance(node, list) else []


def test_asyncapi_yaml_is_current() -> None:
    assert ASYNCAPI.read_text() == asyncapi_yaml(), "regenerate docs/asyncapi.yaml (command in its header)"


def test_asyncapi_yaml_is_well_formed_asyncapi_3(asyncapi: dict[str, Any]) -> None:
    assert asyncapi["asyncapi"] == "3.0.0" and asyncapi["info"]["title"] and asyncapi["info"]["version"]
    unresolved = [r for r in refs(asyncapi) if not _resolves(asyncapi, r)]
    assert unresolved == []
    for section in ("channels", "operations"):
        assert all(COMPONENT_KEY.match(key) for key in asyncapi[section]), section
    for kind in ("messages", "schemas"):
        assert all(COMPONENT_KEY.match(key) for key in asyncapi["components"][kind]), kind
    addresses = [channel["address"] for channel in asyncapi["channels"].values()]
    assert len(addresses) == len(set(addresses))
    for name, operation in asyncapi["operations"].items():
        assert operation["action"] in {"send", "receive"}, name
        channel = operation["channel"]["$ref"]
        assert channel.startswith("#/channels/"), name
        # AsyncAPI 3.0 "Operation Object": its messages must be messages of its channel.
        message_refs = [r["$ref"] for r in operation["messages"]]
        assert message_refs and all(r.startswith(f"{channel}/messages/") for r in message_refs), name


def _resolves(document: dict[str, Any], ref: str) -> bool:
    try:
        resolve(document, ref)
    except (KeyError, TypeError, AssertionError):
        return False
    return True


def test_asyncapi_channels_are_the_declared_topology(asyncapi: dict[str, Any], namespace: dict[str, Any],
                                                     config: dict[str, Any]) -> None:
    entities = {q["Name"] for q in namespace["Queues"]} | {t["Name"] for t in namespace["Topics"]}
    entities |= {f"{t['Name']}/Subscriptions/{s['Name']}" for t in namespace["Topics"] for s in t["Subscriptions"]}
    topic_names = {t["Name"] for t in namespace["Topics"]}
    dead_letter_queues = {f"{e}/$deadletterqueue" for e in entities if e not in topic_names}
    event_topics = {t["name"] for t in config["eventgrid.json"]["topics"]}
    addresses = {channel["address"] for channel in asyncapi["channels"].values()}
    assert addresses == entities | dead_letter_queues | event_topics


def test_every_message_type_is_published_sent_and_received(asyncapi: dict[str, Any]) -> None:
    union = {model.__name__ for model in AnyMessage.__origin__.__args__}  # type: ignore[attr-defined]
    assert union <= set(asyncapi["components"]["messages"])
    for action in ("send", "receive"):
        covered = {r["$ref"].rsplit("/", 1)[1] for op in asyncapi["operations"].values() if op["action"] == action
                   for r in op["messages"]}
        assert covered == set(asyncapi["components"]["messages"]), f"every message has a {action} operation"


def test_asyncapi_filters_and_event_types_match_the_resources(asyncapi: dict[str, Any], namespace: dict[str, Any],
                                                              config: dict[str, Any]) -> None:
    channels = {channel["address"]: channel for channel in asyncapi["channels"].values()}
    for topic in namespace["Topics"]:
        for sub in topic["Subscriptions"]:
            labels = {r["Properties"]["CorrelationFilter"]["Label"] for r in sub.get("Rules", [])
                      if "Label" in r["Properties"].get("CorrelationFilter", {})}
            carried = set(channels[f"{topic['Name']}/Subscriptions/{sub['Name']}"]["messages"])
            if labels:
                assert carried == labels, f"{sub['Name']}: its correlation filter lets only {labels} in"
    [topic] = config["eventgrid.json"]["topics"]
    events = channels[topic["name"]]["messages"]
    names = {resolve(asyncapi, ref["$ref"])["name"] for ref in events.values()}
    [sub] = topic["subscriptions"]
    assert names == set(sub["filter"]["includedEventTypes"])
