"""Driving the sample apps in tests: copy one with its local.settings.json, call it over HTTP, read what it recorded."""
from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar

APPS = Path(__file__).parent / "apps"
T = TypeVar("T")


def prepare_app(name: str, tmp_path: Path, values: dict[str, str] | None = None) -> Path:
    """Copy ``apps/<name>`` to ``tmp_path`` and write its local.settings.json (git ignores that file)."""
    app_dir = tmp_path / name
    shutil.copytree(APPS / name, app_dir, ignore=shutil.ignore_patterns("__pycache__"))
    settings = {"IsEncrypted": False,
                "Values": {"FUNCTIONS_WORKER_RUNTIME": "python", "AzureWebJobsStorage": "UseDevelopmentStorage=true",
                           **(values or {})}}
    (app_dir / "local.settings.json").write_text(json.dumps(settings, indent=2))
    return app_dir


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
         timeout: float = 15.0) -> tuple[int, Message, bytes]:
    """One HTTP request; (status, case-insensitive headers, body) for every status, errors included."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def poll(check: Callable[[], T | None], timeout: float = 20.0, what: str = "condition") -> T:
    """Call ``check`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def read_records(directory: Path, kind: str) -> list[dict[str, Any]]:
    """The JSON lines a sample app recorded under ``<directory>/<kind>.jsonl``."""
    path = directory / f"{kind}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
