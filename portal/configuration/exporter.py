"""The configuration as a document: the format ``config apply`` reads, secrets as placeholders.

Keys come in the definitions' order and records sorted by name, and fields that hold their
default are left out, so two exports of the same configuration are byte-for-byte identical and
a change shows as a small diff.
"""

from __future__ import annotations

import yaml

from portal.configuration import registry
from portal.configuration.planner import VERSION

HEADER = (
    "# Exchange Interop Portal configuration: apply with `manage.py config apply FILE`.\n"
    "# Secrets are references: set each *_env variable (or use <field>_file: PATH) first.\n"
)


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper, value: str):
    # Certificates and other multi-line text as readable literal blocks.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


class UnknownTenant(LookupError):
    pass


def export(tenant: str | None = None) -> str:
    """The document for every record, or only for one tenant and what belongs to it."""
    from portal.tenants.models import Tenant

    if tenant is not None and not Tenant.objects.filter(name=tenant).exists():
        raise UnknownTenant(tenant)
    doc = {"version": VERSION}
    for kind in registry.kinds():
        doc[kind.table] = kind.export(tenant)
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096,
                     default_flow_style=False)  # fmt: skip
    return HEADER + body
