"""Authentication, impersonation grants and the tenant EWS switches."""

import jwt
import pytest
import requests
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorImpersonateUserDenied,
    ErrorNonExistentMailbox,
    TransportError,
    UnauthorizedError,
)

from connectivity import ews

from .conftest import GET_INBOX, soap


def app_token(info, client_id=None, secret=None):
    return ews.fetch_token(
        info["token_url"],
        client_id or info["app_client_id"],
        secret or info["app_client_secret"],
        ca_file=info["ca_file"],
    )["access_token"]


def test_token_endpoint_issues_rs256_jwt_verifiable_with_jwks(info):
    token = ews.fetch_token(
        info["token_url"],
        info["app_client_id"],
        info["app_client_secret"],
        ca_file=info["ca_file"],
        timeout=10,
    )
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    assert token["expires_at"] > 0
    jwks = requests.get(info["jwks_url"], verify=info["ca_file"], timeout=10).json()
    key = jwt.PyJWK(jwks["keys"][0])
    assert jwt.get_unverified_header(token["access_token"])["kid"] == key.key_id
    claims = jwt.decode(
        token["access_token"],
        key.key,
        algorithms=["RS256"],
        audience="https://outlook.office365.com",
    )
    assert claims["tid"] == info["tenant_id"]
    assert claims["appid"] == info["app_client_id"]
    assert claims["roles"] == ["full_access_as_app"]
    assert claims["exp"] > claims["iat"]


def test_token_endpoint_refusals(info):
    with pytest.raises(ews.TokenError) as bad_secret:
        ews.fetch_token(info["token_url"], info["app_client_id"], "wrong", ca_file=info["ca_file"])
    assert (bad_secret.value.status, bad_secret.value.error) == (401, "invalid_client")
    with pytest.raises(ews.TokenError) as bad_scope:
        ews.fetch_token(
            info["token_url"],
            info["app_client_id"],
            info["app_client_secret"],
            scope="https://graph.microsoft.com/.default",
            ca_file=info["ca_file"],
        )
    assert bad_scope.value.error == "invalid_scope"


@pytest.mark.parametrize(
    ("claims", "drop", "lifetime", "reason"),
    [
        ({}, [], -600, "expired"),
        ({"aud": "https://graph.microsoft.com"}, [], 3600, "audience"),
        ({"roles": ["Mail.Read"]}, [], 3600, "full_access_as_app"),
        ({}, ["roles"], 3600, "full_access_as_app"),
    ],
    ids=["expired", "wrong-audience", "other-role", "no-role"],
)
def test_bad_tokens_are_refused_with_401(info, admin, account_for, claims, drop, lifetime, reason):
    token = admin.mint_token(info["app_client_id"], lifetime=lifetime, claims=claims, drop=drop)
    address = info["mailboxes"][0]["address"]
    resp = soap(info, token, GET_INBOX, impersonate=address)
    assert resp.status_code == 401
    challenge = ", ".join(v for k, v in resp.raw.headers.items() if k.lower() == "www-authenticate")
    assert challenge.startswith("Bearer ") and 'error="' in challenge
    assert reason in resp.headers["x-ms-diagnostics"]
    # exchangelib starting from that cached token gets the same refusal.
    creds = ews.oauth_credentials(
        info["token_url"], info["app_client_id"], info["app_client_secret"], token=token
    )
    with pytest.raises(UnauthorizedError):
        account_for(address, creds=creds).inbox.refresh()


def test_token_signed_by_another_key_is_refused(info):
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {
            "aud": "https://outlook.office365.com",
            "tid": info["tenant_id"],
            "appid": info["app_client_id"],
            "roles": ["full_access_as_app"],
            "exp": 4102444800,
        },
        other,
        algorithm="RS256",
    )
    resp = soap(info, forged, GET_INBOX, impersonate=info["mailboxes"][0]["address"])
    assert resp.status_code == 401


def test_unauthenticated_request_is_challenged(info):
    resp = soap(info, None, GET_INBOX)
    assert resp.status_code == 401
    challenges = resp.headers["WWW-Authenticate"]
    assert "Bearer" in challenges and "Basic" in challenges


def test_impersonation_outside_grant_is_denied(info, admin, new_mailbox, account_for):
    target = info["mailboxes"][0]["address"]
    limited = ews.oauth_credentials(
        info["token_url"], info["limited_client_id"], info["limited_client_secret"]
    )
    with pytest.raises(ErrorImpersonateUserDenied):
        account_for(target, creds=limited).inbox.refresh()

    allowed, other = new_mailbox()["address"], new_mailbox()["address"]
    grouped = new_mailbox(groups=["Finance"])["address"]
    listed = admin.create_app("listed-app", scope="list", targets=[allowed])
    by_group = admin.create_app("group-app", scope="group", targets=["finance"])
    listed_creds = ews.oauth_credentials(
        info["token_url"], listed["client_id"], listed["client_secret"]
    )
    group_creds = ews.oauth_credentials(
        info["token_url"], by_group["client_id"], by_group["client_secret"]
    )
    assert account_for(allowed, creds=listed_creds).inbox.total_count == 0
    with pytest.raises(ErrorImpersonateUserDenied):
        account_for(other, creds=listed_creds).inbox.refresh()
    assert account_for(grouped, creds=group_creds).inbox.total_count == 0
    with pytest.raises(ErrorImpersonateUserDenied):
        account_for(other, creds=group_creds).inbox.refresh()
    # The grant can change at runtime
    admin.set_grant(listed["client_id"], "list", [allowed, other])
    assert account_for(other, creds=listed_creds).inbox.total_count == 0


def test_impersonating_unknown_mailbox_is_non_existent_mailbox(info, account_for):
    with pytest.raises(ErrorNonExistentMailbox):
        account_for(f"nobody@{info['domain']}").inbox.refresh()


def test_basic_auth_delegate_access(info, new_mailbox, account_for):
    me, other = new_mailbox(), new_mailbox()
    creds = ews.basic_credentials(me["address"], me["password"])
    mine = account_for(me["address"], creds=creds)
    assert mine.inbox.total_count == 0
    with pytest.raises(ErrorAccessDenied):
        account_for(other["address"], creds=creds).inbox.refresh()
    wrong = ews.basic_credentials(me["address"], "not-the-password")
    with pytest.raises(UnauthorizedError):
        account_for(me["address"], creds=wrong).inbox.refresh()
    # Basic-auth users hold no ApplicationImpersonation role unless granted
    with pytest.raises(ErrorImpersonateUserDenied):
        account_for(other["address"], creds=creds, impersonation=True).inbox.refresh()


def test_delegated_token_acts_as_signed_in_user(info, new_mailbox, account_for):
    me = new_mailbox()
    creds = ews.oauth_credentials(
        info["token_url"],
        info["limited_client_id"],
        info["limited_client_secret"],
        username=me["address"],
        password=me["password"],
    )
    account = account_for(me["address"], creds=creds)
    assert account.inbox.total_count == 0
    token = creds.access_token["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["scp"] == "EWS.AccessAsUser.All" and claims["upn"] == me["address"]


def test_ews_switches_and_allowed_app_ids(info, admin, restore_policies, new_mailbox, account_for):
    address = new_mailbox()["address"]
    token = app_token(info)
    assert soap(info, token, GET_INBOX, impersonate=address).status_code == 200

    admin.set_org(ews_enabled=False)
    resp = soap(info, token, GET_INBOX, impersonate=address)
    assert resp.status_code == 403
    with pytest.raises(TransportError, match="403"):
        account_for(address).inbox.refresh()

    # Org null + mailbox False -> refused for that mailbox only
    admin.set_org(ews_enabled=None)
    admin.update_mailbox(address, ews_enabled=False)
    assert soap(info, token, GET_INBOX, impersonate=address).status_code == 403
    other = new_mailbox()["address"]
    assert soap(info, token, GET_INBOX, impersonate=other).status_code == 200
    admin.update_mailbox(address, ews_enabled=None)
    assert soap(info, token, GET_INBOX, impersonate=address).status_code == 200

    # Org True + EWSAllowedAppIDs: only listed applications
    second = admin.create_app("not-listed", scope="all")
    second_token = app_token(info, second["client_id"], second["client_secret"])
    admin.set_org(ews_enabled=True, ews_allowed_app_ids=[info["app_client_id"]])
    assert soap(info, token, GET_INBOX, impersonate=address).status_code == 200
    assert soap(info, second_token, GET_INBOX, impersonate=address).status_code == 403
    # The list has no effect while the org value is null
    admin.set_org(ews_enabled=None)
    assert soap(info, second_token, GET_INBOX, impersonate=address).status_code == 200


def test_certificate_credentials(info, admin):
    """Client credentials signed with a registered certificate, as the identity platform takes."""
    import trustme

    from connectivity import ews
    from connectivity.oauth import fetch_token_with_certificate

    app = admin.create_app("cert-app", scope="all")
    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        "cert-app.test", key_type=trustme.KeyType.RSA
    )
    pem = leaf.private_key_and_cert_chain_pem.bytes().decode()
    with pytest.raises(ews.TokenError, match="no certificate is registered"):
        fetch_token_with_certificate(info["token_url"], app["client_id"], pem,
                                     ca_file=info["ca_file"])  # fmt: skip
    admin.set_app_certificate(app["client_id"], leaf.cert_chain_pems[0].bytes().decode())
    token = fetch_token_with_certificate(info["token_url"], app["client_id"], pem,
                                         ca_file=info["ca_file"])  # fmt: skip
    assert token["access_token"].count(".") == 2
    other = (
        trustme.CA(key_type=trustme.KeyType.RSA)
        .issue_cert("x.test", key_type=trustme.KeyType.RSA)
        .private_key_and_cert_chain_pem.bytes()
        .decode()
    )
    with pytest.raises(ews.TokenError, match="AADSTS700027"):
        fetch_token_with_certificate(info["token_url"], app["client_id"], other,
                                     ca_file=info["ca_file"])  # fmt: skip
