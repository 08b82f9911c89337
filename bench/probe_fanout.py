"""Benchmark: the full SMTP probe against many slow endpoints, sequentially and fanned out.

Starts one asyncio process serving N SMTP endpoints on loopback (one port each); every endpoint
waits ``--latency-ms`` before its banner, then speaks EHLO / STARTTLS / AUTH PLAIN / MAIL / RCPT /
DATA.  The probe (STARTTLS, certificate checks, AUTH, test message) runs against all endpoints
one after the other, then through a bounded thread pool.  Prints one JSON line:

    {"endpoints": 500, "latency_ms": 100, "sequential_s": ..., "fanout_s": ..., "ratio": ...}

Usage: .venv/bin/python bench/probe_fanout.py [--endpoints N] [--latency-ms MS] [--workers W]
The server process stops by itself (parent gone, or --max-seconds elapsed).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

USER, PASSWORD = "bench@contoso.test", "bench-password"


# -- certificates (a throwaway CA and a localhost certificate) ---------------------------------


def make_pki(directory: str) -> tuple[str, str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Bench Root"))
        .issuer_name(name("Bench Root"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = [os.path.join(directory, n) for n in ("ca.pem", "cert.pem", "key.pem")]
    blobs = [
        ca.public_bytes(serialization.Encoding.PEM),
        leaf.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    ]
    for path, blob in zip(paths, blobs, strict=True):
        with open(path, "wb") as fh:
            fh.write(blob)
    return paths[0], paths[1], paths[2]


# -- the server process ------------------------------------------------------------------------


async def _session(reader, writer, tls_ctx: ssl.SSLContext, latency: float) -> None:
    async def reply(text: str) -> None:
        writer.write(text.encode() + b"\r\n")
        await writer.drain()

    await asyncio.sleep(latency)
    await reply("220 bench.contoso.test ESMTP ready")
    tls = False
    while True:
        line = await asyncio.wait_for(reader.readline(), 30)
        if not line:
            break
        verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
        if verb == "EHLO":
            ext = ["250-bench.contoso.test", "250-SIZE 36700160", "250-8BITMIME"]
            ext.append("250 AUTH PLAIN LOGIN" if tls else "250 STARTTLS")
            await reply("\r\n".join(ext))
        elif verb == "STARTTLS" and not tls:
            await reply("220 2.0.0 ready to start TLS")
            await writer.start_tls(tls_ctx)
            tls = True
        elif verb == "AUTH":
            parts = line.decode().split()
            ok = len(parts) == 3 and base64.b64decode(parts[2]) == f"\0{USER}\0{PASSWORD}".encode()
            await reply("235 2.7.0 Authentication successful" if ok else "535 5.7.8 bad")
        elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
            await reply("250 2.0.0 OK")
        elif verb == "DATA":
            await reply("354 go ahead")
            while (await reader.readline()) not in (b".\r\n", b""):
                pass
            await reply("250 2.0.0 queued")
        elif verb == "QUIT":
            await reply("221 2.0.0 bye")
            break
        else:
            await reply("502 5.5.2 not implemented")
    writer.close()


async def _serve(count: int, latency: float, cert: str, key: str, max_seconds: float) -> None:
    tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ctx.load_cert_chain(cert, key)

    async def handler(reader, writer):
        try:
            await _session(reader, writer, tls_ctx, latency)
        except (OSError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            writer.close()

    servers = [
        await asyncio.start_server(handler, "127.0.0.1", 0, backlog=256) for _ in range(count)
    ]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    sys.stdout.write(json.dumps(ports) + "\n")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    parent_gone = loop.run_in_executor(None, sys.stdin.read)  # EOF when the parent exits
    await asyncio.wait([parent_gone], timeout=max_seconds)
    for s in servers:
        s.close()
    os._exit(0)  # do not wait for the stdin reader thread


def run_server(args) -> None:
    asyncio.run(
        _serve(args.endpoints, args.latency_ms / 1000, args.cert, args.key, args.max_seconds)
    )


# -- the benchmark -----------------------------------------------------------------------------


_reported = threading.Lock()
_first_failure: list[str] = []


def probe_one(port: int, ca_file: str, timeout: float) -> bool:
    from connectivity.probes.smtp import probe_smtp

    result = probe_smtp(
        "localhost", port, security="starttls", username=USER, password=PASSWORD,
        auth_method="plain", mail_from=USER, rcpt_to="rcpt@contoso.test",
        ca_file=ca_file, timeout=timeout,
    )  # fmt: skip
    if not result.ok:
        with _reported:
            if not _first_failure:  # report one failure, not hundreds
                failed = [s.to_dict() for s in result.steps if s.status == "fail"]
                _first_failure.append(f"port {port}: {failed}")
                print(_first_failure[0], file=sys.stderr)
    return result.ok


def run_bench(args) -> int:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, args.endpoints + args.workers * 2 + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    with tempfile.TemporaryDirectory(prefix="probe-fanout-") as tmp:
        ca_file, cert, key = make_pki(tmp)
        cmd = [
            sys.executable, os.path.abspath(__file__), "--serve",
            "--endpoints", str(args.endpoints), "--latency-ms", str(args.latency_ms),
            "--cert", cert, "--key", key, "--max-seconds", str(args.max_seconds),
        ]  # fmt: skip
        server = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        watchdog = threading.Timer(args.max_seconds, server.kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            ports = json.loads(server.stdout.readline())
            started = time.perf_counter()
            seq_ok = sum(probe_one(p, ca_file, args.timeout) for p in ports)
            sequential = time.perf_counter() - started

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.workers) as pool:
                fan_ok = sum(pool.map(lambda p: probe_one(p, ca_file, args.timeout), ports))
            fanout = time.perf_counter() - started
        finally:
            watchdog.cancel()
            server.stdin.close()
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)

    print(
        json.dumps(
            {
                "endpoints": len(ports),
                "latency_ms": args.latency_ms,
                "sequential_s": round(sequential, 3),
                "fanout_s": round(fanout, 3),
                "ratio": round(sequential / fanout, 2) if fanout else None,
            }
        )
    )
    if seq_ok != len(ports) or fan_ok != len(ports):
        print(f"probe failures: sequential {len(ports) - seq_ok}, fanout {len(ports) - fan_ok}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoints", type=int, default=500)
    p.add_argument("--latency-ms", type=int, default=100)
    p.add_argument("--workers", type=int, default=64, help="thread pool bound for the fan-out")
    p.add_argument("--timeout", type=float, default=10.0, help="per-probe network timeout")
    p.add_argument("--max-seconds", type=float, default=900, help="hard stop for the server")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--cert", help=argparse.SUPPRESS)
    p.add_argument("--key", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.endpoints < 1 or args.workers < 1:
        p.error("--endpoints and --workers must be positive")
    if args.serve:
        run_server(args)
        return 0
    return run_bench(args)


if __name__ == "__main__":
    sys.exit(main())
