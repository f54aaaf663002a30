"""Behaviour per resource, no HTTP: functions of (backend, params) that read and write state."""
