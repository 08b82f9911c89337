import json
import signal
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.tenants.sandbox import register_sandbox_tenant


class Command(BaseCommand):
    help = (
        "Start the bundled sandbox Exchange (EWS, Autodiscover, MAPI over HTTP, OAuth token "
        "endpoint, SMTP submission, IMAP4, POP3, DNS for its domain) in the foreground and "
        "register it as the 'Sandbox' tenant."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8443, help="HTTPS port (default 8443)")
        parser.add_argument("--smtp-port", type=int, default=8587, help="SMTP port (default 8587)")
        parser.add_argument("--imap-port", type=int, default=8143, help="IMAP4 port (default 8143)")
        parser.add_argument("--pop3-port", type=int, default=8110, help="POP3 port (default 8110)")
        parser.add_argument("--dns-port", type=int, default=8053, help="DNS port (default 8053)")
        parser.add_argument("--data", default=None, help="data folder (default: VAR_DIR/sandbox)")
        parser.add_argument("--latency-ms", type=int, default=0)
        parser.add_argument("--max-concurrency", type=int, default=27)
        parser.add_argument("--seed-mailboxes", type=int, default=3)
        parser.add_argument("--seed-items", type=int, default=20)
        parser.add_argument("--json", action="store_true", help="print the endpoints as JSON")

    def handle(self, *args, **opts):
        from connectivity.sandbox import SandboxServer

        for name in ("port", "smtp_port", "imap_port", "pop3_port", "dns_port"):
            if not 0 <= opts[name] <= 65535:
                raise CommandError(f"--{name.replace('_', '-')} must be 0-65535.")
        if opts["latency_ms"] < 0 or opts["max_concurrency"] < 0:
            raise CommandError("--latency-ms and --max-concurrency cannot be negative.")
        data = Path(opts["data"] or Path(settings.VAR_DIR) / "sandbox")
        data.mkdir(parents=True, exist_ok=True)
        server = SandboxServer(
            data, opts["host"], opts["port"], smtp_port=opts["smtp_port"],
            latency_ms=opts["latency_ms"], max_concurrency=opts["max_concurrency"],
            seed_mailboxes=opts["seed_mailboxes"], seed_items=opts["seed_items"],
            imap_port=opts["imap_port"], pop3_port=opts["pop3_port"], dns_port=opts["dns_port"],
        )  # fmt: skip
        try:
            server.start()
        except OSError as exc:
            raise CommandError(
                f"Cannot start the sandbox: {exc.strerror or exc}. Another program may use one of "
                "its ports: choose others with --port, --smtp-port, --imap-port, --pop3-port and "
                "--dns-port (0 picks a free one)."
            )
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        try:
            info = server.info
            tenant, created = register_sandbox_tenant(info)
            if opts["json"]:
                self.stdout.write(json.dumps({**_public(info), "tenant_id_in_portal": tenant.pk}))
            else:
                self._describe(info, tenant, created)
            self.stdout.flush()
            stop.wait()
        finally:
            server.stop()

    def _describe(self, info, tenant, created):
        verb = "Registered" if created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"Sandbox Exchange is running. {verb} tenant 'Sandbox' ({tenant.pk})."
            )
        )
        rows = [
            ("EWS", info["ews_url"]),
            ("Autodiscover", info["autodiscover_pox_url"]),
            ("MAPI over HTTP", info["mapi_url"]),
            ("OAuth token", info["token_url"]),
            ("SMTP (STARTTLS)", f"{info['smtp_host']}:{info['smtp_port']}"),
            ("IMAP4 (STARTTLS)", f"{info['smtp_host']}:{info['imap_port']}"),
            ("POP3 (STARTTLS)", f"{info['smtp_host']}:{info['pop3_port']}"),
            ("DNS", f"{info['smtp_host']}:{info['dns_port']} (UDP, {info['domain']} only)"),
            ("CA certificate", info["ca_file"]),
            ("Domain", info["domain"]),
        ]
        for label, value in rows:
            self.stdout.write(f"  {label:<16} {value}")
        self.stdout.write("  Mailboxes: " + ", ".join(m["address"] for m in info["mailboxes"]))
        self.stdout.write(
            "Secrets stay in the tenant's encrypted settings, not on screen. Ctrl-C stops it."
        )


def _public(info: dict) -> dict:
    """The startup facts without credentials."""
    hidden = {"admin_token", "mailboxes"}
    public = {k: v for k, v in info.items() if "secret" not in k and k not in hidden}
    public["mailboxes"] = [m["address"] for m in info["mailboxes"]]
    return public
