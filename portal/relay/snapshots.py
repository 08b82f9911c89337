"""What the audit log keeps of a relay client: never the credential columns."""

from portal.audit.api import snapshot
from portal.relay.models import RelayClient

_HIDDEN = {"password", "oauth_client_secret", "reminder_sent_for"}
PUBLIC_FIELDS = [f.name for f in RelayClient._meta.concrete_fields if f.name not in _HIDDEN]


def client_snapshot(client) -> dict:
    return snapshot(client, PUBLIC_FIELDS)
