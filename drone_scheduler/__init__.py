"""Drone Scheduler: seeds the fleet, reserves the nearest suitable drone atomically, releases it at the end."""
