"""The user model and the accounts services: email is the identity, unique whatever its case."""

import pytest
from django.db import IntegrityError, transaction

from accounts.exceptions import EmailAlreadyRegistered
from accounts.models import User
from accounts.selectors import user_get_by_email
from accounts.services import user_create

pytestmark = pytest.mark.django_db


def test_email_is_unique_whatever_its_case_through_the_manager() -> None:
    User.objects.create_user(email="a@x.com", password=None)

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(email="A@x.com", password=None)


def test_email_is_unique_whatever_its_case_in_the_database() -> None:
    User.objects.create(email="a@x.com")

    # Bypassing the manager's lower-casing: the functional unique index still says no.
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="A@x.com")


def test_user_create_refuses_a_taken_address_in_another_case() -> None:
    user_create(email="a@x.com", password=None)

    with pytest.raises(EmailAlreadyRegistered) as refused:
        user_create(email="A@X.com", password="Some-Password-123")

    assert refused.value.code == "email_already_registered"
    assert User.objects.count() == 1


def test_user_create_normalises_and_records_the_address() -> None:
    user = user_create(email="  Someone@Example.COM ", password=None, full_name=" Some One ")

    assert user.email == "someone@example.com"
    assert user.full_name == "Some One"
    assert not user.has_usable_password()
    assert user_get_by_email(email="SOMEONE@example.com") == user
    assert user.emailaddress_set.get().email == "someone@example.com"


def test_superusers_are_staff() -> None:
    user = user_create(email="root@example.com", password="Root-Password-123", is_superuser=True)

    assert user.is_staff
    assert user.is_superuser
