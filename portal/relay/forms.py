import ipaddress
import re
import secrets
import string

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from portal.lib.validators import normalize_host, validate_single_line
from portal.relay.models import RelayClient
from portal.tenants.models import Tenant

# Text that can reach an SMTP command, a message header, a CSV cell or the audit log.
SINGLE_LINE_FIELDS = ("name", "owner", "owner_email", "location", "smtp_host")
_SPLIT = re.compile(r"[\s,;]+")
PASSWORD_ALPHABET = string.ascii_letters + string.digits + "-_.!#%+=@"


def generate_password(length: int = 24) -> str:
    """A strong random password with at least one of each character class."""
    while True:
        value = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        if (any(c.islower() for c in value) and any(c.isupper() for c in value)
                and any(c.isdigit() for c in value)
                and any(not c.isalnum() for c in value)):  # fmt: skip
            return value


def split_list(text: str) -> list[str]:
    return [part for part in _SPLIT.split(text or "") if part]


def parse_source_ips(text: str) -> list[str]:
    result = []
    for item in split_list(text):  # line breaks separate items; each item is checked on its own
        validate_single_line(item)
        try:
            result.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValidationError(
                _("“%(value)s” is not an IP address or network (for example 192.0.2.10 or "
                  "192.0.2.0/24)."), params={"value": item}, code="invalid_ip",
            )  # fmt: skip
    return result


def parse_addresses(text: str) -> list[str]:
    result = []
    for item in split_list(text):
        validate_single_line(item)
        try:
            validate_email(item)
        except ValidationError:
            raise ValidationError(
                _("“%(value)s” is not an email address like scanner@contoso.com."),
                params={"value": item}, code="invalid_email",
            )  # fmt: skip
        result.append(item.lower())
    return result


class RelayClientForm(forms.ModelForm):
    source_ips_text = forms.CharField(
        label=_("Source IP addresses"), required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=_("Addresses or networks the device sends from, one per line or "
                    "comma-separated."),
    )  # fmt: skip
    sender_addresses_text = forms.CharField(
        label=_("Allowed sender addresses"), required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=_("The From addresses this client may use, one per line."),
    )  # fmt: skip

    class Meta:
        model = RelayClient
        fields = [
            "tenant", "name", "kind", "owner", "owner_email", "location", "method",
            "supports_oauth", "internal_only", "smtp_host", "smtp_port", "smtp_security",
            "rotation_days", "notes",
        ]  # fmt: skip
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    FIELDSETS = [
        (_("Client"), ["tenant", "name", "kind", "owner", "owner_email", "location", "notes"]),
        (_("How it sends"),
         ["method", "source_ips_text", "sender_addresses_text", "supports_oauth",
          "internal_only", "smtp_host", "smtp_port", "smtp_security"]),
        (_("Credential policy"), ["rotation_days"]),
    ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "tenant" in self.fields:  # the configuration document names tenants instead
            self.fields["tenant"].queryset = Tenant.objects.order_by("name")
        if self.instance.pk:
            self.fields["source_ips_text"].initial = "\n".join(self.instance.source_ips)
            self.fields["sender_addresses_text"].initial = "\n".join(self.instance.sender_addresses)

    @property
    def fieldsets(self):
        return [(legend, [self[name] for name in names]) for legend, names in self.FIELDSETS]

    def clean(self):
        data = super().clean()
        for name in SINGLE_LINE_FIELDS:
            try:
                validate_single_line(data.get(name))
            except ValidationError as exc:
                self.add_error(name, exc)
        if data.get("smtp_host") and "smtp_host" not in self.errors:
            try:
                data["smtp_host"] = normalize_host(data["smtp_host"])
            except ValidationError as exc:
                self.add_error("smtp_host", exc)
        method = data.get("method")
        if method == "connector" and data.get("source_ips_text") == []:
            self.add_error("source_ips_text", _(
                "Connector relay matches the device by its IP address: give at least one."
            ))  # fmt: skip
        return data

    def clean_source_ips_text(self):
        return parse_source_ips(self.cleaned_data.get("source_ips_text") or "")

    def clean_sender_addresses_text(self):
        return parse_addresses(self.cleaned_data.get("sender_addresses_text") or "")

    def save(self, commit=True):
        self.instance.source_ips = self.cleaned_data["source_ips_text"]
        self.instance.sender_addresses = self.cleaned_data["sender_addresses_text"]
        return super().save(commit)


class CredentialForm(forms.Form):
    """Set or rotate the credential: the new value is shown once after saving."""

    username = forms.CharField(label=_("Mailbox (user name)"), max_length=254, required=False,
                               widget=forms.TextInput(attrs={"autocomplete": "off"}))  # fmt: skip
    password = forms.CharField(
        label=_("New password"), required=False, max_length=256, strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("A strong password was generated for you. Set the same password on the "
                    "mailbox, or replace it with the one the mailbox already has."),
    )  # fmt: skip
    oauth_client_id = forms.CharField(label=_("OAuth application (client) id"), max_length=80,
                                      required=False)  # fmt: skip
    oauth_client_secret = forms.CharField(
        label=_("OAuth client secret"), required=False, max_length=512, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )  # fmt: skip

    def __init__(self, *args, client: RelayClient, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client
        self.fields["username"].initial = client.username or (
            client.sender_addresses[0] if client.sender_addresses else ""
        )
        self.fields["oauth_client_id"].initial = client.oauth_client_id
        self.fields["password"].initial = generate_password()

    def clean(self):
        data = super().clean()
        for name in self.fields:
            try:
                validate_single_line(data.get(name))
            except ValidationError as exc:
                self.add_error(name, exc)
        if self.errors:
            return data
        if self.client.method == "smtp_oauth":
            if (
                not data.get("username")
                or not data.get("oauth_client_id")
                or not data.get("oauth_client_secret")
            ):
                raise ValidationError(_(
                    "XOAUTH2 needs the mailbox, the application (client) id and its client "
                    "secret."
                ))  # fmt: skip
        else:
            if not data.get("username") or not data.get("password"):
                raise ValidationError(_("Give the mailbox and its password."))
            try:
                validate_email(data["username"])
            except ValidationError:
                self.add_error("username", _("Give the mailbox as an address like "
                                             "scanner@contoso.com."))  # fmt: skip
            if len(data["password"]) < 12:
                self.add_error("password", _("Use at least 12 characters."))
        return data


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you need to see it?"),
        max_length=300,
        min_length=10,
        help_text=_("Recorded in the audit log with your name."),
    )

    def clean_reason(self):
        value = self.cleaned_data["reason"]
        validate_single_line(value)
        return value


class TestSendForm(forms.Form):
    recipient = forms.EmailField(label=_("Send the test message to"), max_length=254)

    def __init__(self, *args, client: RelayClient, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client

    def clean_recipient(self):
        value = self.cleaned_data["recipient"]
        validate_single_line(value)
        if any(c in value for c in " <>\"'"):
            raise ValidationError(_("Give a plain address like someone@contoso.com."))
        domains = [d.lower() for d in self.client.tenant.accepted_domains]
        internal_only = self.client.internal_only or self.client.method in {"direct_send", "hve"}
        if internal_only and domains and value.rsplit("@", 1)[1].lower() not in domains:
            raise ValidationError(_(
                "This client sends to internal recipients only: use an address in one of the "
                "tenant's accepted domains (%(domains)s)."
            ), params={"domains": ", ".join(domains)})  # fmt: skip
        return value.lower()
