"""Fixtures of the EWS job tests (the sandbox tenant, application and grant: see world.py)."""

from tests.ewsjobs.world import world  # noqa: F401 - a fixture, found by name
