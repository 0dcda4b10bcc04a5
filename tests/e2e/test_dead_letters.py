"""Poison messages reach each dead-letter queue, Remediation records them, an operator redrives one."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid

from azure.servicebus import ServiceBusMessage

from tests.e2e.checks import dead_letter_records
from tests.support.processes import REPO_ROOT
from tests.support.stack import RunningStack, eventually

# Remediation's entity names for the three consumers of a DeliveryRequested (docs/design.md "Topology"):
# the two subscriptions and, through the `delivery` subscription's auto-forward, the session queue.
CONSUMERS = {"package", "drone-scheduler", "delivery-inbox"}


def send_poison(stack: RunningStack, message_id: str) -> None:
    """A DeliveryRequested whose body is not a contract, published like Ingestion publishes."""
    with stack.servicebus() as client, client.get_topic_sender("deliveries") as sender:
        sender.send_messages(ServiceBusMessage(b"{not json", message_id=message_id, subject="DeliveryRequested",
                                               session_id=message_id))


def records_by_entity(stack: RunningStack, message_id: str) -> dict[str, dict]:
    """Remediation's records of one MessageId, keyed by entity."""
    return {record["entity"]: record for record in dead_letter_records(stack, message_id)}


def run_dlq(stack: RunningStack, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m devstack dlq ...` pointed at this stack (settings through the environment)."""
    import os
    return subprocess.run([sys.executable, "-m", "devstack", "dlq", *args], cwd=REPO_ROOT,
                          env={**os.environ, **stack.app_env()}, capture_output=True, text=True, timeout=60)


def test_poison_message_is_dead_lettered_on_each_entity_and_recorded(stack: RunningStack) -> None:
    message_id = f"poison-{uuid.uuid4().hex[:10]}"
    send_poison(stack, message_id)
    records = eventually(lambda: records_by_entity(stack, message_id), lambda r: set(r) >= CONSUMERS, 60,
                         f"dead-letter records of {message_id} from {sorted(CONSUMERS)}")
    for entity in CONSUMERS:
        assert records[entity]["deadLetterReason"] == "InvalidMessage", records[entity]
        assert records[entity]["reasonCode"] == "InvalidMessage"
    assert records["delivery-inbox"]["requiresOperator"] is True
    assert records["package"]["body"] == "{not json"


def test_redrive_resends_recorded_dead_letters_each_with_a_new_message_id(stack: RunningStack) -> None:
    message_id = f"poison-{uuid.uuid4().hex[:10]}"
    send_poison(stack, message_id)
    eventually(lambda: records_by_entity(stack, message_id), lambda r: set(r) >= CONSUMERS, 60, "the records")
    listed = run_dlq(stack, "list", "--json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert f"package:{message_id}" in {row["id"] for row in json.loads(listed.stdout)}

    # Two records of one dead message, redriven together: to the topic and to the session queue.
    # Each needs its own MessageId, or duplicate detection would drop the second send.
    redriven = run_dlq(stack, "redrive", f"package:{message_id}", f"delivery-inbox:{message_id}")
    assert redriven.returncode == 0, redriven.stdout + redriven.stderr
    via_topic, via_queue = f"package:{message_id}:redrive:1", f"delivery-inbox:{message_id}:redrive:1"
    assert via_topic in redriven.stdout and via_queue in redriven.stdout
    # Still poison, so each is dead-lettered and recorded again — under its new MessageId.
    again = eventually(lambda: records_by_entity(stack, via_topic), lambda r: "package" in r, 60,
                       f"a record of the redriven {via_topic}")
    assert again["package"]["applicationProperties"]["RedrivenFrom"] == f"package:{message_id}"
    eventually(lambda: records_by_entity(stack, via_queue), lambda r: "delivery-inbox" in r, 60,
               f"a record of the redriven {via_queue}")
    original = stack.container("deadletters").read_item(f"package:{message_id}", partition_key=f"package:{message_id}")
    assert (original["redriveCount"], original["lastRedriveMessageId"]) == (1, via_topic)


def test_redrive_of_an_unknown_record_says_so(stack: RunningStack) -> None:
    result = run_dlq(stack, "redrive", "package:no-such-record")
    assert result.returncode == 1
    assert "not found" in result.stdout
