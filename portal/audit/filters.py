"""The audit list's filters, shared by the page and its exports.

Every filter is an equality on an indexed column (composite index with ``seq``), a time range
(turned into a ``seq`` range, see ``narrowing``), or a case-insensitive substring of the target
label (trigram index on PostgreSQL); results are newest first and paged by ``seq`` (keyset), so
no page ever counts the table.
"""

import contextlib
import datetime as dt
from collections import OrderedDict

from django import forms
from django.apps import apps
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from portal.audit import narrowing
from portal.audit.models import AuditEvent
from portal.audit.targets import target_choices
from portal.lib.validators import ascii_int

FIELDS_TEMPLATE = "audit/filter_fields.html"
RENDERED_FIELDS_KEPT = 256
_rendered_fields: OrderedDict[tuple, SafeString] = OrderedDict()


class AuditFilterForm(forms.Form):
    since = forms.DateTimeField(
        label=_("From"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = forms.DateTimeField(
        label=_("To"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    actor = forms.CharField(label=_("Actor"), required=False, max_length=150)
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=80,
        help_text=_("Exact, or a prefix ending in a dot (auth.)"),
    )
    target_type = forms.ChoiceField(label=_("Target"), required=False, choices=target_choices)
    tenant = forms.CharField(
        label=_("Tenant"),
        required=False,
        max_length=120,
        widget=forms.TextInput(attrs={"list": "audit-tenant-names", "autocomplete": "off"}),
        help_text=_("The tenant's name"),
    )
    result = forms.ChoiceField(
        label=_("Result"), required=False, choices=[("", _("Any")), *AuditEvent.Result.choices]
    )
    q = forms.CharField(label=_("Target contains"), required=False, max_length=100)

    FIELDS = ("since", "until", "actor", "action", "target_type", "tenant", "result", "q")

    def clean_tenant(self) -> list[str]:
        """The ids of the tenants so named (an id, as older links carry, is taken as is)."""
        value = self.cleaned_data["tenant"].strip()
        if not value:
            return []
        if ascii_int(value) is not None:
            return [value]
        ids = [str(pk) for pk in _tenants().filter(name__iexact=value).values_list("pk", flat=True)]
        if not ids:
            raise forms.ValidationError(
                _("No tenant is named “%(name)s”. Pick a name from the list."),
                params={"name": value},
            )
        return ids

    def tenant_options(self) -> SafeString:
        """The tenant names as ``<option>``s for the datalist (one query, no template loop)."""
        names = _tenants().order_by("name").values_list("name", flat=True)
        return format_html_join("", '<option value="{}"></option>', ((n,) for n in names))

    def fields_html(self) -> SafeString:
        """The fields' markup. It depends only on the language and the submitted values
        (no choices come from the database), so an unbound or valid form's markup is kept and
        reused: paging through a filter renders it once, not twenty widget templates a page."""
        if self.is_bound and not self.is_valid():
            return render_to_string(FIELDS_TEMPLATE, {"form": self})
        key = (get_language(), self.is_bound, *(self.data.get(name, "") for name in self.FIELDS))
        html = _rendered_fields.get(key)
        if html is None:
            html = render_to_string(FIELDS_TEMPLATE, {"form": self})
            _rendered_fields[key] = html
            if len(_rendered_fields) > RENDERED_FIELDS_KEPT:
                with contextlib.suppress(KeyError):  # another thread dropped it first
                    _rendered_fields.popitem(last=False)
        return html

    def filter(self, qs):
        if not self.is_valid():
            return qs.none()
        data = self.cleaned_data
        if data["since"] or data["until"]:
            since, until = data["since"], data["until"]
            qs = narrowing.seq_range(qs, since and _aware(since), until and _aware(until))
        if data["actor"]:
            qs = qs.filter(actor_username=data["actor"].strip())
        action = (data["action"] or "").strip()
        if action.endswith("."):
            qs = qs.filter(action__startswith=action)
        elif action:
            qs = qs.filter(action=action)
        if data["target_type"]:
            qs = qs.filter(target_type=data["target_type"].strip())
        if data["tenant"]:
            qs = qs.filter(tenant_id__in=data["tenant"])
        if data["result"]:
            qs = qs.filter(result=data["result"])
        if data["q"]:
            qs = narrowing.label_contains(qs, data["q"].strip())
        return qs

    def active(self) -> dict:
        """The filters in use, as query parameters (for paging and export links)."""
        if not self.is_valid():
            return {}
        return {k: self.data[k] for k in self.FIELDS if self.data.get(k)}


def _tenants():
    # Looked up by label, not imported: the audit app sits below the apps it records.
    return apps.get_model("tenants", "Tenant").objects.all()


def _aware(value: dt.datetime) -> dt.datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value
