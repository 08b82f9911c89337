"""Identity providers on loopback for browser sign-in: real HTTP servers a browser can follow.

* OpenID Connect: oidc-provider-mock's WSGI app (authlib), served on 127.0.0.1 — another site
  than the portal's live server on ``localhost``, as an IdP is in production.
* SAML 2.0: pysaml2's IdP (``saml2.server.Server``) behind a small WSGI front: it receives the
  portal's AuthnRequest (HTTP-Redirect binding), shows a sign-in form, and answers with a signed
  assertion through the HTTP-POST binding (pysaml2's auto-submitting form to the portal's ACS).
"""

import html
import threading
from contextlib import contextmanager
from pathlib import Path

import requests
import trustme
import werkzeug.serving
from oidc_provider_mock import app as oidc_app
from werkzeug.wrappers import Request, Response

HOST = "127.0.0.1"
ROLE = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
MAIL = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"


def _with_favicon(wsgi_app):
    # Browsers ask every site for /favicon.ico; neither IdP has one, and Chromium logs the 404 as
    # a console error that would be mistaken for one of the portal's.
    def app(environ, start_response):
        if environ.get("PATH_INFO") == "/favicon.ico":
            start_response("204 No Content", [])
            return [b""]
        return wsgi_app(environ, start_response)

    return app


@contextmanager
def serve(wsgi_app):
    server = werkzeug.serving.make_server(HOST, 0, _with_favicon(wsgi_app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class OIDCProvider:
    def __init__(self, url: str):
        self.url = url

    def set_user(self, sub: str, **claims):
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5)
        assert response.status_code == 204, response.text


@contextmanager
def oidc_provider():
    with serve(oidc_app()) as url:
        yield OIDCProvider(url)


SIGN_IN_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Test IdP sign-in</title></head>
<body><h1>Test IdP</h1>
<form method="post" action="/sso/sign-in">
<label for="username">IdP username</label> <input id="username" name="username" required>
<input type="hidden" name="SAMLRequest" value="{request}">
<input type="hidden" name="RelayState" value="{relay}">
<button type="submit">Sign in to the IdP</button>
</form></body></html>"""


class SamlIdP:
    """pysaml2's IdP. ``users``: IdP username → (object id, email, role values)."""

    def __init__(self, workdir: Path):
        self.url = self.entity_id = self.sso_url = ""  # known once the server listens
        self.workdir = workdir
        self.users: dict[str, tuple[str, str, list[str]]] = {}
        self.server = None
        leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
            "idp.contoso.test", key_type=trustme.KeyType.RSA
        )
        self.key, self.cert = workdir / "idp.key", workdir / "idp.pem"
        leaf.private_key_pem.write_to_path(str(self.key))
        leaf.cert_chain_pems[0].write_to_path(str(self.cert))

    def trust_sp(self, sp_metadata_url: str) -> None:
        """Load the portal's SP metadata, as an IdP administrator registers a relying party."""
        from saml2.server import Server

        response = requests.get(sp_metadata_url, timeout=10)
        assert response.status_code == 200, response.text
        (self.workdir / "sp.xml").write_text(response.text)
        self.server = Server(config=self._config([str(self.workdir / "sp.xml")]))

    def _config(self, sp_metadata: list[str]):
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig

        config = IdPConfig()
        config.load({
            "entityid": self.entity_id,
            "key_file": str(self.key), "cert_file": str(self.cert),
            "metadata": {"local": sp_metadata},
            "service": {"idp": {
                "endpoints": {"single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]},
                "policy": {"default": {"sign_assertion": True, "name_form":
                           "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"}},
            }},
            "xmlsec_binary": "/usr/bin/xmlsec1",
        })  # fmt: skip
        return config

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/sso" and request.method == "GET":
            page = SIGN_IN_PAGE.format(
                request=html.escape(request.args.get("SAMLRequest", ""), quote=True),
                relay=html.escape(request.args.get("RelayState", ""), quote=True),
            )
            response = Response(page, content_type="text/html; charset=utf-8")
        elif request.path == "/metadata":
            from saml2.metadata import entity_descriptor

            xml = str(entity_descriptor(self._config([])))
            response = Response(xml, content_type="application/samlmetadata+xml")
        elif request.path == "/sso/sign-in" and request.method == "POST":
            response = self._answer(request.form)
        else:
            response = Response("Not found", status=404, content_type="text/plain")
        return response(environ, start_response)

    def _answer(self, form) -> Response:
        from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

        user = self.users.get(form.get("username", ""))
        if user is None:
            return Response("Unknown user", status=401, content_type="text/plain")
        oid, email, roles = user
        authn = self.server.parse_authn_request(form["SAMLRequest"], BINDING_HTTP_REDIRECT)
        acs = authn.message.assertion_consumer_service_url
        assertion = self.server.create_authn_response(
            identity={OID: [oid], MAIL: [email], NAME: [email], ROLE: roles},
            in_response_to=authn.message.id, destination=acs,
            sp_entity_id=authn.message.issuer.text, userid=oid,
            name_id=None, sign_assertion=True, sign_response=False,
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                   "authn_auth": self.entity_id},
            sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            digest_alg="http://www.w3.org/2001/04/xmlenc#sha256",
        )  # fmt: skip
        args = self.server.apply_binding(
            BINDING_HTTP_POST, str(assertion), destination=acs,
            relay_state=form.get("RelayState", ""), response=True,
        )  # fmt: skip
        return Response(args["data"], status=200, content_type="text/html; charset=utf-8")


@contextmanager
def saml_idp(workdir: Path):
    idp = SamlIdP(workdir)
    with serve(idp) as url:
        idp.url, idp.entity_id, idp.sso_url = url, f"{url}/saml", f"{url}/sso"
        yield idp
