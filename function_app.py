"""The Functions app (Python v2 model): one Blueprint per service; nothing is built at import."""
from __future__ import annotations

import azure.functions as func

from delivery.blueprint import bp as delivery
from drone_scheduler.blueprint import bp as drone_scheduler
from ingestion.blueprint import bp as ingestion
from notifications.blueprint import bp as notifications
from package.blueprint import bp as package
from remediation.blueprint import bp as remediation

app = func.FunctionApp()
for blueprint in (ingestion, package, drone_scheduler, delivery, remediation, notifications):
    app.register_functions(blueprint)
