"""Notifications: an Event Grid-triggered example subscriber recording one notification per delivery event."""
