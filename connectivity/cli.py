"""Command line: ``python -m connectivity PROBE --host HOST [options]``.

Exit codes: 0 no step failed (warnings allowed), 1 a step failed, 2 usage error.
Secrets (passwords, tokens, client secrets) are read only from environment variables named on the
command line, never from argv.  ``--json`` prints exactly one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

from connectivity.explain import render_hint
from connectivity.probes.core import InvalidInput, ProbeResult, Status, validate_host

PROBES = ("smtp", "imap", "pop3", "ews", "autodiscover", "mapi", "dns", "tls", "tcp")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

MARKS = {Status.PASS: "✓", Status.WARN: "!", Status.FAIL: "✗", Status.SKIP: "-"}
ASCII_MARKS = {Status.PASS: "+", Status.WARN: "!", Status.FAIL: "x", Status.SKIP: "-"}


# How hints name the settings a person can change (the portal names its form fields instead).
SETTING_FLAGS = {
    "ca_file": "--ca-file",
    "dns_server": "--nameserver",
    "allow_link_local": "--allow-link-local",
    "timeout": "--timeout",
    "auth_method": "--auth",
}


class UsageError(Exception):
    pass


class _RefuseSecretOnArgv(argparse.Action):
    """``--password VALUE`` is refused without echoing VALUE back."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f"{option_string} is not accepted: pass --password-env VAR instead")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m connectivity",
        description="Exchange connectivity probes (Remote Connectivity Analyzer style).",
        allow_abbrev=False,  # so "--password" can never be taken for "--password-env"
    )
    p.add_argument("probe", choices=PROBES)
    p.add_argument("--host", help="host name or IP (for dns: the domain)")
    p.add_argument("--port", type=int)
    p.add_argument("--security", choices=("starttls", "tls", "none"))
    p.add_argument("--username")
    p.add_argument("--password-env", metavar="VAR", help="environment variable with the password")
    for flag in ("--password", "--token", "--client-secret"):
        p.add_argument(flag, action=_RefuseSecretOnArgv, nargs="?", help=argparse.SUPPRESS)
    p.add_argument("--token-env", metavar="VAR", help="environment variable with an OAuth token")
    p.add_argument(
        "--auth", choices=("auto", "plain", "login", "user", "xoauth2", "basic", "ntlm"),
        default="auto",
        help="mail: SASL mechanism; ews, autodiscover, mapi: basic (default) or ntlm",
    )  # fmt: skip
    p.add_argument("--ca-file", metavar="PEM")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS")
    p.add_argument("--mail-from", metavar="ADDR")
    p.add_argument("--rcpt-to", metavar="ADDR")
    p.add_argument("--subject")
    p.add_argument("--ehlo-name")
    p.add_argument("--mailbox", metavar="SMTP", help="mailbox address (EWS/Autodiscover/MAPI)")
    p.add_argument("--nameserver", help="DNS server to ask (default: system resolver)")
    p.add_argument("--dns-port", type=int, default=53)
    p.add_argument("--allow-link-local", action="store_true")
    p.add_argument("--url", help="endpoint URL (EWS, Autodiscover, MAPI)")
    p.add_argument("--domain", help="e-mail domain (Autodiscover)")
    p.add_argument("--impersonate", metavar="SMTP", help="mailbox the application impersonates")
    p.add_argument("--token-url")
    p.add_argument("--client-id")
    p.add_argument("--client-secret-env", metavar="VAR")
    p.add_argument("--tenant-id")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def secret_from_env(var: str | None, what: str) -> str | None:
    if not var:
        return None
    if var not in os.environ:
        raise UsageError(f"--{what}-env: environment variable {var} is not set")
    return os.environ[var]


def _common(args) -> dict:
    return {"timeout": args.timeout, "allow_link_local": args.allow_link_local}


def _need_host(args) -> str:
    if not args.host:
        raise UsageError("--host is required for this probe")
    return validate_host(args.host)


def _mail_kwargs(args) -> dict:
    if args.auth in ("basic", "ntlm"):
        raise UsageError(f"--auth {args.auth} is for ews, autodiscover and mapi")
    kw = {
        "port": args.port,
        "username": args.username,
        "password": secret_from_env(args.password_env, "password"),
        "token": secret_from_env(args.token_env, "token"),
        "auth_method": args.auth,
        "ca_file": args.ca_file,
        **_common(args),
    }
    if args.security:
        kw["security"] = args.security
    return kw


def run_smtp(args) -> ProbeResult:
    from connectivity.probes.smtp import probe_smtp

    kw = _mail_kwargs(args)
    if args.auth == "user":
        raise UsageError("--auth user is for pop3")
    if args.subject is not None:
        kw["subject"] = args.subject
    return probe_smtp(
        _need_host(args), mail_from=args.mail_from, rcpt_to=args.rcpt_to,
        ehlo_name=args.ehlo_name, **kw,
    )  # fmt: skip


def run_imap(args) -> ProbeResult:
    from connectivity.probes.imap import probe_imap

    if args.auth == "user":
        raise UsageError("--auth user is for pop3")
    return probe_imap(_need_host(args), **_mail_kwargs(args))


def run_pop3(args) -> ProbeResult:
    from connectivity.probes.pop3 import probe_pop3

    kw = _mail_kwargs(args)
    if kw["auth_method"] in ("plain", "login"):
        kw["auth_method"] = "user"
    return probe_pop3(_need_host(args), **kw)


def run_tls(args) -> ProbeResult:
    from connectivity.probes.tls import probe_tls

    return probe_tls(_need_host(args), args.port or 443, ca_file=args.ca_file, **_common(args))


def run_tcp(args) -> ProbeResult:
    from connectivity.probes.tcp import probe_tcp

    if not args.port:
        raise UsageError("--port is required for tcp")
    return probe_tcp(_need_host(args), args.port, **_common(args))


def run_dns(args) -> ProbeResult:
    from connectivity.probes.dns import probe_dns

    domain = args.domain or args.host
    if not domain:
        raise UsageError("--host (or --domain) is required for dns")
    return probe_dns(
        domain, nameserver=args.nameserver, port=args.dns_port,
        timeout=args.timeout, allow_link_local=args.allow_link_local,
    )  # fmt: skip


def _need_mailbox(args) -> str:
    if not args.mailbox:
        raise UsageError("--mailbox is required for this probe")
    return args.mailbox


def _url(args, path: str | None = None) -> str | None:
    """--url, or https://HOST[:PORT]<path> built from --host/--port."""
    if args.url:
        return args.url
    if args.host and path:
        host = validate_host(args.host)
        port = f":{args.port}" if args.port and args.port != 443 else ""
        return f"https://{host}{port}{path}"
    return None


def run_ews(args) -> ProbeResult:
    from connectivity.probes.ews import probe_ews

    url = _url(args, "/EWS/Exchange.asmx")
    if not url:
        raise UsageError("ews needs --url or --host")
    return probe_ews(
        _need_mailbox(args), url=url, username=args.username,
        password=secret_from_env(args.password_env, "password"),
        token=secret_from_env(args.token_env, "token"), token_url=args.token_url,
        client_id=args.client_id,
        client_secret=secret_from_env(args.client_secret_env, "client-secret"),
        tenant_id=args.tenant_id, impersonate=args.impersonate, ca_file=args.ca_file,
        auth=_http_auth(args), **_common(args),
    )  # fmt: skip


def _http_auth(args) -> str:
    """The password sign-in of the HTTP probes: ntlm when asked for, else Basic (the default;
    the mail mechanisms are ignored here, as they always were)."""
    return "ntlm" if args.auth == "ntlm" else "basic"


def run_autodiscover(args) -> ProbeResult:
    from connectivity.probes.autodiscover import probe_autodiscover

    return probe_autodiscover(
        _need_mailbox(args), url=args.url, domain=args.domain or args.host,
        username=args.username, password=secret_from_env(args.password_env, "password"),
        token=secret_from_env(args.token_env, "token"), ca_file=args.ca_file,
        nameserver=args.nameserver, dns_port=args.dns_port, auth=_http_auth(args),
        **_common(args),
    )  # fmt: skip


def run_mapi(args) -> ProbeResult:
    from connectivity.probes.mapi import probe_mapi

    url = args.url
    autodiscover_url = None
    if not url:
        autodiscover_url = _url(args, "/autodiscover/autodiscover.xml")
        if not autodiscover_url:
            raise UsageError("mapi needs --url (the emsmdb URL) or --host (for POX discovery)")
    elif "/autodiscover/" in url.lower():
        url, autodiscover_url = None, url
    return probe_mapi(
        _need_mailbox(args), url=url, autodiscover_url=autodiscover_url,
        username=args.username or args.mailbox,
        password=secret_from_env(args.password_env, "password"),
        token=secret_from_env(args.token_env, "token"), ca_file=args.ca_file,
        auth=_http_auth(args), **_common(args),
    )  # fmt: skip


RUNNERS: dict[str, Callable] = {
    "smtp": run_smtp,
    "imap": run_imap,
    "pop3": run_pop3,
    "tls": run_tls,
    "tcp": run_tcp,
    "dns": run_dns,
    "ews": run_ews,
    "autodiscover": run_autodiscover,
    "mapi": run_mapi,
}


def render(result: ProbeResult, *, ascii_only: bool = False) -> str:
    marks = ASCII_MARKS if ascii_only else MARKS
    width = max((len(s.name) for s in result.steps), default=10)
    lines = [f"{result.probe.upper()}  {result.target}"]
    pad = " " * (width + 16)
    for s in result.steps:
        ms = f"{s.ms:>5} ms" if s.status != Status.SKIP else " " * 8
        lines.append(f"  {marks[s.status]} {s.name:<{width}}  {ms}  {s.detail}".rstrip())
        if s.hint and s.status in (Status.WARN, Status.FAIL):
            lines.append(f"{pad}hint: {s.hint}")
    failed = sum(s.status == Status.FAIL for s in result.steps)
    warned = sum(s.status == Status.WARN for s in result.steps)
    verdict = "OK" if result.ok else "FAILED"
    lines.append(f"Result: {verdict} ({failed} failed, {warned} warnings)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on argparse errors
    if args.timeout <= 0 or args.timeout > 300:
        parser.error("--timeout must be between 0 and 300 seconds")
    if args.port is not None and not 0 < args.port < 65536:
        parser.error("--port must be 1-65535")
    try:
        result = RUNNERS[args.probe](args)
    except (UsageError, InvalidInput) as exc:
        parser.error(str(exc))
    for step in result.steps:
        step.hint = render_hint(step.hint, SETTING_FLAGS)
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    else:
        encoding = (getattr(sys.stdout, "encoding", None) or "ascii").lower()
        print(render(result, ascii_only="utf" not in encoding))
    return EXIT_OK if result.ok else EXIT_FAILED
