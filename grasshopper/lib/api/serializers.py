"""Serializer helpers shared by the API apps."""

from __future__ import annotations

import threading
from typing import Any

from rest_framework import serializers


class FieldsBuiltOnceMixin:
    """For the input serializer of a busy endpoint: its declared fields are built once per thread and class,
    then bound to each new serializer, instead of DRF's deep copy of every field (and of a nested
    serializer's fields) for every instance (``Serializer.get_fields``).

    That copy re-runs each field's ``__init__`` and builds its validators again: on ``POST /api/v1/orders/``
    it was 13.5 % of the CPU instructions of a refused request and 7 % of a whole free order
    (bench/README.md).

    Why sharing is safe here: a DRF field keeps no state between validations; ``bind()`` points it at the
    serializer being validated (so ``root`` and ``context`` are that request's), and a nested serializer's
    fields follow it through their parent. Per thread, because two requests in two threads must not rebind
    one field under each other (gthread workers).

    Only for serializers whose fields nobody changes per instance: no ``self.fields[name].required = ...``
    in ``__init__`` (adding or removing a whole field on ``self.fields`` is fine: each instance gets its own
    mapping).
    """

    _built: threading.local

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._built = threading.local()

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        built = getattr(self._built, "fields", None)
        if built is None:
            built = super().get_fields()  # type: ignore[misc]  # DRF's deep copy, once
            self._built.fields = built
        for field in built.values():
            # bind() derives the source from the field's name and refuses a source equal to it: back to what
            # was declared, so binding to the next serializer derives it again.
            field.source = field._kwargs.get("source")
        return dict(built)
