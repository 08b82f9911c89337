"""A throwaway Dovecot (IMAP4 + POP3) on loopback for the probe tests.

Runs as root from a temp dir: a passwd-file user, one listener each for imap (143, STARTTLS),
imaps (993), pop3 (110, STLS), pop3s (995), TLS with the test PKI certificate.
Dovecot's auth process runs as the ``dovecot`` user, so the directory must be traversable.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

from probe_servers import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAIL_USER = "carol@contoso.test"
MAIL_PASSWORD = "Imap-Pa55word!"

CONFIG = """
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
instance_name = probe-test-{port}
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login{oauth_mechanisms}
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:{d}/mail/%n
pop3_uidl_format = %g
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
{oauth_passdb}userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%n
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


# Dovecot validates the bearer JWT itself (introspection_mode = local) against the public key
# in a dict: the file <prefix>/<azp or "default">/<alg>/<kid or "default">.
OAUTH_PASSDB = """passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {d}/oauth2.conf.ext
}}
"""
OAUTH_CONF = """introspection_mode = local
local_validation_key_dict = fs:posix:prefix={d}/keys/
username_attribute = sub
issuers = {issuer}
"""
OAUTH_ISSUER = "https://login.test/contoso/v2.0"


def _wait_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on {port}")


@contextlib.contextmanager
def dovecot(cert_chain_pem: bytes, key_pem: bytes, oauth_public_key_pem: bytes | None = None):
    """Start Dovecot; yield a dict of ports (imap, imaps, pop3, pop3s).

    With ``oauth_public_key_pem`` it also offers XOAUTH2/OAUTHBEARER and accepts RS256 tokens
    signed by the matching private key, issued by OAUTH_ISSUER, whose ``sub`` is the user.
    """
    d = tempfile.mkdtemp(prefix="probe-dovecot-")
    os.chmod(d, 0o755)  # noqa: S103 - the auth process (user dovecot) must traverse it
    ports = {name: free_port() for name in ("imap", "imaps", "pop3", "pop3s")}
    for sub in ("run", "state", "mail"):
        os.mkdir(os.path.join(d, sub))
    nobody = pwd.getpwnam("nobody")  # the mail user of the static userdb
    os.chown(os.path.join(d, "mail"), nobody.pw_uid, nobody.pw_gid)
    with open(os.path.join(d, "cert.pem"), "wb") as fh:
        fh.write(cert_chain_pem)
    with open(os.path.join(d, "key.pem"), "wb") as fh:
        fh.write(key_pem)
    os.chmod(os.path.join(d, "key.pem"), 0o600)
    with open(os.path.join(d, "passwd"), "w") as fh:
        fh.write(f"{MAIL_USER}:{{PLAIN}}{MAIL_PASSWORD}::::::\n")
    os.chmod(os.path.join(d, "passwd"), 0o644)
    oauth = {"oauth_mechanisms": "", "oauth_passdb": ""}
    if oauth_public_key_pem:
        oauth = {
            "oauth_mechanisms": " xoauth2 oauthbearer",
            "oauth_passdb": OAUTH_PASSDB.format(d=d),
        }
        keydir = os.path.join(d, "keys", "default", "RS256")
        os.makedirs(keydir)
        for folder in (os.path.join(d, "keys"), os.path.dirname(keydir), keydir):
            os.chmod(folder, 0o755)  # noqa: S103 - read by the auth process (user dovecot)
        with open(os.path.join(keydir, "default"), "wb") as fh:
            fh.write(oauth_public_key_pem)
        with open(os.path.join(d, "oauth2.conf.ext"), "w") as fh:
            fh.write(OAUTH_CONF.format(d=d, issuer=OAUTH_ISSUER))
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as fh:
        fh.write(CONFIG.format(d=d, port=ports["imap"], **ports, **oauth))
    proc = subprocess.Popen(
        [DOVECOT, "-F", "-c", conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 10
        for port in ports.values():
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"dovecot exited: {out}")
            _wait_port(port, deadline)
        yield ports
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(d, ignore_errors=True)
