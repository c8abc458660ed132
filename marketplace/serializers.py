"""Serializer fields shared by the apps' APIs."""

from __future__ import annotations

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A JSON string and nothing else.

    DRF's `CharField` turns the number 0 into "0", so a client sending the wrong type is not
    told (found by Schemathesis: `{"company_name": 0}` created an application). Form and
    multipart bodies carry strings only, so they are unaffected.
    """

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
