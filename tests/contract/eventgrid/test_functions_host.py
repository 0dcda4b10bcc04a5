"""End to end with the devstack Functions host: its Event Grid trigger endpoint validates the
subscription and each published event invokes the function once (SDK -> Event Grid -> host)."""
from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

from tests.contract.eventgrid.publishing import SCALE, TOPIC, publish
from tests.support.eventgrid import run_eventgrid
from tests.support.functions_host import run_host

APP = '''
import json
import os

import azure.functions as func

app = func.FunctionApp()


@app.event_grid_trigger(arg_name="event")
def record_event(event: func.EventGridEvent) -> None:
    with open(os.environ["RECORD_FILE"], "a", encoding="utf-8") as out:
        out.write(json.dumps({"id": event.id, "type": event.event_type, "data": event.get_json()}) + "\\n")
'''


def test_events_reach_an_event_grid_triggered_function(tmp_path: Path) -> None:
    app_dir, record = tmp_path / "app", tmp_path / "events.jsonl"
    app_dir.mkdir()
    (app_dir / "function_app.py").write_text(textwrap.dedent(APP))
    (app_dir / "host.json").write_text(json.dumps({"version": "2.0"}))
    with run_host(app_dir, {"RECORD_FILE": str(record)}, log_path=tmp_path / "host.log") as host:
        url = f"{host.base_url}/runtime/webhooks/EventGrid?functionName=record_event"
        config = {"topics": [{"name": TOPIC, "subscriptions": [{"name": "notifications", "endpointUrl": url}]}]}
        with run_eventgrid(tmp_path / "eventgrid", config, extra_args=SCALE) as grid:
            publish(grid, "e1", "e2")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(_lines(record)) < 2:
                time.sleep(0.05)
            log = grid.process.log_path.read_text()
    recorded = sorted(_lines(record), key=lambda r: r["id"])
    assert [(r["id"], r["type"], r["data"]) for r in recorded] == \
        [("e1", "Delivery.Shipped", {"id": "e1"}), ("e2", "Delivery.Shipped", {"id": "e2"})], log
    assert "validated" in log


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
