"""Entity, container and message-id names every service agrees on (docs/design.md "Topology" and "Data")."""
from __future__ import annotations

from typing import Final

# The app, and its steps as the app's folders, telemetry's ``drone.service`` and the two subscriptions name them.
APP_NAME: Final = "drone-delivery"
INGESTION_STEP: Final = "ingestion"
PACKAGE_STEP: Final = "package"
DRONE_SCHEDULER_STEP: Final = "drone-scheduler"
DELIVERY_STEP: Final = "delivery"
REMEDIATION_STEP: Final = "remediation"
NOTIFICATIONS_STEP: Final = "notifications"

# Service Bus entities (resources/Config.json declares them).
DELIVERIES_TOPIC: Final = "deliveries"
DELIVERY_INBOX_QUEUE: Final = "delivery-inbox"
PACKAGE_SUBSCRIPTION: Final = PACKAGE_STEP
DRONE_SCHEDULER_SUBSCRIPTION: Final = DRONE_SCHEDULER_STEP
DELIVERY_SUBSCRIPTION: Final = DELIVERY_STEP
DEAD_LETTER_SUFFIX: Final = "$deadletterqueue"

# Cosmos DB: the database (setting CosmosDatabaseName overrides it) and the containers (resources/cosmos.json
# declares them); each service owns its own.
COSMOS_DATABASE: Final = APP_NAME
REQUESTS_CONTAINER: Final = "requests"
PACKAGES_CONTAINER: Final = "packages"
DRONES_CONTAINER: Final = "drones"
DELIVERIES_CONTAINER: Final = "deliveries"
DEADLETTERS_CONTAINER: Final = "deadletters"
NOTIFICATIONS_CONTAINER: Final = "notifications"

# Event Grid: the topic outsiders subscribe to, and the event-type prefix of what Delivery publishes.
EVENT_GRID_TOPIC: Final = "delivery-events"
EVENT_TYPE_PREFIX: Final = "Fabrikam.DroneDelivery."
EVENT_DATA_VERSION: Final = "1.0"


def message_id(delivery_id: str, message_type: str, step: str | None = None) -> str:
    """Deterministic MessageId ``{deliveryId}:{messageType}[:{step}]`` so broker duplicate detection drops resends."""
    return f"{delivery_id}:{message_type}" if step is None else f"{delivery_id}:{message_type}:{step}"


def event_id(delivery_id: str, message_type: str) -> str:
    """Deterministic Event Grid event id, so subscribers can dedupe a re-published event."""
    return f"{delivery_id}:{message_type}"


def event_type(message_type: str) -> str:
    """Event Grid event type for a terminal delivery message, e.g. ``Fabrikam.DroneDelivery.DeliveryShipped``."""
    return EVENT_TYPE_PREFIX + message_type
