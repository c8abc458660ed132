"""Shared OpenAPI pieces: the error body every endpoint may answer with."""

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Shape of every error answer, for the OpenAPI schema."""

    code = serializers.CharField(help_text="Stable snake_case error code.")
    message = serializers.CharField(help_text="Human-readable, translated message.")
    extra = serializers.DictField(help_text="Details, e.g. per-field messages.")
