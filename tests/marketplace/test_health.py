import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_healthz_is_200_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"ok": True, "engine": "PostgreSQL"},
        "broker": {"ok": True, "mode": "redis"},
    }
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is True
    assert body["broker"] == {"ok": False, "mode": "redis", "error": "ConnectionError"}


def test_healthz_is_503_when_the_database_is_down(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise connection.Database.OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "engine": "PostgreSQL", "error": "OperationalError"}


def test_healthz_counts_the_workers_answering_only_on_request(client, monkeypatch):
    pings = []

    def ping(timeout):
        pings.append(timeout)
        return [{"celery@a": {"ok": "pong"}}, {"celery@b": {"ok": "pong"}}]

    monkeypatch.setattr("marketplace.views.celery_app.control.ping", ping)
    assert "workers" not in client.get("/healthz").json()
    assert pings == []
    response = client.get("/healthz", {"workers": "1"})
    assert response.status_code == 200
    assert response.json()["workers"] == {"ok": True, "mode": "redis", "answering": 2}
    assert pings == [1.0]


def test_healthz_without_workers_stays_200_and_says_none_answer(client, monkeypatch):
    monkeypatch.setattr("marketplace.views.celery_app.control.ping", lambda timeout: [])
    response = client.get("/healthz", {"workers": "1"})
    assert response.status_code == 200
    assert response.json()["workers"] == {"ok": False, "mode": "redis", "answering": 0}


def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405
