"""Binding constants shared by the blueprints: connection setting names and the auth level."""
from __future__ import annotations

from typing import Final

import azure.functions as func

SERVICE_BUS_CONNECTION: Final = "ServiceBusConnection"
COSMOS_CONNECTION: Final = "CosmosDBConnection"
# Function keys protect the HTTP API on Azure (`x-functions-key` or `?code=`); `func start` does not
# enforce them locally (Functions docs, "Authorization level").
HTTP_AUTH: Final = func.AuthLevel.FUNCTION
# The relays (commit, then announce) look for owed effects every 5 seconds (NCRONTAB with seconds); each run
# only reads documents whose due time has passed, so an idle app costs one small query per relay per run.
RELAY_SCHEDULE: Final = "*/5 * * * * *"
