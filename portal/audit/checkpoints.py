"""Signed checkpoints of the chain head, kept outside the database.

Each checkpoint is one JSON line ``{"seq", "hash", "time", "key_id", "mac"}`` appended to
``AUDIT_CHECKPOINT_DIR/checkpoints.jsonl`` (default VAR_DIR/audit-checkpoints/); ``mac`` is the
HMAC-SHA256 of the other four under the audit key. Celery beat writes one every hour and
``manage.py audit_checkpoint`` on demand; when the head moved since the previous one it is also
sent to AUDIT_CHECKPOINT_EMAIL and AUDIT_CHECKPOINT_SYSLOG, copies a database-level attacker
cannot reach. ``verify`` requires every checkpointed event to still carry its checkpointed hash,
and the chain to reach the newest checkpoint's seq.
"""

import datetime as dt
import hmac
import json
import os
import socket
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail

from portal.audit import keys
from portal.audit.models import AuditEvent

FILE_NAME = "checkpoints.jsonl"
SIGNED_FIELDS = ("seq", "hash", "time", "key_id")
SYSLOG_TIMEOUT = 5.0


def directory() -> Path:
    configured = getattr(settings, "AUDIT_CHECKPOINT_DIR", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "audit-checkpoints"


def _signed_bytes(cp: dict) -> bytes:
    body = json.dumps({k: cp[k] for k in SIGNED_FIELDS}, sort_keys=True, separators=(",", ":"))
    return b"portal audit checkpoint\n" + body.encode()


def line_for(cp: dict) -> str:
    return json.dumps(cp, separators=(",", ":")) + "\n"


def _read(path: Path, pins: dict, problems: list) -> None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return
    except OSError as exc:
        problems.append((0, f"checkpoint file {path} cannot be read: {exc.strerror}"))
        return
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        where = f"checkpoint {path}:{number}"
        try:
            cp = json.loads(text)
            seq, digest = int(cp["seq"]), str(cp["hash"])
            key = keys.find(str(cp["key_id"]))
            valid = key is not None and hmac.compare_digest(
                key.mac(_signed_bytes(cp)), str(cp["mac"])
            )
        except (ValueError, KeyError, TypeError):
            problems.append((0, f"{where} is not a checkpoint line"))
            continue
        if key is None:
            problems.append(
                (seq, f"{where} is signed with a key AUDIT_KEY no longer holds ({cp['key_id']})")
            )
        elif not valid:
            problems.append((seq, f"{where} has a bad signature (the file was edited)"))
        elif seq > 0:
            pins.setdefault(seq, []).append({"seq": seq, "hash": digest, "time": cp["time"]})


def load(extra_files=()) -> tuple[dict[int, list[dict]], list[tuple[int, str]]]:
    """Every valid checkpoint by seq, and what is wrong with the others."""
    pins, problems = {}, []
    for path in [directory() / FILE_NAME, *map(Path, extra_files)]:
        _read(path, pins, problems)
    return pins, problems


def newest() -> dict | None:
    pins, _ = load()
    return max((cp for pinned in pins.values() for cp in pinned), key=lambda cp: cp["seq"],
               default=None)  # fmt: skip


def write() -> dict:
    """Append a signed checkpoint of the current head; deliver it if the head moved.

    Returns the checkpoint plus ``file``, ``sent`` (where it went) and ``errors`` (deliveries
    that failed, in words). An empty chain is checkpointed as seq 0.
    """
    previous = newest()
    head = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
    key = keys.current()
    cp = {
        "seq": head["seq"] if head else 0,
        "hash": head["hash"] if head else "",
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "key_id": key.id,
    }
    cp["mac"] = key.mac(_signed_bytes(cp))
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / FILE_NAME
    # One short write with O_APPEND: lines from beat and the command never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line_for(cp).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    moved = previous is None or (previous["seq"], previous["hash"]) != (cp["seq"], cp["hash"])
    sent, errors = deliver(cp) if moved else ([], [])
    return {**cp, "file": str(path), "moved": moved, "sent": sent, "errors": errors}


def deliver(cp: dict) -> tuple[list[str], list[str]]:
    sent, errors = [], []
    recipients = list(getattr(settings, "AUDIT_CHECKPOINT_EMAIL", []) or [])
    if recipients:
        try:
            send_mail(
                f"[{settings.SITE_NAME}] audit checkpoint #{cp['seq']}",
                "Keep this line: `manage.py audit_verify --checkpoints FILE` checks the audit "
                "log against it.\n\n" + line_for(cp),
                None,
                recipients,
            )
            sent.append("email")
        except (OSError, ValueError) as exc:
            errors.append(f"email to {', '.join(recipients)} failed: {exc}")
    target = getattr(settings, "AUDIT_CHECKPOINT_SYSLOG", "") or ""
    if target:
        try:
            send_syslog(target, "audit-checkpoint " + line_for(cp).strip())
            sent.append("syslog")
        except OSError as exc:
            errors.append(f"syslog to {target} failed: {exc}")
    return sent, errors


def send_syslog(target: str, message: str) -> None:
    """One RFC 5424 message (facility auth, severity notice) to ``udp://host:port``,
    ``tcp://host:port`` or a local socket path such as /dev/log."""
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    payload = f"<37>1 {stamp} {socket.gethostname()} portal - audit - {message}".encode()
    if target.startswith(("udp://", "tcp://")):
        host, _, port = target[6:].rpartition(":")
        address = (host.strip("[]"), int(port or 514))
        if target.startswith("udp://"):
            family = socket.getaddrinfo(*address, type=socket.SOCK_DGRAM)[0][0]
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.settimeout(SYSLOG_TIMEOUT)
                sock.sendto(payload, address)
        else:
            with socket.create_connection(address, timeout=SYSLOG_TIMEOUT) as sock:
                sock.sendall(b"%d %s" % (len(payload), payload))  # octet counting, RFC 6587
    else:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.settimeout(SYSLOG_TIMEOUT)
            sock.sendto(payload, target)
