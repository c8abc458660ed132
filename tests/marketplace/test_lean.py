"""The lean WSGI dispatch (marketplace/lean.py) with several lean URL configurations: each
request goes to the handler of the first configuration that takes it, with that
configuration and the lean middleware, and any other to the project's application."""

from __future__ import annotations

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from marketplace import lean

TEST_URLCONF = "tests.marketplace.lean_urls"
FLASH_URLCONF = "promotions.api.lean_urls"


def _project(environ, start_response):
    start_response("299 Project", [("Content-Type", "text/plain")])
    return [b"project"]


def _call(application, environ) -> tuple[str, bytes]:
    """(status, body) as gunicorn would get them; the database connection left open (the
    test's transaction), as Django's test client leaves it."""
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"] = status

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ, start_response)
        body = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started["status"], body


def _post(path: str, **headers) -> dict:
    return RequestFactory().post(path, b"{}", content_type="application/json", **headers).environ


def test_the_production_application_has_the_flash_routes_lean():
    assert lean.LEAN_URLCONFS[0] == FLASH_URLCONF


def test_each_lean_urlconf_serves_what_it_takes_and_the_rest_goes_to_the_project():
    application = lean.application(_project, urlconfs=(FLASH_URLCONF, TEST_URLCONF))

    status, body = _call(application, _post("/lean-test/one/", HTTP_X_LEAN_TEST="1"))
    # Its own URL configuration, and no session middleware (the lean list).
    assert (status, body) == ("200 OK", f"one {TEST_URLCONF} session=False".encode())

    # Taken by neither: the project's application, untouched.
    assert _call(application, _post("/lean-test/one/")) == ("299 Project", b"project")
    assert _call(application, _post("/elsewhere/", HTTP_X_LEAN_TEST="1")) == ("299 Project", b"project")
    get = RequestFactory().get("/lean-test/one/", HTTP_X_LEAN_TEST="1").environ
    assert _call(application, get) == ("299 Project", b"project")


@pytest.mark.django_db
def test_the_flash_route_still_goes_to_its_lean_handler_with_another_urlconf_added(monkeypatch):
    served = []
    original = lean.LeanHandler.__call__

    def spy(self, environ, start_response):
        served.append(self.urlconf)
        return original(self, environ, start_response)

    monkeypatch.setattr(lean.LeanHandler, "__call__", spy)
    application = lean.application(_project, urlconfs=(FLASH_URLCONF, TEST_URLCONF))
    flash = _post("/api/v1/promotions/flash-sales/7/admit/", HTTP_AUTHORIZATION="Token nope", HTTP_ACCEPT_LANGUAGE="en")
    status, _body = _call(application, flash)
    # An unknown token: the lean view hands the request to the API's view, which refuses it.
    assert (status, served) == ("401 Unauthorized", [FLASH_URLCONF])
    _call(application, _post("/lean-test/two/", HTTP_X_LEAN_TEST="1"))
    assert served == [FLASH_URLCONF, TEST_URLCONF]
