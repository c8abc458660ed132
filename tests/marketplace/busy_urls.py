"""Test-only routes that write a row, then wait on the database as the test asks, so the
tests can show a wait bound answers 503 and leaves nothing half-written."""

from django.db import connection, transaction
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.models import JobFailure


def _write_then_wait(params):
    now = timezone.now()
    with transaction.atomic():
        JobFailure.objects.create(
            job="busy-test", object_type="t", object_id="1", code="x", first_seen=now, last_seen=now
        )
        with connection.cursor() as cursor:
            if params["wait"] == "sleep":
                cursor.execute("SELECT pg_sleep(3)")
            else:  # a row another connection holds locked
                cursor.execute("SELECT id FROM marketplace_user WHERE id = %s FOR UPDATE", [params["user"]])


class BusyApiView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request):
        _write_then_wait(request.query_params)
        return Response({"done": True})


def busy_page(request):
    _write_then_wait(request.GET)
    return HttpResponse("done")


urlpatterns = [
    path("api/busy/", BusyApiView.as_view()),
    path("api/plain-busy/", busy_page),
    path("busy/", busy_page),
]
