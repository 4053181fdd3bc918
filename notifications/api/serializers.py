"""Input and output serializers of the notifications API: shapes only (the rules are in
``notifications.services_inbox``). Times are ISO 8601 in UTC."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

# Notification ids are 64-bit in the database; anything bigger is malformed.
MAX_BIGINT = 9_223_372_036_854_775_807
MAX_IDS = 100


class NotificationListQuerySerializer(serializers.Serializer):
    unread = serializers.ChoiceField(
        choices=["true", "false"],
        required=False,
        help_text="`true`: only unread notifications; `false`: only read ones; absent or empty: all.",
    )

    def unread_filter(self) -> bool | None:
        value = self.validated_data.get("unread")
        return None if value is None else value == "true"


class NotificationReadInputSerializer(serializers.Serializer):
    """Exactly one of `ids` and `all`: else 400 `validation_error` with item code `ids_or_all_required`."""

    # DRF passes max_length on to the ListSerializer; the stubs do not know it yet.
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_BIGINT),
        required=False,
        allow_empty=False,
        max_length=MAX_IDS,
        help_text=f"Ids of your notifications to mark read (1 to {MAX_IDS}).",
    )
    all = serializers.BooleanField(required=False, help_text="`true`: mark every unread notification read.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == bool(attrs.get("all")):
            raise serializers.ValidationError(
                'Send either "ids" (a list of notification ids) or "all": true, not both.',
                code="ids_or_all_required",
            )
        return attrs


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(read_only=True, help_text="What it is about, e.g. `order_confirmed`.")
    title = serializers.CharField(read_only=True)
    body = serializers.CharField(read_only=True)
    link = serializers.CharField(read_only=True, help_text="Site-relative URL to open, or empty.")
    created = serializers.DateTimeField(read_only=True)
    read_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="null while unread.")
    unread = serializers.SerializerMethodField()

    def get_unread(self, obj: Any) -> bool:
        return obj.read_at is None


class UnreadCountOutputSerializer(serializers.Serializer):
    unread_count = serializers.IntegerField(read_only=True, help_text="Unread notifications left.")
