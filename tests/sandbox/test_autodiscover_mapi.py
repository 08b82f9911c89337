"""Autodiscover (SOAP through exchangelib, POX with mapiHttp, JSON v2) and MAPI over HTTP."""

import pytest
import requests
from exchangelib.autodiscover import AutodiscoverProtocol
from exchangelib.configuration import Configuration
from lxml import etree

from connectivity import ews

POX_REQ = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
POX_RESP = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
POX_BASE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"


def test_exchangelib_autodiscover_with_app_token(info, app_creds, new_mailbox):
    address = new_mailbox()["address"]
    account = ews.build_account(
        address,
        app_creds,
        autodiscover_url=info["autodiscover_url"],
        ca_file=info["ca_file"],
        timeout=10,
    )
    assert account.ad_response.ews_url == info["ews_url"]
    assert account.protocol.service_endpoint == info["ews_url"]
    assert account.primary_smtp_address == address
    assert account.inbox.total_count == 0


def test_exchangelib_autodiscover_with_basic_auth(info, new_mailbox):
    me = new_mailbox()
    creds = ews.basic_credentials(me["address"], me["password"])
    account = ews.build_account(
        me["address"], creds, autodiscover_url=info["autodiscover_url"], ca_file=info["ca_file"]
    )
    assert account.protocol.service_endpoint == info["ews_url"]
    assert account.ad_response.user_settings["mapi_http_enabled"] == "True"
    assert account.inbox.total_count == 0


def test_soap_get_user_settings_unknown_user(info):
    me = info["mailboxes"][0]
    ews.trust_ca(info["autodiscover_url"], info["ca_file"])
    protocol = AutodiscoverProtocol(
        config=Configuration(
            service_endpoint=info["autodiscover_url"],
            credentials=ews.basic_credentials(me["address"], me["password"]),
            auth_type="basic",
        )
    )
    response = protocol.get_user_settings(f"ghost@{info['domain']}")
    assert response.error_code == "InvalidUser"
    ok = protocol.get_user_settings(
        me["address"], settings=["external_ews_url", "ews_supported_schemas"]
    )
    assert ok.ews_url == info["ews_url"]
    assert ok.version.api_version == "Exchange2016"


def pox(info, address, auth, mapi=None):
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="{POX_REQ}"><Request>'
        f"<EMailAddress>{address}</EMailAddress>"
        f"<AcceptableResponseSchema>{POX_RESP}</AcceptableResponseSchema></Request></Autodiscover>"
    )
    headers = {"Content-Type": "text/xml"}
    if mapi:
        headers["X-MapiHttpCapability"] = mapi
    return requests.post(
        info["autodiscover_pox_url"],
        data=body,
        headers=headers,
        auth=auth,
        verify=info["ca_file"],
        timeout=10,
    )


def test_pox_autodiscover_with_mapi_http(info):
    me = info["mailboxes"][0]
    auth = (me["address"], me["password"])
    assert pox(info, me["address"], None).status_code == 401

    resp = pox(info, me["address"], auth, mapi="1")
    assert resp.status_code == 200
    root = etree.fromstring(resp.content)
    ns = {"r": POX_RESP}
    assert (
        root.findtext("r:Response/r:User/r:AutoDiscoverSMTPAddress", namespaces=ns)
        == (me["address"])
    )
    assert (
        root.findtext("r:Response/r:Account/r:Protocol/r:EwsUrl", namespaces=ns)
        == (info["ews_url"])
    )
    [mapi] = root.findall("r:Response/r:Account/r:Protocol[@Type='mapiHttp']", namespaces=ns)
    mailstore = mapi.findtext("r:MailStore/r:ExternalUrl", namespaces=ns)
    addressbook = mapi.findtext("r:AddressBook/r:ExternalUrl", namespaces=ns)
    assert mailstore.startswith(info["mapi_url"] + "?MailboxId=")
    assert addressbook.startswith(info["mapi_nspi_url"] + "?MailboxId=")

    without = etree.fromstring(pox(info, me["address"], auth).content)
    assert without.findall("r:Response/r:Account/r:Protocol[@Type='mapiHttp']", namespaces=ns) == []
    missing = etree.fromstring(pox(info, f"ghost@{info['domain']}", auth).content)
    assert (
        missing.findtext(f"{{{POX_BASE}}}Response/{{{POX_BASE}}}Error/{{{POX_BASE}}}ErrorCode")
        == "500"
    )


def test_json_v2_autodiscover(info):
    address = info["mailboxes"][0]["address"]
    url = f"{info['autodiscover_json_url']}/{address}"
    resp = requests.get(url, params={"Protocol": "Ews"}, verify=info["ca_file"], timeout=10)
    assert resp.status_code == 200
    assert resp.json() == {"Protocol": "Ews", "Url": info["ews_url"]}
    v1 = requests.get(
        url, params={"Protocol": "AutodiscoverV1"}, verify=info["ca_file"], timeout=10
    ).json()
    assert v1["Url"] == info["autodiscover_pox_url"]
    bad = requests.get(url, params={"Protocol": "Smoke"}, verify=info["ca_file"], timeout=10)
    assert bad.status_code == 400 and bad.json()["ErrorCode"] == "InvalidProtocol"


@pytest.fixture
def mapi_session(info):
    me = info["mailboxes"][0]
    session = requests.Session()
    session.auth = (me["address"], me["password"])
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override session.verify
    session.verify = info["ca_file"]
    yield session
    session.close()


def mapi_post(session, url, request_type, **headers):
    headers = {
        "Content-Type": "application/mapi-http",
        "X-RequestType": request_type,
        "X-RequestId": "{E2EA6C1C-E61B-49E9-9CFB-38184F907552}:1",
        "X-ClientInfo": "{2EF33C39-49C8-421C-B876-CDF7F2AC3AA0}:1",
        **headers,
    }
    return session.post(url, data=b"\x00" * 8, headers=headers, timeout=10)


def test_mapi_over_http(info, mapi_session):
    anonymous = requests.post(
        info["mapi_url"],
        data=b"",
        headers={"Content-Type": "application/mapi-http", "X-RequestType": "PING"},
        verify=info["ca_file"],
        timeout=10,
    )
    assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers

    ping = mapi_post(mapi_session, info["mapi_url"], "PING")
    assert ping.status_code == 200
    assert ping.headers["Content-Type"] == "application/mapi-http"
    assert ping.headers["X-ResponseCode"] == "0"
    assert ping.headers["X-RequestId"].endswith(":1")
    assert b"DONE" in ping.content

    connect = mapi_post(mapi_session, info["mapi_url"], "Connect")
    assert connect.headers["X-ResponseCode"] == "0"
    assert "MapiContext" in mapi_session.cookies
    assert mapi_post(mapi_session, info["mapi_url"], "Execute").headers["X-ResponseCode"] == "0"
    assert mapi_post(mapi_session, info["mapi_url"], "Disconnect").headers["X-ResponseCode"] == "0"
    # The context is gone after Disconnect (10 = Context Not Found)
    again = mapi_post(mapi_session, info["mapi_url"], "Disconnect")
    assert again.headers["X-ResponseCode"] == "10"
    assert mapi_post(mapi_session, info["mapi_url"], "Bogus").headers["X-ResponseCode"] == "5"

    nspi = mapi_post(mapi_session, info["mapi_nspi_url"], "Bind")
    assert nspi.headers["X-ResponseCode"] == "0" and "NspiContext" in mapi_session.cookies
    missing = mapi_session.post(info["mapi_nspi_url"], data=b"", timeout=10)
    assert missing.headers["X-ResponseCode"] == "7"
