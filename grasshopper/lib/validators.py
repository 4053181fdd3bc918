"""Validators shared by every app's models and forms."""

from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db.models.fields.files import FieldFile
from django.utils.deconstruct import deconstructible

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")
IMAGE_MAX_BYTES = 5 * 1024 * 1024


def validate_timezone(value: str) -> None:
    """An IANA time zone name, e.g. ``Europe/Lisbon``."""
    if value not in available_timezones():
        raise ValidationError(
            "%(value)s is not an IANA time zone name.", code="invalid_timezone", params={"value": value}
        )


@deconstructible
class MaxFileSizeValidator:
    def __init__(self, max_bytes: int = IMAGE_MAX_BYTES) -> None:
        self.max_bytes = max_bytes

    def __call__(self, value: FieldFile) -> None:
        if value and value.size > self.max_bytes:
            raise ValidationError(
                "The file is %(size)s MB; the limit is %(limit)s MB.",
                code="file_too_large",
                params={"size": round(value.size / 1_048_576, 1), "limit": self.max_bytes // 1_048_576},
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MaxFileSizeValidator) and other.max_bytes == self.max_bytes


# ImageField itself checks the content is an image Pillow can open; these check name and size.
IMAGE_VALIDATORS = [FileExtensionValidator(allowed_extensions=IMAGE_EXTENSIONS), MaxFileSizeValidator()]
