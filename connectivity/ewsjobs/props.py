"""Our extended properties, deterministic item keys, and bulk calls that keep every per-item
error inside their result list.

Keys: each item a job creates carries ``InteropPortalKey`` (a named string property in a
property set of our own GUID, so no other application's names can collide with it). The key is
derived from the job id, the mailbox and the item's index, so a job that runs a batch again
(after a worker was killed) finds what it already created and creates only the rest.

Per-item errors: exchangelib's services return a per-item error inside the result list only
for a short list of codes (ErrorItemNotFound, ErrorItemSave, ...); any other code (for example
ErrorCalendarEndDateIsEarlierThanStartDate) is *raised* and the results of the rest of the
batch are lost although Exchange carried them out. The service classes here return every
response-message error in place, so each item gets its own outcome; the caller raises what
concerns the whole call (ErrorServerBusy) or mailbox (see :func:`.errors.raise_for_results`).
"""

from __future__ import annotations

import copy
import hashlib

from exchangelib import CalendarItem, ExtendedProperty, Message, Q, Task
from exchangelib.errors import EWSWarning, ResponseMessageError
from exchangelib.fields import FieldOrder, FieldPath
from exchangelib.items import ID_ONLY, SHALLOW
from exchangelib.restriction import Restriction
from exchangelib.services import CreateItem, DeleteItem, FindItem, GetItem, MoveItem, UpdateItem

# A property set GUID of our own (uuid5 of https://interop-portal/ewsjobs/item-key).
PROPERTY_SET = "5bd8954d-ce7e-547e-909e-0c6373b6efbf"
KEY_FIELD = "interop_portal_key"
FORWARDED_FIELD = "interop_portal_forwarded_to"


class _Fixed(ExtendedProperty):
    """exchangelib checks an extended property's class definition again for every value it
    writes (a batch of 100 items: 100 times); ours never changes, so once is enough."""

    @classmethod
    def validate_cls(cls):
        if not cls.__dict__.get("_validated"):
            super().validate_cls()
            cls._validated = True


class InteropPortalKey(_Fixed):
    property_set_id = PROPERTY_SET
    property_name = "InteropPortalKey"
    property_type = "String"


class InteropPortalForwardedTo(_Fixed):
    """Addresses a content rule already forwarded a message to (so a rerun does not resend)."""

    property_set_id = PROPERTY_SET
    property_name = "InteropPortalForwardedTo"
    property_type = "StringArray"


class FlagStatus(_Fixed):
    """PidTagFlagStatus: 2 = flagged for follow-up (read by every Exchange version)."""

    property_tag = 0x1090
    property_type = "Integer"


class FollowupIcon(_Fixed):
    """PidTagFollowupIcon: 6 = the red flag Outlook shows."""

    property_tag = 0x1095
    property_type = "Integer"


FLAG_FIELD = "interop_flag_status"
ICON_FIELD = "interop_followup_icon"
FLAGGED, RED_FLAG = 2, 6


def _register(cls, name: str, prop) -> None:
    if name not in {f.name for f in cls.FIELDS}:  # registering twice is an error in exchangelib
        cls.register(name, prop)
    field = cls.get_field_by_fieldname(name)
    if "field_uri_xml" not in field.__dict__:
        # exchangelib builds (and validates) the same ExtendedFieldURI element for every value
        # it writes; a copy of one built here costs a tenth of that on the bulk path.
        uri = field.field_uri_xml()
        field.field_uri_xml = lambda uri=uri: copy.deepcopy(uri)


def register() -> None:
    """Make the properties known to exchangelib (idempotent; done on import)."""
    for cls in (CalendarItem, Task):
        _register(cls, KEY_FIELD, InteropPortalKey)
    _register(Message, FORWARDED_FIELD, InteropPortalForwardedTo)
    _register(Message, FLAG_FIELD, FlagStatus)
    _register(Message, ICON_FIELD, FollowupIcon)


register()


def job_key_prefix(job_id: str) -> str:
    """The part every key of one job starts with (to find all items of a job)."""
    return hashlib.sha256(f"job\n{job_id}".encode()).hexdigest()[:12]


def item_key(job_id: str, mailbox: str, index: int) -> str:
    """Stable, short identifier of item ``index`` of job ``job_id`` in ``mailbox``."""
    if not isinstance(index, int) or index < 0:
        raise ValueError("index must be a non-negative integer")
    digest = hashlib.sha256(f"{job_id}\n{mailbox.strip().lower()}\n{index}".encode()).hexdigest()
    return f"{job_key_prefix(job_id)}-{index}-{digest[:16]}"


# --- bulk services that return every per-item error in place ---------------------------------
_PER_ITEM = (ResponseMessageError, EWSWarning)


class CreateItems(CreateItem):
    ERRORS_TO_CATCH_IN_RESPONSE = _PER_ITEM


class UpdateItems(UpdateItem):
    ERRORS_TO_CATCH_IN_RESPONSE = _PER_ITEM


class DeleteItems(DeleteItem):
    ERRORS_TO_CATCH_IN_RESPONSE = _PER_ITEM


class MoveItems(MoveItem):
    ERRORS_TO_CATCH_IN_RESPONSE = _PER_ITEM


class GetItems(GetItem):
    ERRORS_TO_CATCH_IN_RESPONSE = _PER_ITEM


def find_items(folder, q: Q, fields: list[str], *, size: int, offset: int = 0,
               order: str | None = None) -> list:  # fmt: skip
    """One FindItem page of ``folder`` matching ``q``, with ``fields`` read by FindItem itself.

    Not through a QuerySet: exchangelib counts extended properties and From as "complex"
    fields FindItem cannot return, and follows the FindItem with a GetItem (and a GetFolder
    for the root). EWS FindItem returns both when named in AdditionalProperties."""
    model = next(m for m in folder.supported_item_models
                 if all(n in {f.name for f in m.FIELDS} for n in fields))  # fmt: skip
    additional = {FieldPath(field=model.get_field_by_fieldname(name)) for name in fields}
    restriction = None if q.is_empty() else Restriction(q, folders=[folder],
                                                        applies_to=Restriction.ITEMS)  # fmt: skip
    found = FindItem(account=folder.account, page_size=size).call(
        folders=[folder], additional_fields=additional, restriction=restriction,
        order_fields=[FieldOrder.from_string(order, folder=folder)] if order else None,
        shape=ID_ONLY, query_string=None, depth=SHALLOW, calendar_view=None, max_items=size,
        offset=offset,
    )  # fmt: skip
    return [item for item in found if not isinstance(item, Exception)]


def one_request(service_cls, account, n: int, **kwargs) -> list:
    """Call ``service_cls`` once for ``n`` items (no chunking into several requests)."""
    if n == 0:
        return []
    return list(service_cls(account=account, chunk_size=max(n, 1)).call(**kwargs))
