import pytest

from tests.configuration.helpers import SECRETS


@pytest.fixture
def secrets_env(monkeypatch):
    for name, value in {**SECRETS, "TENANT_ANY_SECRET": "any-secret"}.items():
        monkeypatch.setenv(name, value)
    return SECRETS
