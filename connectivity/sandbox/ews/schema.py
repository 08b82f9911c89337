"""The child elements each EWS operation accepts (messages.xsd), checked before dispatch.

Exchange validates every request against its schema and answers a request with unknown,
misplaced or missing elements with an ErrorSchemaValidation fault; the sandbox checks the
operation's direct children the same way (deeper levels are checked by the operations).
"""

from __future__ import annotations

from lxml import etree

from ..soap import MNS, TNS, EWSError

_FIND_ITEM_VIEWS = (
    "m:IndexedPageItemView m:FractionalPageItemView m:SeekToConditionPageItemView "
    "m:CalendarView m:ContactsView m:GroupBy m:DistinguishedGroupBy"
)

# operation -> (required children, optional children), "m:" messages / "t:" types namespace.
OPERATIONS: dict[str, tuple[str, str]] = {
    "ConvertId": ("m:SourceIds", ""),
    "GetFolder": ("m:FolderShape m:FolderIds", ""),
    "FindFolder": (
        "m:FolderShape m:ParentFolderIds",
        "m:IndexedPageFolderView m:FractionalPageFolderView m:Restriction",
    ),
    "CreateFolder": ("m:ParentFolderId m:Folders", ""),
    "DeleteFolder": ("m:FolderIds", ""),
    "UpdateFolder": ("m:FolderChanges", ""),
    "MoveFolder": ("m:ToFolderId m:FolderIds", ""),
    "EmptyFolder": ("m:FolderIds", ""),
    "FindItem": (
        "m:ItemShape m:ParentFolderIds",
        f"{_FIND_ITEM_VIEWS} m:Restriction m:SortOrder m:QueryString",
    ),
    "GetItem": ("m:ItemShape m:ItemIds", ""),
    "CreateItem": ("m:Items", "m:SavedItemFolderId"),
    "UpdateItem": ("m:ItemChanges", "m:SavedItemFolderId"),
    "DeleteItem": ("m:ItemIds", ""),
    "MoveItem": ("m:ToFolderId m:ItemIds", "m:ReturnNewItemIds"),
    "CopyItem": ("m:ToFolderId m:ItemIds", "m:ReturnNewItemIds"),
    "SendItem": ("m:ItemIds", "m:SavedItemFolderId"),
    "CreateAttachment": ("m:ParentItemId m:Attachments", ""),
    "GetAttachment": ("m:AttachmentIds", "m:AttachmentShape"),
    "DeleteAttachment": ("m:AttachmentIds", ""),
    "SyncFolderItems": (
        "m:ItemShape m:SyncFolderId m:MaxChangesReturned",
        "m:SyncState m:Ignore m:SyncScope",
    ),
    "SyncFolderHierarchy": ("m:FolderShape", "m:SyncFolderId m:SyncState"),
    "GetMailTips": ("m:Recipients", "m:SendingAs t:SendingAs m:MailTipsRequested"),
    "ExpandDL": ("", "m:Mailbox t:Mailbox"),  # clients send either namespace
    "GetRoomLists": ("", ""),
    "GetRooms": ("m:RoomList", ""),
    "GetDelegate": ("", "m:Mailbox t:Mailbox m:UserIds"),
    "MarkAsJunk": ("m:ItemIds", ""),
    "Subscribe": (
        "",
        "m:PullSubscriptionRequest m:PushSubscriptionRequest m:StreamingSubscriptionRequest",
    ),
    "GetEvents": ("m:SubscriptionId m:Watermark", ""),
    "Unsubscribe": ("m:SubscriptionId", ""),
    "ResolveNames": ("m:UnresolvedEntry", "m:ParentFolderIds"),
    "GetUserOofSettings": ("t:Mailbox", ""),
    "SetUserOofSettings": ("t:Mailbox t:UserOofSettings", ""),
    "GetServerTimeZones": ("", "m:Ids"),
    "GetUserAvailability": (
        "m:MailboxDataArray",
        "t:TimeZone t:FreeBusyViewOptions t:SuggestionsViewOptions",
    ),
}

_NS = {"m": MNS, "t": TNS}
# exchangelib's Account.mail_tips writes MailTipsRequested as bare text of the operation, and
# Exchange answers it; the sandbox accepts that too.
_TEXT_TOLERATED = {"GetMailTips"}


def _qualified(names: str) -> set[str]:
    out = set()
    for name in names.split():
        prefix, local = name.split(":")
        out.add(f"{{{_NS[prefix]}}}{local}")
    return out


_RULES = {
    op: (_qualified(req), _qualified(req) | _qualified(opt))
    for op, (req, opt) in OPERATIONS.items()
}


def validate(op: str, request: etree._Element) -> None:
    """Raise ErrorSchemaValidation unless the operation's children fit its schema."""
    required, allowed = _RULES[op]
    if (request.text or "").strip() and op not in _TEXT_TOLERATED:
        raise EWSError("ErrorSchemaValidation", f"The element '{op}' cannot contain text.")
    seen = set()
    for child in request:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        if child.tag not in allowed:
            name = etree.QName(child)
            raise EWSError(
                "ErrorSchemaValidation",
                f"The element '{name.localname}' in namespace '{name.namespace}' is not "
                f"expected in '{op}'.",
            )
        seen.add(child.tag)
    missing = required - seen
    if missing:
        name = etree.QName(sorted(missing)[0]).localname
        raise EWSError(
            "ErrorSchemaValidation", f"The element '{op}' is missing the child element '{name}'."
        )
