"""Remediation: one trigger per dead-letter queue; records every dead letter and acts per DESIGN.md's table."""
