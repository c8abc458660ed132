"""Two overlapping runs of the same night (a beat run and a manual one, or a redelivered
task) write one rating and change the grade once: the second waits on the first's row of
the night (unique key), then finds it and skips the merchant, recording no failure."""

import datetime
import threading

import pytest
from django.db import connection, transaction

from marketplace.models import AuditLogEntry, JobFailure
from merchants.models import Merchant
from risk import services
from risk.models import CreditRating
from tests.catalog.factories import live_merchant
from tests.catalog.test_stock import _wait_for_a_lock_waiter

NIGHT = datetime.date(2026, 11, 1)


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_night_rate_once_and_change_the_grade_once():
    merchant, _c = live_merchant()
    # Too few orders to rate: the grade goes to B, a change from D (audited once).
    Merchant.objects.filter(pk=merchant.pk).update(credit_grade="D")
    computed, commit = threading.Event(), threading.Event()
    errors, results = [], []

    def first():
        try:
            with transaction.atomic():
                results.append(services.credit_rating_compute(merchant_id=merchant.pk, rated_on=NIGHT))
                computed.set()
                commit.wait(timeout=30)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    def second():
        try:
            results.append(services.credit_ratings_run(rated_on=NIGHT))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert computed.wait(timeout=10)
    two = threading.Thread(target=second)
    two.start()
    try:
        _wait_for_a_lock_waiter()
    finally:
        commit.set()
        one.join(timeout=30)
        two.join(timeout=30)
    assert errors == []
    assert results[0] is True
    assert (results[1].done, results[1].skipped, results[1].failed) == (0, 1, 0)
    assert CreditRating.objects.filter(merchant=merchant).count() == 1
    assert AuditLogEntry.objects.filter(action="merchant.credit_grade_changed").count() == 1
    assert not JobFailure.objects.exists()
    merchant.refresh_from_db()
    assert merchant.credit_grade == "B"
