"""`manage.py grants script` as a subprocess prints exactly what the page shows."""

import html
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, _database_url
from tests.grants.conftest import make_grant

pytestmark = pytest.mark.django_db(transaction=True)


def grants(*args):
    env = {**os.environ, "DATABASE_URL": _database_url()}
    return subprocess.run([sys.executable, "manage.py", "grants", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_cli_prints_the_page_script_and_exit_codes(viewer_client, operator_user, application):
    grant = make_grant(application, operator_user, mailboxes=["o'brien@contoso.example"])
    for action in ("apply", "remove", "check"):
        done = grants("script", str(grant.pk), "--action", action)
        assert done.returncode == 0, done.stderr
        page = viewer_client.get(f"/grants/{grant.pk}/script/?action={action}")
        shown = re.search(r"<pre[^>]*><code>(.*?)</code></pre>", page.text, re.S)[1]
        assert done.stdout == html.unescape(shown)
    assert "'o''brien@contoso.example'" in done.stdout
    missing = grants("script", "99999")
    assert missing.returncode == 1 and "No grant with id 99999" in missing.stderr
    assert grants("script", str(grant.pk), "--action", "explode").returncode == 2
