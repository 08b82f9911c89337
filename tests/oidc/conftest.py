"""A real OpenID Connect provider on loopback (oidc-provider-mock, an authlib-based server)."""

import pytest
import requests
from oidc_provider_mock import run_server_in_thread


@pytest.fixture(scope="module")
def idp():
    with run_server_in_thread() as server:
        yield IdP(f"http://localhost:{server.server_port}")


class IdP:
    def __init__(self, url: str):
        self.url = url

    def set_user(self, sub: str, **claims):
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5)
        assert response.status_code == 204, response.text

    def authorize(self, authorize_url: str, sub: str) -> str:
        """The person signs in at the IdP: returns where the IdP sends the browser back to."""
        assert authorize_url.startswith(self.url + "/")
        response = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text
        return response.headers["Location"]
