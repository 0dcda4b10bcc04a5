"""Binding constants shared by the blueprints: the auth level and the relays' schedule (the connection setting
names are core/settings.py's, which the SDK adapters read too)."""
from __future__ import annotations

from typing import Final

import azure.functions as func

# Function keys protect the HTTP API on Azure (`x-functions-key` or `?code=`); `func start` does not
# enforce them locally (Functions docs, "Authorization level").
HTTP_AUTH: Final = func.AuthLevel.FUNCTION
# The relays (commit, then announce) look for owed effects every 5 seconds (NCRONTAB with seconds); each run
# only reads documents whose due time has passed, so an idle app costs one small query per relay per run.
RELAY_SCHEDULE: Final = "*/5 * * * * *"
