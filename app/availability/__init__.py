"""Availability: opening windows, closures, and the pure rules that turn them into free time."""
