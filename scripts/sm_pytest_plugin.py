"""pytest plugin for the Service Model test command (loaded after pytest-odoo).

- Tests tagged ``at_install`` already ran in Odoo's own runner while the test
  database was installed (``--test-tags at_install/<addon>``): they are
  deselected here so that every test runs exactly once.
- ``HttpCase`` tests need Odoo's HTTP server; pytest-odoo stops the one it
  starts, so a server thread is spawned once for the session when such a test
  is collected.
- A browser tour that cannot start its browser (no Chromium, no
  websocket-client) is a failure here, not a skip: Odoo's HttpCase skips
  such tests, which would let a broken set-up pass unnoticed. ``sm.sh``
  installs Chromium before the tests run.
"""

import pytest

# The reasons HttpCase.browser_js gives when it skips for lack of a browser.
BROWSER_SKIP_REASONS = (
    "chrome",
    "websocket-client module is not installed",
)


def _odoo_tags(item):
    cls = getattr(item, "cls", None)
    return getattr(cls, "test_tags", None) or set()


def pytest_collection_modifyitems(session, config, items):
    selected, deselected = [], []
    for item in items:
        (deselected if "at_install" in _odoo_tags(item) else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and call.when == "call" and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).lower()
        if any(marker in reason for marker in BROWSER_SKIP_REASONS):
            report.outcome = "failed"
            report.longrepr = (
                f"The browser tour could not start ({report.longrepr[2]}): "
                "run it through scripts/sm.sh, which installs Chromium, and check "
                "that websocket-client is in the virtualenv."
            )
    return report


@pytest.fixture(scope="session", autouse=True)
def odoo_http_server(request, load_registry):
    from odoo.tests.common import HttpCase

    needs_http = any(
        isinstance(getattr(item, "cls", None), type) and issubclass(item.cls, HttpCase)
        for item in request.session.items
    )
    if not needs_http:
        yield None
        return
    from odoo import http
    from odoo.service import server

    # Read every addon's manifest once, here, before the browser's parallel
    # requests do: parsing them in several threads at once can fail in
    # CPython 3.11 ("AST constructor recursion depth mismatch"), and the
    # web client then dies on a 500 page at start.
    assert http.root.statics is not None
    threaded = server.ThreadedServer(http.root)
    threaded.http_spawn()
    server.server = threaded  # HttpCase reads the port from it
    yield threaded
    threaded.httpd.shutdown()
    server.server = None
