"""Fixtures for the connectivity probe tests (no database, loopback only)."""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
for path in (HERE, REPO):  # helper modules, and the repo for ``import connectivity``
    if path not in sys.path:
        sys.path.insert(0, path)

from probe_certs import Issued, make_ca, make_leaf, write_bundle  # noqa: E402


class PKI:
    def __init__(self, tmpdir: str) -> None:
        self.tmpdir = tmpdir
        self.root = make_ca("Contoso Test Root")
        self.inter = make_ca("Contoso Test Issuing CA", self.root)
        self.ca_file = write_bundle(os.path.join(tmpdir, "root.pem"), self.root)

    def leaf(self, *names: str, **kw) -> Issued:
        return make_leaf(self.inter, *(names or ("localhost",)), **kw)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> PKI:
    return PKI(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="session")
def sandbox():
    """The Sandbox Exchange as other tools start it (python -m connectivity.sandbox --port 0)."""
    import json
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "connectivity.sandbox", "--port", "0", "--log-level", "WARNING"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": REPO},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        if not line:
            pytest.fail("the sandbox did not start")
        yield json.loads(line)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
