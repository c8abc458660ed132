"""The Celery application.

Configuration comes from Django settings (`CELERY_*`), including the one periodic schedule
(`CELERY_BEAT_SCHEDULE`). With Django present Celery's default task class is `DjangoTask`,
which gives every task `delay_on_commit()`: enqueue only after the transaction commits.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
