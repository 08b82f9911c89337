"""Benchmark: the full SMTP probe against many slow endpoints, sequentially and fanned out.

Starts one asyncio process serving N SMTP endpoints on loopback (one port each); every endpoint
waits ``--latency-ms`` before its banner, then speaks EHLO / STARTTLS / AUTH PLAIN / MAIL / RCPT /
DATA.  Like Exchange (Online and Server), the endpoints present an RSA 2048 certificate and
advertise PIPELINING.  The probe (STARTTLS, certificate checks, AUTH, test message) runs against
all endpoints one after the other, then through the engine's fan-out (connectivity.fanout: worker
processes, one per core, each with its share of ``--workers`` threads).  Prints one JSON line:

    {"endpoints": 500, "latency_ms": 100, "sequential_s": ..., "fanout_s": ..., "ratio": ...,
     "client_cpu_ms_per_probe": ..., "peer_cpu_ms_per_probe": ..., "cores": 2, "floor_s": ...,
     "fanout_vs_floor": ..., "fanout_cpu_ms_per_probe": ..., "fanout_cpu_use": ...,
     "fanout_idle": ..., "processes": 2, "load_1m": ...}

CPU per probe comes from the sequential pass: the client's is this process's CPU time, the
peer's is the server process's own (it reports its CPU time when asked on stdin).  ``floor_s``
is what the machine allows for the fan-out: the longer of one probe's latency chain (the
fastest probe of the sequential pass) and the client + peer CPU of all probes over the cores.
``fanout_cpu_ms_per_probe`` is the client's CPU in the fan-out (this process and its workers);
``fanout_cpu_use`` the share of all cores that client and peer used during the fan-out, and
``fanout_idle`` the share that stayed idle (on a shared machine, others had the rest).

Usage: .venv/bin/python bench/probe_fanout.py [--endpoints N] [--latency-ms MS] [--workers W]
       [--mode auto|threads|processes]
The server process stops by itself (parent gone, or --max-seconds elapsed).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import resource
import ssl
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

USER, PASSWORD = "bench@contoso.test", "bench-password"


# -- certificates (a throwaway CA and a localhost certificate) ---------------------------------


def make_pki(directory: str) -> tuple[str, str, str]:
    """A CA and a localhost certificate, RSA 2048 as Exchange's certificates are."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = rsa.generate_private_key(65537, 2048)
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
    key = rsa.generate_private_key(65537, 2048)
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
            ext = ["250-bench.contoso.test", "250-SIZE 36700160", "250-PIPELINING", "250-8BITMIME"]
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


def _answer_cpu_questions() -> None:
    """Each line on stdin asks for this process's CPU seconds so far; EOF: the parent is gone."""
    for _line in sys.stdin:
        sys.stdout.write(json.dumps({"cpu_s": time.process_time()}) + "\n")
        sys.stdout.flush()


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
    parent_gone = loop.run_in_executor(None, _answer_cpu_questions)  # ends when the parent does
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


def probe_kwargs(port: int, ca_file: str, timeout: float) -> dict:
    return {"host": "localhost", "port": port, "security": "starttls", "username": USER,
            "password": PASSWORD, "auth_method": "plain", "mail_from": USER,
            "rcpt_to": "rcpt@contoso.test", "ca_file": ca_file, "timeout": timeout}  # fmt: skip


def check(result, port: int) -> bool:
    ok = not isinstance(result, Exception) and result.ok
    if not ok:
        with _reported:
            if not _first_failure:  # report one failure, not hundreds
                failed = (
                    repr(result) if isinstance(result, Exception)
                    else [s.to_dict() for s in result.steps if s.status == "fail"]
                )  # fmt: skip
                _first_failure.append(f"port {port}: {failed}")
                print(_first_failure[0], file=sys.stderr)
    return ok


def peer_cpu(server) -> float:
    server.stdin.write("cpu\n")
    server.stdin.flush()
    return json.loads(server.stdout.readline())["cpu_s"]


def machine_idle() -> float:
    """Seconds all cores of the machine spent idle so far (/proc/stat), to tell on a shared
    machine whether the fan-out left cores unused or others used them."""
    with open("/proc/stat") as fh:
        fields = fh.readline().split()  # cpu user nice system idle iowait ...
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # children waited for so far
    return usage.ru_utime + usage.ru_stime


def sequential_pass(ports, ca_file, timeout, server) -> dict:
    from connectivity.probes import probe_smtp

    check(probe_smtp(**probe_kwargs(ports[0], ca_file, timeout)), ports[0])  # imports, caches
    fastest, ok = float("inf"), 0
    peer_before, cpu_before = peer_cpu(server), time.process_time()
    started = time.perf_counter()
    for port in ports:
        began = time.perf_counter()
        ok += check(probe_smtp(**probe_kwargs(port, ca_file, timeout)), port)
        fastest = min(fastest, time.perf_counter() - began)
    wall = time.perf_counter() - started
    return {"wall": wall, "ok": ok, "fastest": fastest,
            "client_cpu": time.process_time() - cpu_before,
            "peer_cpu": peer_cpu(server) - peer_before}  # fmt: skip


def fanout_pass(ports, ca_file, timeout, workers, mode) -> dict:
    from connectivity import fanout
    from connectivity.probes import probe_smtp

    calls = [(probe_smtp, probe_kwargs(p, ca_file, timeout)) for p in ports]
    cpu_before, children_before = time.process_time(), children_cpu()
    started = time.perf_counter()
    pool = {"processes": lambda: fanout.ProbePool(workers), "threads": lambda: None,
            "auto": lambda: fanout.pool_for(len(calls), workers)}[mode]()  # fmt: skip
    results = fanout.fan_out(calls, concurrency=workers, pool=pool)
    wall = time.perf_counter() - started
    processes = len(pool.workers) if pool is not None else 0
    if pool is not None:
        pool.close(wait=10)  # waited for: their CPU time now counts as this process's children's
    cpu = time.process_time() - cpu_before + children_cpu() - children_before
    ok = sum(check(r, p) for r, p in zip(results, ports, strict=True))
    return {"wall": wall, "ok": ok, "client_cpu": cpu, "processes": processes}


def run_bench(args) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, args.endpoints + args.workers * 2 + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    load = os.getloadavg()[0]

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
            seq = sequential_pass(ports, ca_file, args.timeout, server)
            peer_before, idle_before = peer_cpu(server), machine_idle()
            fan = fanout_pass(ports, ca_file, args.timeout, args.workers, args.mode)
            fan["peer_cpu"] = peer_cpu(server) - peer_before
            fan["idle"] = machine_idle() - idle_before
        finally:
            watchdog.cancel()
            server.stdin.close()
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)

    n, cores = len(ports), _cores()
    floor = max(seq["fastest"], (seq["client_cpu"] + seq["peer_cpu"]) / cores)
    print(
        json.dumps(
            {
                "endpoints": n,
                "latency_ms": args.latency_ms,
                "sequential_s": round(seq["wall"], 3),
                "fanout_s": round(fan["wall"], 3),
                "ratio": round(seq["wall"] / fan["wall"], 2) if fan["wall"] else None,
                "client_cpu_ms_per_probe": round(seq["client_cpu"] * 1000 / n, 2),
                "peer_cpu_ms_per_probe": round(seq["peer_cpu"] * 1000 / n, 2),
                "cores": cores,
                "floor_s": round(floor, 3),
                "fanout_vs_floor": round(fan["wall"] / floor, 2),
                "fanout_cpu_ms_per_probe": round(fan["client_cpu"] * 1000 / n, 2),
                "fanout_cpu_use": round(
                    (fan["client_cpu"] + fan["peer_cpu"]) / (fan["wall"] * cores), 2
                ),  # fmt: skip
                "fanout_idle": round(fan["idle"] / (fan["wall"] * cores), 2),
                "processes": fan["processes"],
                "load_1m": round(load, 2),
            }
        )
    )
    if seq["ok"] != n or fan["ok"] != n:
        print(f"probe failures: sequential {n - seq['ok']}, fanout {n - fan['ok']}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def _cores() -> int:
    from connectivity.fanout import cores

    return cores()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoints", type=int, default=500)
    p.add_argument("--latency-ms", type=int, default=100)
    p.add_argument("--workers", type=int, default=64, help="probes in flight at once (fan-out)")
    p.add_argument(
        "--mode",
        choices=("auto", "threads", "processes"),
        default="auto",
        help="fan-out: the engine's choice, threads only, or worker processes",
    )
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
