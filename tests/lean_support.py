"""What the lean handler's tests share (marketplace/lean.py): one request sent both through the
production WSGI application, as gunicorn calls it, and through Django's full stack and the DRF
view, and the comparison of the two answers. The add-to-cart, checkout and flash-sale tests each
assert that the lean path answers exactly as the API does."""

from __future__ import annotations

import json

from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from marketplace.wsgi import application

#: Headers an answer must carry the same on both paths.
COMPARED = (
    "Content-Type",
    "Allow",
    "Vary",
    "Content-Language",
    "WWW-Authenticate",
    "Retry-After",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Content-Security-Policy",
)


class Answer:
    def __init__(self, status: str, headers: list, body: bytes):
        self.status_code = int(status.split(" ", 1)[0])
        self.headers = dict(headers)
        self.content = body

    def json(self):
        return json.loads(self.content)


def wsgi(environ_: dict) -> Answer:
    """The production WSGI application (marketplace.wsgi), as gunicorn calls it; the database
    connection left open as Django's test client leaves it (the test's transaction)."""
    started = {}

    def start_response(status, headers, exc_info=None):
        started.update(status=status, headers=headers)

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ_, start_response)
        body = b"".join(chunks)
        chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return Answer(started["status"], started["headers"], body)


def api(environ_: dict):
    """The same request through the project's full stack and the DRF view (Django's test client)."""
    return Client().generic(
        environ_["REQUEST_METHOD"],
        environ_["PATH_INFO"],
        data=environ_["wsgi.input"].read(int(environ_.get("CONTENT_LENGTH") or 0)),
        content_type=environ_.get("CONTENT_TYPE", ""),
        **{k: v for k, v in environ_.items() if k.startswith("HTTP_")},
    )


def same(lean_answer, api_answer) -> None:
    """The two answers are the same: status, body and every compared header."""
    assert lean_answer.status_code == api_answer.status_code
    assert lean_answer.content == api_answer.content
    for name in COMPARED:
        assert lean_answer.headers.get(name) == api_answer.headers.get(name), name
