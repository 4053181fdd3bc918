"""grasshopper.lib.api.serializers: fields built once per thread, bound to each serializer in turn."""

from __future__ import annotations

import threading
from typing import Any
from unittest import mock

from rest_framework import serializers

from grasshopper.lib.api.serializers import FieldsBuiltOnceMixin


class _Stamped(serializers.CharField):
    """Reads the context of the serializer being validated, through its parents (``root``)."""

    def to_internal_value(self, data: Any) -> str:
        return f"{super().to_internal_value(data)}-{self.context['stamp']}"


class _Line(serializers.Serializer):
    n = serializers.IntegerField(min_value=1)
    tag = _Stamped(required=False)


class _Input(FieldsBuiltOnceMixin, serializers.Serializer):
    lines = _Line(many=True, allow_empty=False)
    name = _Stamped(max_length=5, required=False)
    nick = serializers.CharField(source="nickname", required=False)

    def validate_name(self, value: str) -> str:
        if value.startswith("bad"):
            raise serializers.ValidationError("Not that name.", code="bad_name")
        return value


def test_each_serializer_validates_its_own_data_with_its_own_context() -> None:
    first = _Input(data={"lines": [{"n": 1, "tag": "a"}], "name": "ana", "nick": "A"}, context={"stamp": 1})
    assert first.is_valid(), first.errors
    refused = _Input(data={"lines": [{"n": 0}], "name": "bad"}, context={"stamp": 2})
    assert not refused.is_valid()
    second = _Input(data={"lines": [{"n": 2, "tag": "b"}, {"n": 3}], "name": "bo"}, context={"stamp": 3})
    assert second.is_valid(), second.errors

    assert first.validated_data == {"lines": [{"n": 1, "tag": "a-1"}], "name": "ana-1", "nickname": "A"}
    assert second.validated_data == {"lines": [{"n": 2, "tag": "b-3"}, {"n": 3}], "name": "bo-3"}
    assert {name: [e.code for e in errors] for name, errors in refused.errors.items() if name != "lines"} == {
        "name": ["bad_name"]
    }
    assert [e.code for e in refused.errors["lines"][0]["n"]] == ["min_value"]
    # Taking a field away from one serializer leaves the next one whole.
    trimmed = _Input(data={"lines": [{"n": 1}]}, context={"stamp": 4})
    trimmed.fields.pop("nick")
    assert sorted(_Input().fields) == ["lines", "name", "nick"]


def test_the_fields_are_built_once_per_thread() -> None:
    first = _Input().fields["name"]
    with mock.patch("copy.deepcopy", side_effect=AssertionError("copied again")):
        again = _Input(data={"lines": [{"n": 1}], "name": "cy"}, context={"stamp": 5})
        assert again.is_valid(), again.errors
        assert again.fields["name"] is first
    in_other_thread: dict[str, Any] = {}

    def build() -> None:
        in_other_thread["name"] = _Input().fields["name"]

    thread = threading.Thread(target=build)
    thread.start()
    thread.join()
    assert in_other_thread["name"] is not first
