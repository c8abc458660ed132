from rest_framework import serializers

from ..models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    """A notification with its words in the language of the request."""

    subject = serializers.CharField(read_only=True)
    line = serializers.CharField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "params", "subject", "line", "link", "created_at", "read_at"]
        read_only_fields = fields


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField()
