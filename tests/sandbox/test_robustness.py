"""No request, however malformed, makes the sandbox's EWS endpoint fail: every answer is an
Exchange-shaped SOAP envelope (a response with response codes, or a SOAP fault with an EWS
ResponseCode) — never a plain-text 500, a traceback or a dropped connection.

Every operation the sandbox offers is sent a set of malformed variants of its request.
"""

import http.client
import ssl
from urllib.parse import urlsplit

import pytest
import requests
from lxml import etree

from connectivity.sandbox.ews import EWSService

SOAPNS = "http://schemas.xmlsoap.org/soap/envelope/"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
ENS = "http://schemas.microsoft.com/exchange/services/2006/errors"
OPERATIONS = sorted(name[3:] for name in dir(EWSService) if name.startswith("op_"))
HEAD = (
    '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="' + SOAPNS + '" '
    'xmlns:m="' + MNS + '" xmlns:t="' + TNS + '"><s:Body>'
)
TAIL = "</s:Body></s:Envelope>"

# Children every operation might look for, filled with unusable values.
CONTAINERS = [
    *[
        "ItemIds",
        "FolderIds",
        "ParentFolderIds",
        "ToFolderId",
        "ParentFolderId",
        "Folders",
        "Items",
    ],
    *["ItemChanges", "SourceIds", "MailboxDataArray", "SavedItemFolderId", "AttachmentIds"],
    *["ParentItemId", "Attachments", "ItemShape", "FolderShape", "Restriction", "SortOrder"],
    *["IndexedPageItemView", "IndexedPageFolderView", "CalendarView", "QueryString"],
    *["SyncFolderId", "SyncState", "UnresolvedEntry", "Mailbox", "UserOofSettings"],
    *["FreeBusyViewOptions", "TimeZone", "Ids"],
]
BAD_IDS = ["", "***", "AAAA", "A" * 5000, "\u00e9\u4e2d", "AQAAAAAAAAAAAAAAAAAA"]
BAD_VALUES = ["abc", "-1", "99999999999999999999", "", "true"]


def _variants(op: str) -> dict[str, str]:
    tag = f"m:{op}"
    garbage_children = "".join(
        f'<m:{c} Id="***" MaxEntriesReturned="abc" Offset="-5">'
        f'<t:ItemId Id="***"/><t:FolderId Id="%%%"/><t:DistinguishedFolderId Id="nosuch"/>'
        f"<t:Bogus>x</t:Bogus></m:{c}>"
        for c in CONTAINERS
    )
    variants = {
        "empty": f"<{tag}/>",
        "text only": f"<{tag}>hello</{tag}>",
        "unknown elements": f'<{tag} Bogus="1"><t:Nope/><m:Nonsense a="b">x</m:Nonsense></{tag}>',
        "wrong namespace children": (
            f'<{tag}><ItemIds xmlns="urn:wrong"><ItemId Id="x"/></ItemIds>'
            f'<FolderIds xmlns=""><FolderId Id="y"/></FolderIds></{tag}>'
        ),
        "garbage containers": f'<{tag} Traversal="Sideways" DeleteType="Maybe">'
        f"{garbage_children}</{tag}>",
        "empty containers": f"<{tag}>" + "".join(f"<m:{c}/>" for c in CONTAINERS) + f"</{tag}>",
        "types namespace containers": f"<{tag}>"
        + "".join(f"<t:{c}><t:Bogus/></t:{c}>" for c in CONTAINERS)
        + f"</{tag}>",
        "restriction garbage": (
            f"<{tag}><m:ItemShape><t:BaseShape>Nope</t:BaseShape></m:ItemShape>"
            "<m:Restriction><t:IsEqualTo/><t:And><t:Not/></t:And></m:Restriction>"
            '<m:SortOrder><t:FieldOrder Order="x"/></m:SortOrder>'
            '<m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds>'
            f"</{tag}>"
        ),
        "comment as child": f"<{tag}><!-- c --><?pi x?><m:ItemIds><!-- c --></m:ItemIds></{tag}>",
    }
    for i, bad in enumerate(BAD_IDS):
        variants[f"invalid id {i}"] = (
            f'<{tag}><m:ItemIds><t:ItemId Id="{bad}" ChangeKey="{bad}"/>'
            f'<t:OccurrenceItemId RecurringMasterId="{bad}" InstanceIndex="x"/></m:ItemIds>'
            f'<m:FolderIds><t:FolderId Id="{bad}"/></m:FolderIds>'
            f'<m:ParentFolderIds><t:FolderId Id="{bad}"/></m:ParentFolderIds>'
            f'<m:ToFolderId><t:FolderId Id="{bad}"/></m:ToFolderId>'
            f'<m:AttachmentIds><t:AttachmentId Id="{bad}"/></m:AttachmentIds>'
            f'<m:ParentItemId Id="{bad}"/></{tag}>'
        )
    for i, bad in enumerate(BAD_VALUES):
        variants[f"bad values {i}"] = (
            f'<{tag} Traversal="{bad}" MessageDisposition="{bad}" DeleteType="{bad}" '
            f'ConflictResolution="{bad}" SendMeetingInvitations="{bad}">'
            f'<m:IndexedPageItemView MaxEntriesReturned="{bad}" Offset="{bad}" BasePoint="{bad}"/>'
            f'<m:IndexedPageFolderView MaxEntriesReturned="{bad}" Offset="{bad}"/>'
            f'<m:CalendarView StartDate="{bad}" EndDate="{bad}" MaxEntriesReturned="{bad}"/>'
            f'<m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds>'
            f"<m:SyncState>{bad}</m:SyncState><m:MaxChangesReturned>{bad}</m:MaxChangesReturned>"
            f"</{tag}>"
        )
    return variants


def _check_answer(resp: requests.Response) -> str:
    """Assert the answer is Exchange-shaped; return its (first) response code."""
    assert resp.status_code in (200, 500), (resp.status_code, resp.text[:300])
    assert resp.headers["Content-Type"].startswith("text/xml"), resp.text[:300]
    assert "Traceback" not in resp.text and "Internal Server Error" not in resp.text
    root = etree.fromstring(resp.content)
    assert root.tag == f"{{{SOAPNS}}}Envelope"
    if resp.status_code == 500:
        fault = root.find(f"{{{SOAPNS}}}Body/{{{SOAPNS}}}Fault")
        assert fault is not None, resp.text[:300]
        code = fault.findtext(f"detail/{{{ENS}}}ResponseCode")
        assert fault.findtext("faultcode") == f"a:{code}"
    else:
        codes = [el.text for el in root.iter(f"{{{MNS}}}ResponseCode")]
        assert codes, resp.text[:300]
        code = codes[0]
    assert code and code.startswith(("Error", "NoError")), resp.text[:300]
    # An unexpected failure inside the sandbox would show as ErrorInternalServerError.
    assert code != "ErrorInternalServerError", resp.text[:500]
    return code


@pytest.fixture(scope="module")
def user(admin, info):
    return admin.create_mailbox(f"fuzz@{info['domain']}")


def _post(info, user, data: bytes, content_type="text/xml; charset=utf-8"):
    return requests.post(
        info["ews_url"],
        data=data,
        headers={"Content-Type": content_type},
        auth=(user["address"], user["password"]),
        verify=info["ca_file"],
        timeout=30,
    )


def test_the_fuzz_covers_every_operation():
    assert {"FindItem", "GetItem", "CreateItem", "UpdateItem", "GetFolder"} <= set(OPERATIONS)


@pytest.mark.parametrize("op", OPERATIONS)
def test_every_operation_answers_malformed_variants_in_ews_terms(info, user, op):
    codes = {}
    for name, body in _variants(op).items():
        resp = _post(info, user, (HEAD + body + TAIL).encode())
        codes[name] = _check_answer(resp)
    # The variants are malformed: none of them may pass as a clean success everywhere.
    assert set(codes.values()) != {"NoError"}, codes


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>'
    + HEAD[HEAD.index("<s:Envelope") :]
    + "<m:ResolveNames><m:UnresolvedEntry>&e;&e;&e;</m:UnresolvedEntry></m:ResolveNames>"
    + TAIL
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    + HEAD[HEAD.index("<s:Envelope") :]
    + "<m:ResolveNames><m:UnresolvedEntry>&x;</m:UnresolvedEntry></m:ResolveNames>"
    + TAIL
)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "ErrorSchemaValidation"),
        (b"this is not xml", "ErrorSchemaValidation"),
        (b"\xff\xfe\x00garbage", "ErrorSchemaValidation"),
        ((HEAD + "<m:ResolveNames><m:UnresolvedEntry>").encode() + b"\xc3\x28\xa0"
         + ("</m:UnresolvedEntry></m:ResolveNames>" + TAIL).encode(), "ErrorSchemaValidation"),
        (b'<?xml version="1.0" encoding="utf-8"?><Envelope xmlns="urn:x"><Body/></Envelope>',
         "ErrorSchemaValidation"),
        ((HEAD + TAIL).encode(), "ErrorSchemaValidation"),
        ((HEAD + "<m:GetFolder/><m:GetItem/>" + TAIL).encode(), "ErrorSchemaValidation"),
        ((HEAD + '<GetFolder xmlns="urn:wrong"/>' + TAIL).encode(), "ErrorSchemaValidation"),
        ((HEAD + "<m:NoSuchOperation/>" + TAIL).encode(), "ErrorInvalidRequest"),
        ((HEAD + "<m:GetPasswordExpirationDate/>" + TAIL).encode(), "ErrorInvalidRequest"),
        (BILLION_LAUGHS.encode(), "ErrorSchemaValidation"),
        (EXTERNAL_ENTITY.encode(), "ErrorSchemaValidation"),
        ((HEAD + "<m:GetFolder>" + "<t:X>" * 3000 + "</t:X>" * 3000 + "</m:GetFolder>"
          + TAIL).encode(), "ErrorSchemaValidation"),
    ],
    ids=["empty", "not xml", "binary", "invalid utf-8", "not soap", "no operation",
         "two operations", "foreign operation", "unknown operation", "unmodelled operation",
         "entity expansion", "external entity", "deep nesting"],
)  # fmt: skip
def test_malformed_envelopes_get_soap_faults(info, user, body, code):
    resp = _post(info, user, body)
    assert resp.status_code == 500
    assert _check_answer(resp) == code
    assert "root:" not in resp.text  # no file contents leak through an entity


def test_large_body_is_answered_in_ews_terms(info, user):
    big = "x" * (5 * 1024 * 1024)
    body = f"<m:ResolveNames><m:UnresolvedEntry>{big}</m:UnresolvedEntry></m:ResolveNames>"
    resp = _post(info, user, (HEAD + body + TAIL).encode())
    assert _check_answer(resp) == "ErrorNameResolutionNoResults"


def _raw(info, headers: dict[str, str], body: bytes = b"") -> int:
    url = urlsplit(info["ews_url"])
    ctx = ssl.create_default_context(cafile=info["ca_file"])
    conn = http.client.HTTPSConnection(url.hostname, url.port, context=ctx, timeout=20)
    try:
        conn.putrequest("POST", url.path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.parametrize(("length", "status"), [("999999999999", 413), ("-5", 400), ("abc", 400)])
def test_unusable_content_length_is_refused_without_reading(info, length, status):
    assert _raw(info, {"Content-Length": length, "Content-Type": "text/xml"}) == status


def test_server_still_answers_after_the_fuzz(info, user):
    body = (
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
        '<m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>'
    )
    resp = _post(info, user, (HEAD + body + TAIL).encode())
    assert resp.status_code == 200 and _check_answer(resp) == "NoError"
