"""Playwright driving Debian's chromium against Django's live server."""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"

# Collects CSP violations in the page itself (the console message alone can be missed).
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class PageProblems:
    def __init__(self, page):
        self.page = page
        self.console_errors: list[str] = []
        page.on(
            "console",
            lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: self.console_errors.append(str(exc)))

    def csp_violations(self) -> list[str]:
        return self.page.evaluate("window.__cspViolations || []")

    def axe_violations(self, impacts=("serious", "critical")) -> list[dict]:
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            # evaluate() runs through the DevTools protocol, so the page's CSP does not block it.
            self.page.evaluate(AXE.read_text())
        result = self.page.evaluate("async () => (await axe.run(document)).violations")
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in result
            if v["impact"] in impacts
        ]


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.problems = PageProblems(page)
    yield page
    context.close()


def sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Login").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if "/accounts/2fa/authenticate/" in page.url:
        # Admins have a second factor: answer with the code their authenticator app shows now.
        from tests.accounts.helpers import totp_code_for

        page.locator("input[name=code]").fill(totp_code_for(username))
        page.get_by_role("button", name="Sign In").first.click()
        page.wait_for_url(lambda url: "/accounts/2fa/" not in url)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(autouse=True)
def _unhashed_static_files(settings):
    # The live server serves static files through the finders, which know no hashed names.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
