"""Suite-wide settings."""
from __future__ import annotations

import logging

# The Azure SDKs log every AMQP/HTTP state change at INFO; a failing test's captured log should show
# our own components' lines, not thousands of link-state transitions.
logging.getLogger("azure").setLevel(logging.WARNING)
