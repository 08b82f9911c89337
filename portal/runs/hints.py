"""How the web portal words the settings a step's hint names (the CLI names its flags instead).

Probes write hints with placeholders such as ``{ca_file}`` (see connectivity.explain); here
each becomes the label of the form field a person changes, in the reader's language.
"""

from django.utils.translation import gettext_lazy as _

from connectivity.explain import render_hint

SETTING_LABELS = {
    "ca_file": _("the “Custom CA bundle (PEM)” field"),
    "dns_server": _("the tenant's “DNS server for tests” field"),
    "allow_link_local": _("the PROBE_ALLOW_LINK_LOCAL server setting"),
    "timeout": _("the PROBE_TIMEOUT server setting"),
    "auth_method": _("the tenant's “Authentication” field"),
}


def hint_text(hint: str) -> str:
    """A step's hint with its setting placeholders named as in the portal's forms."""
    return render_hint(hint or "", {key: str(label) for key, label in SETTING_LABELS.items()})
