"""notify(): rows in the caller's transaction, one e-mail task after commit, each e-mail sent
once (a task run twice, or two at once), preferences and language, the texts of every kind."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import translation

from notifications import selectors, services, texts
from notifications.choices import EMAIL_OFF_BY_DEFAULT, NotificationKind
from notifications.errors import NotificationError
from notifications.models import Notification, NotificationPreference
from notifications.tasks import notification_emails_send_task
from tests.factories import UserFactory

PAID = {"order": "BO20261207001", "total": "1234.50"}


@pytest.mark.django_db
def test_notify_records_one_row_per_user_and_enqueues_one_task_after_commit(django_capture_on_commit_callbacks):
    alice, bob = UserFactory(email="alice@example.com"), UserFactory(email="bob@example.com")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        rows = services.notify(
            user_ids=[bob.pk, alice.pk, bob.pk, None], kind=NotificationKind.ORDER_PAID, params=PAID, link="/orders/x/"
        )
    assert [(r.user_id, r.kind, r.params, r.link) for r in rows] == [
        (alice.pk, "order_paid", PAID, "/orders/x/"),
        (bob.pk, "order_paid", PAID, "/orders/x/"),
    ]
    assert len(callbacks) == 1  # one task for all the recipients
    assert mail.outbox == []  # nothing sent before commit
    assert Notification.objects.filter(email_sent_at__isnull=False).count() == 0


@pytest.mark.django_db
def test_the_email_is_sent_once_even_when_the_task_runs_twice(django_capture_on_commit_callbacks):
    user = UserFactory(email="alice@example.com")
    with django_capture_on_commit_callbacks(execute=False):
        (row,) = services.notify(user_ids=[user.pk], kind=NotificationKind.ORDER_PAID, params=PAID)
    assert notification_emails_send_task.apply(kwargs={"notification_ids": [row.pk]}).get() == 1
    assert notification_emails_send_task.apply(kwargs={"notification_ids": [row.pk]}).get() == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    # The platform's language without a choice: zh-hans.
    with translation.override("zh-hans"):
        assert message.subject == str(texts.TEXTS["order_paid"].subject) % {"order": "BO20261207001"}
    row.refresh_from_db()
    assert row.email_sent_at is not None
    assert row.read_at is None


@pytest.mark.django_db
def test_email_off_keeps_the_in_app_notification_and_sends_nothing(django_capture_on_commit_callbacks):
    user = UserFactory()
    services.preferences_set(user=user, email={NotificationKind.ORDER_PAID: False})
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user_ids=[user.pk], kind=NotificationKind.ORDER_PAID, params=PAID)
    assert mail.outbox == []
    assert list(Notification.objects.values_list("user_id", "kind", "email_sent_at")) == [(user.pk, "order_paid", None)]
    assert selectors.unread_count(user) == 1


@pytest.mark.django_db
def test_kinds_off_by_default_send_no_email_until_turned_on(django_capture_on_commit_callbacks):
    assert {"low_stock", "application_submitted", "dispute_to_arbitrate"} == EMAIL_OFF_BY_DEFAULT
    user = UserFactory(email="stock@example.com")
    params = {"sku": "L1", "product": "Desk lamp", "available": 2}
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user_ids=[user.pk], kind=NotificationKind.LOW_STOCK, params=params)
    assert mail.outbox == []
    services.preferences_set(user=user, email={NotificationKind.LOW_STOCK: True}, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user_ids=[user.pk], kind=NotificationKind.LOW_STOCK, params=params)
    assert [(m.to, m.subject) for m in mail.outbox] == [(["stock@example.com"], "Low stock: L1")]
    assert mail.outbox[0].body == "Only 2 of Desk lamp (L1) are left for sale. Restock it to keep selling."


@pytest.mark.django_db
def test_the_email_is_in_the_language_the_user_chose_with_the_link(django_capture_on_commit_callbacks, settings):
    settings.SITE_URL = "https://shop.example.com"
    user = UserFactory(email="en@example.com")
    services.preferences_set(user=user, email={}, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(
            user_ids=[user.pk],
            kind=NotificationKind.ORDER_SHIPPED,
            params={"order": "M1", "carrier": "SF", "tracking": "SF123"},
            link="/orders/BO1/",
        )
    (message,) = mail.outbox
    assert message.subject == "Order M1 has shipped"
    assert message.body == (
        "Your order M1 has been handed to SF. Tracking number: SF123.\n\nhttps://shop.example.com/orders/BO1/"
    )


@pytest.mark.django_db(transaction=True)
def test_a_rollback_records_nothing_and_sends_nothing():
    user = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notify(user_ids=[user.pk], kind=NotificationKind.ORDER_PAID, params=PAID)
        raise RuntimeError("the caller's change failed")
    assert Notification.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_after_commit_the_task_sends_the_email():
    user = UserFactory(email="committed@example.com")
    with transaction.atomic():
        services.notify(user_ids=[user.pk], kind=NotificationKind.ORDER_PAID, params=PAID)
        assert mail.outbox == []
    assert [m.to for m in mail.outbox] == [["committed@example.com"]]
    assert Notification.objects.get().email_sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_notification_at_once_send_one_email(monkeypatch):
    user = UserFactory(email="race@example.com")
    monkeypatch.setattr(services, "enqueue_on_commit", lambda *args, **kwargs: None)
    (row,) = services.notify(user_ids=[user.pk], kind=NotificationKind.ORDER_PAID, params=PAID)
    barrier = threading.Barrier(2)
    results = []

    def worker():
        try:
            barrier.wait()
            results.append(services.notification_emails_send(notification_ids=[row.pk]))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1]
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_failed_send_releases_the_claim_for_the_retry(monkeypatch, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False):
        (row,) = services.notify(user_ids=[user.pk], kind=NotificationKind.ORDER_PAID, params=PAID)

    def refuse(*args, **kwargs):
        raise ConnectionError("mail server down")

    monkeypatch.setattr(services, "send_mail", refuse)
    with pytest.raises(ConnectionError):
        services.notification_email_send(notification_id=row.pk)
    row.refresh_from_db()
    assert row.email_sent_at is None
    monkeypatch.undo()
    assert services.notification_email_send(notification_id=row.pk) is True
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_notify_refuses_an_unknown_kind_or_missing_parameters_and_writes_nothing():
    user = UserFactory()
    with pytest.raises(ValueError, match="Unknown notification kind"):
        services.notify(user_ids=[user.pk], kind="nonsense", params={})
    with pytest.raises(ValueError, match=r"lacks parameters \['total'\]"):
        services.notify(user_ids=[user.pk], kind=NotificationKind.ORDER_PAID, params={"order": "X"})
    with pytest.raises(ValueError, match="outcome"):
        services.notify(
            user_ids=[user.pk],
            kind=NotificationKind.AFTER_SALES_DECIDED,
            params={"order": "X", "request": 1, "note": "", "outcome": "maybe"},
        )
    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_mark_read_and_mark_all_read():
    user, other = UserFactory(), UserFactory()
    first, second = (
        services.notify(user_ids=[user.pk], kind=NotificationKind.ORDER_PAID, params=PAID)[0] for _ in range(2)
    )
    (others,) = services.notify(user_ids=[other.pk], kind=NotificationKind.ORDER_PAID, params=PAID)
    services.notification_mark_read(notification=first, user=user)
    read_at = first.read_at
    assert read_at is not None
    services.notification_mark_read(notification=first, user=user)  # again: unchanged
    first.refresh_from_db()
    assert first.read_at == read_at
    with pytest.raises(NotificationError) as info:
        services.notification_mark_read(notification=others, user=user)
    assert info.value.code == "notification_not_found"
    others.refresh_from_db()
    assert others.read_at is None
    assert services.notifications_mark_all_read(user=user) == 1
    assert (selectors.unread_count(user), selectors.unread_count(other)) == (0, 1)
    second.refresh_from_db()
    assert second.read_at is not None


@pytest.mark.django_db
def test_preferences_refuse_an_unknown_kind_or_language_and_write_nothing():
    user = UserFactory()
    with pytest.raises(NotificationError) as info:
        services.preferences_set(user=user, email={"order_paid": False, "bogus": True})
    assert (info.value.code, info.value.extra) == ("unknown_kind", {"kinds": ["bogus"]})
    with pytest.raises(NotificationError) as info:
        services.preferences_set(user=user, email={"order_paid": False}, language="fr")
    assert info.value.code == "unknown_language"
    assert NotificationPreference.objects.count() == 0
    services.preferences_set(user=user, email={"order_paid": False})
    services.preferences_set(user=user, email={"order_paid": True})
    assert list(NotificationPreference.objects.values_list("kind", "email")) == [("order_paid", True)]


#: One set of parameters per kind (and outcome): every text renders complete in both languages.
SAMPLES = {
    "order_paid": [PAID],
    "order_shipped": [{"order": "M1", "carrier": "SF", "tracking": "SF1"}],
    "after_sales_decided": [
        {"order": "M1", "request": 3, "outcome": "accepted", "note": "OK"},
        {"order": "M1", "request": 3, "outcome": "refused", "note": "Used."},
    ],
    "refund_issued": [{"order": "M1", "amount": "10.00"}],
    "complaint_answered": [
        {"order": "M1", "outcome": "answered", "response": "We asked the shop."},
        {"order": "M1", "outcome": "resolved", "response": "The shop refunded you."},
    ],
    "new_order": [{"order": "M1", "total": "10.00"}],
    "after_sales_requested": [{"order": "M1", "request": 3, "deadline": "2026-12-09T10:00:00+08:00"}],
    "dispute_opened": [{"order": "M1", "request": 3}],
    "statement_ready": [{"statement": 4, "period": "2026-10", "amount": "99.00"}],
    "low_stock": [{"sku": "L1", "product": "Lamp", "available": 2}],
    "subsidy_decided": [
        {"programme": "Fit-out", "outcome": "approved", "amount": "1000.00"},
        {"programme": "Fit-out", "outcome": "refused", "reason": "No invoice."},
    ],
    "penalty_raised": [
        {"penalty": 5, "amount": "500.00", "reason": "Fake.", "appeal_until": "2026-12-14T10:00:00+08:00"}
    ],
    "penalty_decided": [
        {"penalty": 5, "outcome": "cancelled", "amount": "500.00", "reason": "Proved."},
        {"penalty": 5, "outcome": "stands", "amount": "500.00", "reason": "No proof."},
    ],
    "risk_alert": [{"summary": "Refund rate 12 % over 7 days."}],
    "application_submitted": [{"merchant": "Acme Ltd"}],
    "dispute_to_arbitrate": [{"order": "M1", "dispute": 8}],
}


def test_every_kind_has_texts_and_a_sample():
    assert set(SAMPLES) == set(NotificationKind.values) == set(texts.TEXTS)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_text_renders_whole_in_both_languages(language):
    for kind, samples in SAMPLES.items():
        for params in samples:
            assert texts.required_params(kind, params) <= set(params), kind
            with translation.override(language):
                for part in ("subject", "line", "body"):
                    rendered = texts.render(kind, params, part)
                    assert rendered and "%(" not in rendered, (kind, part)


def test_texts_show_money_and_moments_in_the_readers_format():
    params = {"order": "M1", "request": 3, "deadline": "2026-12-09T02:00:00+00:00"}
    with translation.override("en"):
        assert texts.render("after_sales_requested", params, "line") == (
            "After-sales request 3 for order M1: answer by Dec. 9, 2026, 10 a.m.."
        )
        assert texts.render("order_paid", PAID, "line") == "Order BO20261207001 is paid: ¥1,234.50."
