from rest_framework import serializers


class UserMeOutputSerializer(serializers.Serializer):
    """The signed-in user, as the mobile app shows it."""

    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    full_name = serializers.CharField(read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)
