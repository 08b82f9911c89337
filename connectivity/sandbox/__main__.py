"""``python -m connectivity.sandbox``: run the Sandbox Exchange until SIGTERM/SIGINT.

Prints exactly one JSON line on stdout once listening (URLs, CA file, tenant, applications,
mailboxes, admin endpoint); logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import tempfile
import threading

from .server import SandboxServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m connectivity.sandbox",
        description="Exchange-shaped test server (EWS, Autodiscover, "
        "MAPI/HTTP, OAuth token endpoint, SMTP submission, IMAP4, POP3, DNS for its domain).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="HTTPS port (0 = any free port)")
    parser.add_argument("--smtp-port", type=int, default=0, help="SMTP port (0 = any free port)")
    parser.add_argument("--dns-port", type=int, default=0, help="DNS (UDP) port (0 = any)")
    parser.add_argument("--imap-port", type=int, default=0, help="IMAP4 port (0 = any free port)")
    parser.add_argument("--pop3-port", type=int, default=0, help="POP3 port (0 = any free port)")
    parser.add_argument("--data", default=None, help="data directory (default: a new temp dir)")
    parser.add_argument("--domain", default="sandbox.test")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=0,
        help="concurrent EWS requests per application/account (0 = unlimited)",
    )
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--backoff-ms", type=int, default=500)
    parser.add_argument("--seed-mailboxes", type=int, default=3)
    parser.add_argument("--seed-items", type=int, default=0)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    data = args.data or tempfile.mkdtemp(prefix="exchange-sandbox-")
    server = SandboxServer(
        data,
        args.host,
        args.port,
        smtp_port=args.smtp_port,
        latency_ms=args.latency_ms,
        max_concurrency=args.max_concurrency,
        failure_rate=args.failure_rate,
        backoff_ms=args.backoff_ms,
        seed_mailboxes=args.seed_mailboxes,
        seed_items=args.seed_items,
        domain=args.domain,
        dns_port=args.dns_port,
        imap_port=args.imap_port,
        pop3_port=args.pop3_port,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    try:
        sys.stdout.write(json.dumps(server.info) + "\n")
        sys.stdout.flush()
        while not stop.wait(1.0):
            pass
    finally:
        logging.getLogger("connectivity.sandbox").info("shutting down")
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
