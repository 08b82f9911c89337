"""SOAP/EWS XML helpers: namespaces, envelopes, response messages and faults."""

from __future__ import annotations

from lxml import etree

SOAPNS = "http://schemas.xmlsoap.org/soap/envelope/"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
ENS = "http://schemas.microsoft.com/exchange/services/2006/errors"
ANS = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
WSANS = "http://www.w3.org/2005/08/addressing"
XSINS = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"s": SOAPNS, "m": MNS, "t": TNS}

# Exchange Online reports a 15.20 build and a "V2018_01_08" schema version in its header.
SERVER_VERSION = {
    "MajorVersion": "15",
    "MinorVersion": "20",
    "MajorBuildNumber": "8769",
    "MinorBuildNumber": "18",
    "Version": "V2018_01_08",
}

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

MESSAGES = {
    "ErrorItemNotFound": "The specified object was not found in the store.",
    "ErrorFolderNotFound": "The specified folder could not be found in the store.",
    "ErrorAccessDenied": "Access is denied. Check credentials and try again.",
    "ErrorNonExistentMailbox": "The SMTP address has no mailbox associated with it.",
    "ErrorImpersonateUserDenied": "The account does not have permission to impersonate the "
    "requested user.",
    "ErrorInvalidRequest": "The request is invalid.",
    "ErrorSchemaValidation": "The request failed schema validation.",
    "ErrorServerBusy": "The server cannot service this request right now. Try again later.",
    "ErrorInvalidIdMalformed": "Id is malformed.",
    "ErrorNameResolutionNoResults": "No results were found.",
    "ErrorNameResolutionMultipleResults": "Multiple results were found.",
    "ErrorInvalidExchangeImpersonationHeaderData": "ExchangeImpersonation SOAP header must be "
    "present for this type of OAuth token.",
    "ErrorInvalidOperation": "The operation is not valid.",
    "ErrorFolderExists": "A folder with the specified name already exists.",
    "ErrorIrresolvableConflict": "The send or update operation could not be performed because "
    "the change key passed in the request does not match the current change key for the item.",
    "ErrorAttachmentNotFound": "The attachment could not be found.",
    "ErrorMoveDistinguishedFolder": "Cannot move distinguished folder.",
    "ErrorMoveCopyFailed": "Cannot move or copy the folder.",
    "ErrorInvalidSubscriptionRequest": "The subscription request is invalid.",
    "ErrorInvalidSyncStateData": "Synchronization state data is corrupt or otherwise invalid.",
    "ErrorInternalServerError": "An internal server error occurred. The operation failed.",
}


class EWSError(Exception):
    """An EWS error. Raised inside an operation it becomes an error response message for the
    item at hand; raised before the operation (e.g. impersonation) it becomes a SOAP fault."""

    def __init__(self, code: str, message: str | None = None, back_off_ms: int | None = None):
        self.code = code
        self.message = message or MESSAGES.get(code, code)
        self.back_off_ms = back_off_ms
        super().__init__(f"{code}: {self.message}")


def t(tag: str) -> str:
    return f"{{{TNS}}}{tag}"


def m(tag: str) -> str:
    return f"{{{MNS}}}{tag}"


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str):
    el = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def local(el: etree._Element) -> str:
    return etree.QName(el).localname


def parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, PARSER)


def envelope(body_child: etree._Element, version_header: bool = True) -> bytes:
    env = etree.Element(f"{{{SOAPNS}}}Envelope", nsmap={"s": SOAPNS})
    if version_header:
        header = sub(env, f"{{{SOAPNS}}}Header")
        etree.SubElement(header, t("ServerVersionInfo"), SERVER_VERSION, nsmap={"h": TNS})
    body = sub(env, f"{{{SOAPNS}}}Body")
    body.append(body_child)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def fault(error: EWSError, version_header: bool = True) -> bytes:
    """A SOAP fault as Exchange sends it (the ServerVersionInfo header is kept, as EWS does)."""
    env = etree.Element(f"{{{SOAPNS}}}Envelope", nsmap={"s": SOAPNS})
    if version_header:
        header = sub(env, f"{{{SOAPNS}}}Header")
        etree.SubElement(header, t("ServerVersionInfo"), SERVER_VERSION, nsmap={"h": TNS})
    body = sub(env, f"{{{SOAPNS}}}Body")
    flt = sub(body, f"{{{SOAPNS}}}Fault")
    code = etree.SubElement(flt, "faultcode", nsmap={"a": TNS})
    code.text = f"a:{error.code}"
    fs = sub(flt, "faultstring", error.message)
    fs.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    detail = sub(flt, "detail")
    etree.SubElement(detail, f"{{{ENS}}}ResponseCode", nsmap={"e": ENS}).text = error.code
    etree.SubElement(detail, f"{{{ENS}}}Message", nsmap={"e": ENS}).text = error.message
    if error.back_off_ms is not None:
        mx = etree.SubElement(detail, t("MessageXml"), nsmap={"t": TNS})
        sub(mx, t("Value"), str(error.back_off_ms), Name="BackOffMilliseconds")
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def operation_response(op: str) -> tuple[etree._Element, etree._Element]:
    """<m:{op}Response><m:ResponseMessages/> — returns (response, messages)."""
    resp = etree.Element(m(f"{op}Response"), nsmap={"m": MNS, "t": TNS})
    return resp, sub(resp, m("ResponseMessages"))


def response_message(
    parent: etree._Element, op: str, error: EWSError | None = None, tag: str | None = None
) -> etree._Element:
    """Append one <m:{op}ResponseMessage> with ResponseClass/ResponseCode (and MessageText)."""
    msg = sub(
        parent, m(tag or f"{op}ResponseMessage"), ResponseClass="Error" if error else "Success"
    )
    if error:
        sub(msg, m("MessageText"), error.message)
        sub(msg, m("ResponseCode"), error.code)
        sub(msg, m("DescriptiveLinkKey"), "0")
    else:
        sub(msg, m("ResponseCode"), "NoError")
    return msg
