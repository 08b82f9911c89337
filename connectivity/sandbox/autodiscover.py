"""Autodiscover: SOAP GetUserSettings (autodiscover.svc), POX (autodiscover.xml, Outlook
request schema, with the mapiHttp protocol section) and JSON v2 (autodiscover.json)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from lxml import etree

from .soap import ANS, SERVER_VERSION, SOAPNS, WSANS, XSINS, parse
from .store import Store

POX_REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
POX_BASE_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
POX_RESPONSE_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
SUPPORTED_SCHEMAS = (
    "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, "
    "Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2015, Exchange2016"
)


class Autodiscover:
    def __init__(self, store: Store, base_url: str, domain: str):
        self.store = store
        self.base_url = base_url
        self.domain = domain

    @property
    def ews_url(self) -> str:
        return f"{self.base_url}/EWS/Exchange.asmx"

    def mailbox_guid(self, address: str) -> str:
        return str(uuid.UUID(bytes=hashlib.md5(address.encode(), usedforsecurity=False).digest()))

    def mapi_urls(self, address: str) -> tuple[str, str]:
        guid = f"{self.mailbox_guid(address)}@{self.domain}"
        return (
            f"{self.base_url}/mapi/emsmdb/?MailboxId={guid}",
            f"{self.base_url}/mapi/nspi/?MailboxId={guid}",
        )

    def settings(self, row) -> dict[str, str]:
        address = row["address"]
        mailstore, _ = self.mapi_urls(address)
        return {
            "UserDisplayName": row["display_name"],
            "UserDN": f"/o=Sandbox/ou=Exchange Administrative Group/cn=Recipients/cn={address}",
            "UserDeploymentId": self.mailbox_guid(self.domain),
            "AutoDiscoverSMTPAddress": address,
            "ExternalEwsUrl": self.ews_url,
            "InternalEwsUrl": self.ews_url,
            "ExternalMailboxServer": f"mail.{self.domain}",
            "InternalMailboxServer": f"mail.{self.domain}",
            "CasVersion": "15.20.8769.18",
            "EwsSupportedSchemas": SUPPORTED_SCHEMAS,
            "MapiHttpEnabled": "True",
            "MailboxDN": mailstore,
        }

    # --- SOAP ----------------------------------------------------------------------------------
    def soap(self, body: bytes) -> bytes:
        root = parse(body)
        req = root.find(f"{{{SOAPNS}}}Body/{{{ANS}}}GetUserSettingsRequestMessage/{{{ANS}}}Request")
        env = etree.Element(f"{{{SOAPNS}}}Envelope", nsmap={"s": SOAPNS, "a": WSANS})
        header = etree.SubElement(env, f"{{{SOAPNS}}}Header")
        action = etree.SubElement(header, f"{{{WSANS}}}Action")
        action.text = (
            "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/"
            "GetUserSettingsResponse"
        )
        info = etree.SubElement(header, f"{{{ANS}}}ServerVersionInfo", nsmap={"h": ANS})
        for name in ("MajorVersion", "MinorVersion", "MajorBuildNumber", "MinorBuildNumber"):
            etree.SubElement(info, f"{{{ANS}}}{name}").text = SERVER_VERSION[name]
        etree.SubElement(info, f"{{{ANS}}}Version").text = "Exchange2015"
        body_el = etree.SubElement(env, f"{{{SOAPNS}}}Body")
        msg = etree.SubElement(
            body_el, f"{{{ANS}}}GetUserSettingsResponseMessage", nsmap={None: ANS, "i": XSINS}
        )
        resp = etree.SubElement(msg, f"{{{ANS}}}Response")

        def a(parent, tag, text=None):
            el = etree.SubElement(parent, f"{{{ANS}}}{tag}")
            el.text = text
            return el

        if req is None:
            a(resp, "ErrorCode", "InvalidRequest")
            a(resp, "ErrorMessage", "The request is missing GetUserSettingsRequestMessage.")
            return etree.tostring(env, xml_declaration=True, encoding="utf-8")
        a(resp, "ErrorCode", "NoError")
        a(resp, "ErrorMessage", "No error.")
        users = a(resp, "UserResponses")
        wanted = [s.text for s in req.iter(f"{{{ANS}}}Setting")]
        for mailbox in req.iter(f"{{{ANS}}}Mailbox"):
            user = a(users, "UserResponse")
            row = self.store.get_mailbox((mailbox.text or "").strip())
            if row is None:
                a(user, "ErrorCode", "InvalidUser")
                a(user, "ErrorMessage", f"Invalid user: '{mailbox.text}'")
                continue
            a(user, "ErrorCode", "NoError")
            a(user, "ErrorMessage", "No error.")
            a(user, "RedirectTarget").set(f"{{{XSINS}}}nil", "true")
            values = self.settings(row)
            errors = a(user, "UserSettingErrors")
            settings = a(user, "UserSettings")
            for name in wanted:
                if name in values:
                    s = a(settings, "UserSetting")
                    s.set(f"{{{XSINS}}}type", "StringSetting")
                    a(s, "Name", name)
                    a(s, "Value", values[name])
                else:
                    err = a(errors, "UserSettingError")
                    a(err, "ErrorCode", "SettingIsNotAvailable")
                    a(err, "ErrorMessage", f"User setting '{name}' is not available.")
                    a(err, "SettingName", name)
        return etree.tostring(env, xml_declaration=True, encoding="utf-8")

    # --- POX ------------------------------------------------------------------------------------
    def pox(self, body: bytes, mapi_capability: int) -> bytes:
        root = etree.Element(f"{{{POX_BASE_NS}}}Autodiscover", nsmap={None: POX_BASE_NS})
        try:
            req = parse(body)
            address = (
                req.findtext(f"{{{POX_REQUEST_NS}}}Request/{{{POX_REQUEST_NS}}}EMailAddress") or ""
            ).strip()
        except etree.XMLSyntaxError:
            address = ""
        row = self.store.get_mailbox(address) if address else None
        if row is None:
            resp = etree.SubElement(root, f"{{{POX_BASE_NS}}}Response")
            err = etree.SubElement(
                resp,
                f"{{{POX_BASE_NS}}}Error",
                Time=dt.datetime.now(dt.UTC).strftime("%H:%M:%S.%f"),
                Id=str(uuid.uuid4().int % 10**10),
            )
            code = "600" if not address else "500"
            text = "Invalid Request" if not address else "The email address can't be found."
            etree.SubElement(err, f"{{{POX_BASE_NS}}}ErrorCode").text = code
            etree.SubElement(err, f"{{{POX_BASE_NS}}}Message").text = text
            etree.SubElement(err, f"{{{POX_BASE_NS}}}DebugData")
            return etree.tostring(root, xml_declaration=True, encoding="utf-8")

        ns = POX_RESPONSE_NS
        resp = etree.SubElement(root, f"{{{ns}}}Response", nsmap={None: ns})

        def e(parent, tag, text=None, **attrs):
            el = etree.SubElement(parent, f"{{{ns}}}{tag}", attrs)
            el.text = text
            return el

        settings = self.settings(row)
        user = e(resp, "User")
        e(user, "DisplayName", row["display_name"])
        e(user, "LegacyDN", settings["UserDN"])
        e(user, "AutoDiscoverSMTPAddress", row["address"])
        e(user, "DeploymentId", settings["UserDeploymentId"])
        account = e(resp, "Account")
        e(account, "AccountType", "email")
        e(account, "Action", "settings")
        e(account, "MicrosoftOnline", "False")
        for kind in ("EXCH", "EXPR"):
            proto = e(account, "Protocol")
            e(proto, "Type", kind)
            e(proto, "Server", f"mail.{self.domain}")
            e(proto, "SSL", "On")
            e(proto, "AuthPackage", "Basic")
            e(proto, "ASUrl", f"{self.base_url}/Microsoft-Server-ActiveSync")
            e(proto, "EwsUrl", self.ews_url)
            e(proto, "EmwsUrl", self.ews_url)
            e(proto, "OOFUrl", self.ews_url)
            e(proto, "ServerVersion", "73C0820C")
        if mapi_capability >= 1:
            mailstore, addressbook = self.mapi_urls(row["address"])
            proto = e(account, "Protocol", Type="mapiHttp", Version="1")
            e(proto, "MailStore")
            e(proto[0], "InternalUrl", mailstore)
            e(proto[0], "ExternalUrl", mailstore)
            e(proto, "AddressBook")
            e(proto[1], "InternalUrl", addressbook)
            e(proto[1], "ExternalUrl", addressbook)
        return etree.tostring(root, xml_declaration=True, encoding="utf-8")

    # --- JSON v2 --------------------------------------------------------------------------------
    def json_v2(self, address: str, protocol: str) -> tuple[int, dict]:
        urls = {
            "ews": ("Ews", self.ews_url),
            "autodiscoverv1": ("AutodiscoverV1", f"{self.base_url}/autodiscover/autodiscover.xml"),
            "rest": ("Rest", f"{self.base_url}/api"),
            "activesync": ("ActiveSync", f"{self.base_url}/Microsoft-Server-ActiveSync"),
        }
        if protocol.lower() not in urls:
            return 400, {
                "ErrorCode": "InvalidProtocol",
                "ErrorMessage": f"The given protocol value '{protocol}' is invalid. Supported "
                "values are 'rest,activesync,ews,autodiscoverv1'",
            }
        if "@" not in address or address.rsplit("@", 1)[1].lower() != self.domain:
            return 404, {
                "ErrorCode": "UserNotFound",
                "ErrorMessage": f"The user '{address}' was not found.",
            }
        name, url = urls[protocol.lower()]
        return 200, {"Protocol": name, "Url": url}
