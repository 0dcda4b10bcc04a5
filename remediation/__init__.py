"""Remediation: one trigger per dead-letter queue; records every dead letter and acts per docs/design.md's table."""
