"""Sandbox Exchange: an Exchange-shaped HTTPS/SMTP server used as a test double.

Public API::

    from connectivity.sandbox import SandboxServer, AdminClient
    with SandboxServer(data_dir, port=0) as sb:
        info = sb.info                # same keys as the CLI JSON line
        admin = sb.admin_client()     # or AdminClient.from_info(info)

CLI: ``python -m connectivity.sandbox --help``. No Django imports here.
"""

from .client import AdminClient, AdminError
from .server import SandboxServer

__all__ = ["AdminClient", "AdminError", "SandboxServer"]
