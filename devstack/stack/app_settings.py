"""The app's own local settings, as `func start` would read them."""
from __future__ import annotations

import json
from pathlib import Path


def local_values(app_dir: Path) -> dict[str, str]:
    """`Values` of local.settings.json, or of the committed .example when the user has none yet.

    A fresh clone has only local.settings.json.example (local.settings.json holds secrets and is
    never committed); its values are the devstack defaults, so `make up` works before any set-up.
    """
    for name in ("local.settings.json", "local.settings.json.example"):
        path = app_dir / name
        if path.is_file():
            values = json.loads(path.read_text()).get("Values", {})
            return {str(key): str(value) for key, value in values.items()}
    return {}
