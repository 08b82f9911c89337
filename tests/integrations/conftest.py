"""Fixtures for the integration checks: the sandbox Exchange, a private PKI, loopback TLS
servers and a SharePoint OAuth metadata endpoint served over HTTPS on loopback."""

import contextlib
import http.server
import os
import ssl
import sys
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CONNECTIVITY_TESTS = os.path.join(os.path.dirname(HERE), "connectivity")
if CONNECTIVITY_TESTS not in sys.path:
    sys.path.insert(0, CONNECTIVITY_TESTS)

from probe_certs import make_ca, make_leaf, server_context, write_bundle  # noqa: E402

from portal.integrations.models import Integration  # noqa: E402
from portal.tenants.models import Tenant  # noqa: E402
from portal.tenants.sandbox import register_sandbox_tenant  # noqa: E402

METADATA = (
    b'{"kind":"...","version":"1.0","name":"00000003-0000-0ff1-ce00-000000000000",'
    b'"realm":"3f4b1c2d-1111-4a5b-9c8d-0123456789ab",'
    b'"serviceName":"00000003-0000-0ff1-ce00-000000000000",'
    b'"keys":[{"usage":"signing","keyValue":{"type":"x509Certificate","value":"MIIB"}}],'
    b'"endpoints":[{"location":"https://sharepoint.contoso.test/_vti_bin/client.svc",'
    b'"protocol":"OAuth2","usage":"metadata"}]}'
)


class PKI:
    def __init__(self, tmpdir: str) -> None:
        self.tmpdir = tmpdir
        self.root = make_ca("Integration Test Root")
        self.inter = make_ca("Integration Test Issuing CA", self.root)
        self.ca_file = write_bundle(os.path.join(tmpdir, "root.pem"), self.root)
        self.ca_pem = self.root.pem().decode()

    def context(self, *names, **kw) -> ssl.SSLContext:
        return server_context(make_leaf(self.inter, *(names or ("localhost",)), **kw),
                              self.tmpdir)  # fmt: skip


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> PKI:
    return PKI(str(tmp_path_factory.mktemp("integration-pki")))


@contextlib.contextmanager
def https_server(ctx: ssl.SSLContext, body: bytes, content_type="application/json", status=200):
    """A real HTTPS server on loopback answering every GET with ``body``; yields (port, paths)."""
    paths: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server naming
            paths.append(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], paths
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sandbox_tenant(db, sandbox_exchange):
    return register_sandbox_tenant(sandbox_exchange.info)[0]


@pytest.fixture
def lab_tenant(db, pki):
    """A tenant whose CA bundle trusts the test PKI (for the loopback TLS servers)."""
    return Tenant.objects.create(name="Lab", kind=Tenant.Kind.SERVER, cloud=Tenant.Cloud.CUSTOM,
                                 auth_method=Tenant.Auth.BASIC, ca_bundle=pki.ca_pem,
                                 accepted_domains=["contoso.test"])  # fmt: skip


def make_integration(tenant, **fields) -> Integration:
    defaults = {"name": "Skype pool", "product": "sfb_2019", "features": ["im_presence"]}
    defaults.update(fields)
    return Integration.objects.create(tenant=tenant, **defaults)
