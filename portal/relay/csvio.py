"""CSV import and export of relay clients: all rows valid or nothing imported; no credentials.

Every row goes through the same form as the web page, so a CSV can hold nothing the page would
refuse; errors name the row (as a spreadsheet numbers it, header = 1) and the column.
"""

import csv
import io

from django.db import transaction
from django.utils.translation import gettext as _

from portal.audit.api import changes, record
from portal.relay.forms import RelayClientForm
from portal.relay.models import RelayClient
from portal.relay.snapshots import client_snapshot
from portal.tenants.models import Tenant

COLUMNS = [
    "tenant", "name", "kind", "owner", "owner_email", "location", "method", "source_ips",
    "sender_addresses", "supports_oauth", "internal_only", "smtp_host", "smtp_port",
    "smtp_security", "rotation_days", "notes",
]  # fmt: skip
REQUIRED = {"tenant", "name", "owner", "owner_email", "method"}
# Form field behind each column (the form reads lists as text).
FORM_FIELD = {"source_ips": "source_ips_text", "sender_addresses": "sender_addresses_text"}
BOOLEAN = {"supports_oauth", "internal_only"}
TRUE, FALSE = {"yes", "true", "1"}, {"no", "false", "0", ""}
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    text = "yes" if value is True else "no" if value is False else str(value or "")
    return "'" + text if text.startswith(_FORMULA) else text


def export_csv(clients) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for c in clients:
        row = {
            **{col: getattr(c, col) for col in COLUMNS if col != "tenant"},
            "tenant": c.tenant.name, "source_ips": " ".join(c.source_ips),
            "sender_addresses": " ".join(c.sender_addresses),
            "smtp_port": c.smtp_port or "",
        }  # fmt: skip
        writer.writerow([_cell(row[col]) for col in COLUMNS])
    return out.getvalue()


class ImportResult:
    def __init__(self):
        self.errors: list[tuple[int, str, str]] = []  # (row, column, message)
        self.created = 0
        self.updated = 0
        self.unchanged = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _read(data: bytes, result: ImportResult) -> list[dict] | None:
    if len(data) > MAX_BYTES:
        result.errors.append((0, "", _("The file is larger than 2 MB.")))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        result.errors.append((0, "", _("The file is not UTF-8 text: save it as CSV UTF-8.")))
        return None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    unknown = [h for h in header if h not in COLUMNS]
    missing = sorted(REQUIRED - set(header))
    for name in unknown:
        result.errors.append((1, name, _("Unknown column (credentials are never imported).")))
    for name in missing:
        result.errors.append((1, name, _("Required column is missing.")))
    if unknown or missing:
        return None
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            if None in row:
                result.errors.append((reader.line_num, "", _(
                    "The row has more cells than the header has columns."
                )))  # fmt: skip
                continue
            rows.append(row)
            if len(rows) > MAX_ROWS:
                result.errors.append(
                    (reader.line_num, "", _("More than %(n)s rows.") % {"n": MAX_ROWS})
                )
                return None
    except csv.Error as exc:
        result.errors.append((reader.line_num, "", _(
            "The file is not valid CSV (%(reason)s): save it again as CSV UTF-8."
        ) % {"reason": exc}))  # fmt: skip
        return None
    return rows


def _form_for(row: dict, line: int, tenants: dict, existing: dict, result: ImportResult):
    values = {col: (row.get(col) or "").strip() for col in COLUMNS}
    tenant = tenants.get(values["tenant"])
    if tenant is None:
        result.errors.append(
            (line, "tenant", _("No tenant named “%(name)s”.") % {"name": values["tenant"]})
        )
        return None
    data = {}
    for col in COLUMNS:
        value = values[col]
        if col == "tenant":
            data[col] = tenant.pk
        elif col in BOOLEAN:
            if value.lower() not in TRUE | FALSE:
                result.errors.append((line, col, _("Use yes or no.")))
                return None
            data[col] = "on" if value.lower() in TRUE else ""
        else:
            data[FORM_FIELD.get(col, col)] = value
    if not values["rotation_days"]:
        data["rotation_days"] = "90"
    instance = existing.get((tenant.pk, values["name"]))
    # The form writes the new values into its instance: keep the "before" first.
    before = client_snapshot(instance) if instance else None
    return RelayClientForm(data, instance=instance), before


def import_csv(data: bytes) -> ImportResult:
    """Validate every row; save them all in one transaction only if every row is valid."""
    result = ImportResult()
    rows = _read(data, result)
    if rows is None:
        return result
    tenants = {t.name: t for t in Tenant.objects.all()}
    existing = {(c.tenant_id, c.name): c for c in RelayClient.objects.all()}
    forms, seen = [], {}
    column_of = {FORM_FIELD.get(c, c): c for c in COLUMNS}
    for index, row in enumerate(rows, start=2):
        made = _form_for(row, index, tenants, existing, result)
        if made is None:
            continue
        form, before = made
        key = (row.get("tenant", "").strip(), row.get("name", "").strip())
        if key in seen:
            result.errors.append(
                (index, "name", _("Same tenant and name as row %(row)s.") % {"row": seen[key]})
            )
            continue
        seen[key] = index
        if not form.is_valid():
            for field, messages in form.errors.items():
                column = column_of.get(field, "")
                for message in messages:
                    result.errors.append((index, column, str(message)))
            continue
        forms.append((form, before))
    if result.errors:
        return result
    with transaction.atomic():
        for form, before in forms:
            client = form.save()
            after = client_snapshot(client)
            if before is None:
                record("relay.create", target=client, tenant=client.tenant,
                       after={**after, "via": "csv import"})  # fmt: skip
                result.created += 1
                continue
            old, new = changes(before, after)
            if new:
                record("relay.update", target=client, tenant=client.tenant, before=old,
                       after={**new, "via": "csv import"})  # fmt: skip
                result.updated += 1
            else:
                result.unchanged += 1
    return result
