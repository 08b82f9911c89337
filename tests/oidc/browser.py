"""What the browser SSO tests check on every portal page they pass through."""

from playwright.sync_api import TimeoutError as PlaywrightTimeout

# Chromium logs a document's own error status as a console error; the "No access" page is a 403.
STATUS_403 = "Failed to load resource: the server responded with a status of 403 (Forbidden)"


def watch(page) -> None:
    """Record console errors with the URL they came from (PageProblems keeps only the text)."""
    page.sso_errors = []
    page.on(
        "console",
        lambda msg: (
            page.sso_errors.append((msg.text, msg.location.get("url", "")))
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: page.sso_errors.append((str(exc), page.url)))


def assert_clean(page, *, document_status: int = 200) -> None:
    """No CSP violation and no console error since the last check (only the page's own 403)."""
    assert page.problems.csp_violations() == [], page.url
    expected = [(STATUS_403, page.url)] if document_status == 403 else []
    assert page.sso_errors == expected, (page.url, page.sso_errors)
    page.sso_errors.clear()


def wait_for_provider(page, url_prefix: str) -> None:
    try:
        page.wait_for_url(lambda url: url.startswith(url_prefix))
    except PlaywrightTimeout:
        raise AssertionError(
            f"the browser never reached the identity provider at {url_prefix}; still at "
            f"{page.url}; console errors: {page.sso_errors}"
        ) from None
