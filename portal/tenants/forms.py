import re
import uuid

from cryptography import x509
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from connectivity.oauth import load_certificate
from portal.lib.validators import normalize_host, validate_single_line
from portal.tenants.models import Tenant, parse_dns_server

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
SECRET_FIELDS = ("client_secret", "certificate_pem", "password")
# Text that reaches a header, an SMTP command, a PowerShell argument or the audit log.
SINGLE_LINE_FIELDS = ("name", "directory_id", "client_id", "username", "test_mailbox",
                      "client_secret", "password", "dns_server")  # fmt: skip


# One host check for every host field (here, "Test a host", accepted domains).
clean_host = normalize_host


def show_if(conditions: dict | None) -> str:
    """The ``data-show-if`` text of a field: "kind=online auth_method=basic,ntlm".

    The page's script shows the field only while every named control holds one of the listed
    values; without the script every field shows, and the form's own checks decide.
    """
    return " ".join(
        f"{name}={','.join(str(v) for v in values)}" for name, values in (conditions or {}).items()
    )


class ConditionalSelect(forms.Select):
    """A select whose options carry ``data-show-if`` (only the choices that can be saved show)."""

    def __init__(self, *args, option_show_if: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.option_show_if = option_show_if or {}

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        condition = show_if(self.option_show_if.get(str(value)))
        if condition:
            option["attrs"]["data-show-if"] = condition
        return option


def parse_pem_certificates(text: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        certs = []
    if not certs:
        raise ValidationError(
            _("Paste one or more PEM certificates (-----BEGIN CERTIFICATE-----).")
        )
    return certs


class TenantForm(forms.ModelForm):
    accepted_domains_text = forms.CharField(
        label=_("Accepted domains"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line or comma-separated, primary domain first."),
    )  # fmt: skip
    client_secret = forms.CharField(
        label=_("Client secret"), required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )  # fmt: skip
    certificate_pem = forms.CharField(
        label=_("Certificate and private key (PEM)"), required=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
    )  # fmt: skip
    password = forms.CharField(
        label=_("Service account password"), required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )  # fmt: skip

    class Meta:
        model = Tenant
        fields = [
            "name", "kind", "cloud", "directory_id", "ews_url", "autodiscover_url", "mapi_url",
            "token_url", "smtp_host", "smtp_port", "smtp_security", "imap_host", "imap_port",
            "pop_host", "pop_port", "dns_server", "auth_method", "client_id", "username",
            "test_mailbox",
            "tls_verify", "ca_bundle",
        ]  # fmt: skip
        widgets = {
            "ca_bundle": forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
            # Exchange Online accepts only OAuth (clean() says so): Basic/NTLM only for Server.
            "auth_method": ConditionalSelect(option_show_if={
                Tenant.Auth.BASIC: {"kind": [Tenant.Kind.SERVER]},
                Tenant.Auth.NTLM: {"kind": [Tenant.Kind.SERVER]},
            }),
        }  # fmt: skip

    # (legend, note, fields): how the form is laid out, in one place.
    FIELDSETS = [
        (_("Organization"), "",
         ["name", "kind", "cloud", "directory_id", "accepted_domains_text", "test_mailbox"]),
        (_("Endpoints"),
         _("Leave empty to use the cloud's defaults. Exchange Server needs at least the EWS URL."),
         ["ews_url", "autodiscover_url", "mapi_url", "token_url", "smtp_host", "smtp_port",
          "smtp_security", "imap_host", "imap_port", "pop_host", "pop_port", "dns_server"]),
        (_("How the portal authenticates"),
         _("Secrets are encrypted at rest and never shown again after saving."),
         ["auth_method", "client_id", "client_secret", "certificate_pem", "username",
          "password"]),
        (_("TLS"),
         _("Turning verification off is recorded in the audit log and shown as a warning on "
           "every page of this tenant."),
         ["tls_verify", "ca_bundle"]),
    ]  # fmt: skip

    # Fields that only one kind or authentication method uses; the page shows them only then.
    OAUTH = [Tenant.Auth.OAUTH_SECRET, Tenant.Auth.OAUTH_CERT]
    SHOW_IF = {
        "cloud": {"kind": [Tenant.Kind.ONLINE]},
        "directory_id": {"kind": [Tenant.Kind.ONLINE]},
        "token_url": {"auth_method": OAUTH},
        "client_id": {"auth_method": OAUTH},
        "client_secret": {"auth_method": [Tenant.Auth.OAUTH_SECRET]},
        "certificate_pem": {"auth_method": [Tenant.Auth.OAUTH_CERT]},
        "username": {"auth_method": [Tenant.Auth.BASIC, Tenant.Auth.NTLM]},
        "password": {"auth_method": [Tenant.Auth.BASIC, Tenant.Auth.NTLM]},
    }

    def fieldsets(self):
        """(legend, note, [(field, data-show-if)]) in the order of FIELDSETS."""
        return [(legend, note, [(self[name], show_if(self.SHOW_IF.get(name))) for name in names])
                for legend, note, names in self.FIELDSETS]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SINGLE_LINE_FIELDS:
            self.fields[name].validators.append(validate_single_line)
        self.fields["accepted_domains_text"].initial = "\n".join(self.instance.accepted_domains)
        for name in SECRET_FIELDS:
            if self.instance.pk and getattr(self.instance, name):
                self.fields[name].help_text = _("Stored. Leave empty to keep it; type to replace.")

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_accepted_domains_text(self):
        raw = self.cleaned_data.get("accepted_domains_text", "")
        domains = []
        for item in re.split(r"[\s,;]+", raw):
            if item:
                host = clean_host(item)
                if not _DOMAIN.match(host):
                    raise ValidationError(_("“%(d)s” is not a domain name."), params={"d": item})
                if host not in domains:
                    domains.append(host)
        return domains

    def clean_smtp_host(self):
        return clean_host(self.cleaned_data["smtp_host"])

    def clean_imap_host(self):
        return clean_host(self.cleaned_data["imap_host"])

    def clean_pop_host(self):
        return clean_host(self.cleaned_data["pop_host"])

    def _clean_port(self, name):
        port = self.cleaned_data[name]
        if not 1 <= port <= 65535:
            raise ValidationError(_("A port is a number from 1 to 65535."))
        return port

    def clean_smtp_port(self):
        return self._clean_port("smtp_port")

    def clean_imap_port(self):
        return self._clean_port("imap_port")

    def clean_pop_port(self):
        return self._clean_port("pop_port")

    def clean_dns_server(self):
        value = self.cleaned_data["dns_server"].strip()
        if value and parse_dns_server(value) is None:
            raise ValidationError(
                _("Use an IP address, optionally with a port: 192.0.2.53:5353, [2001:db8::53]:53.")
            )
        return value

    def clean_ca_bundle(self):
        text = self.cleaned_data["ca_bundle"].strip()
        if text:
            parse_pem_certificates(text)
        return text

    def clean_certificate_pem(self):
        text = self.cleaned_data["certificate_pem"].strip()
        if not text:
            return text
        parse_pem_certificates(text)
        try:
            load_certificate(text)
        except ValueError as exc:
            raise ValidationError(
                _("The PEM must hold the certificate and its unencrypted RSA private key: %(e)s."),
                params={"e": exc},
            )
        return text

    def _secret(self, name) -> str:
        """The new value if typed, else the stored one."""
        return self.cleaned_data.get(name) or getattr(self.instance, name, "") or ""

    def clean(self):
        data = super().clean()
        kind, cloud, auth = data.get("kind"), data.get("cloud"), data.get("auth_method")
        for field in ("ews_url", "autodiscover_url", "mapi_url", "token_url"):
            url = data.get(field)
            if url and not url.lower().startswith("https://"):
                self.add_error(field, _("Use an https:// address."))
        oauth = auth in {Tenant.Auth.OAUTH_SECRET, Tenant.Auth.OAUTH_CERT}
        if kind == Tenant.Kind.ONLINE:
            if not oauth:
                self.add_error(
                    "auth_method",
                    _("Exchange Online accepts only OAuth for EWS; Basic was retired in 2022."),
                )
            if cloud == Tenant.Cloud.CUSTOM:
                for field in ("ews_url", "token_url"):
                    if not data.get(field):
                        self.add_error(field, _("Required for custom endpoints."))
            elif not _valid_directory_id(data.get("directory_id", "")):
                self.add_error(
                    "directory_id",
                    _("Enter the tenant id (a GUID) or its .onmicrosoft.com domain."),
                )
        else:
            if not data.get("ews_url"):
                self.add_error("ews_url", _("Required for Exchange Server: where EWS answers."))
            if oauth and not data.get("token_url"):
                self.add_error("token_url", _("Required for OAuth against Exchange Server."))
        if oauth and not data.get("client_id"):
            self.add_error("client_id", _("Required for OAuth."))
        if auth == Tenant.Auth.OAUTH_SECRET and not self._secret("client_secret"):
            self.add_error("client_secret", _("Required for the client-secret flow."))
        if auth == Tenant.Auth.OAUTH_CERT and not self._secret("certificate_pem"):
            self.add_error("certificate_pem", _("Required for the certificate flow."))
        if auth in {Tenant.Auth.BASIC, Tenant.Auth.NTLM}:
            if not data.get("username"):
                self.add_error("username", _("Required for Basic and NTLM."))
            if not self._secret("password"):
                self.add_error("password", _("Required for Basic and NTLM."))
        return data

    def save(self, commit=True):
        tenant = super().save(commit=False)
        tenant.accepted_domains = self.cleaned_data["accepted_domains_text"]
        for name in SECRET_FIELDS:
            if self.cleaned_data.get(name):
                setattr(tenant, name, self.cleaned_data[name])
        if commit:
            tenant.save()
        return tenant


def _valid_directory_id(value: str) -> bool:
    value = (value or "").strip().lower()
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return bool(_DOMAIN.match(value)) and value.endswith(
            (".onmicrosoft.com", ".onmicrosoft.us", ".partner.onmschina.cn")
        )
