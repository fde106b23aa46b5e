"""Shared settings for the mappers' tests: a modest hypothesis profile."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "mappers",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
