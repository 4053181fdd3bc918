"""The Django admin for users: email is the identity, no username anywhere."""

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import PASSWORD, SuperuserFactory, UserFactory, VerifiedUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_() -> Client:
    client = Client()
    client.force_login(SuperuserFactory(email="boss@example.com"))
    return client


def test_user_list_shows_and_searches_users(admin_client_: Client) -> None:
    VerifiedUserFactory(email="verified@example.com", full_name="Vera Fied")
    UserFactory(email="pending@example.com", full_name="Penny Ding")
    url = reverse("admin:accounts_user_changelist")

    response = admin_client_.get(url)

    assert response.status_code == 200
    content = response.content.decode()
    assert "verified@example.com" in content
    assert "pending@example.com" in content
    assert "username" not in content.lower()
    found = admin_client_.get(url, {"q": "Penny"}).content.decode()
    assert "pending@example.com" in found
    assert "verified@example.com" not in found
    unverified = response.context["cl"].result_list.get(email="pending@example.com")
    assert unverified.has_verified_email is False


def test_user_list_query_count_does_not_grow_with_users(
    admin_client_: Client, django_assert_max_num_queries: Any
) -> None:
    url = reverse("admin:accounts_user_changelist")
    VerifiedUserFactory.create_batch(2)
    with django_assert_max_num_queries(20) as few:
        admin_client_.get(url)
    VerifiedUserFactory.create_batch(10)

    with django_assert_max_num_queries(len(few)):
        assert admin_client_.get(url).status_code == 200


def test_add_user_page_asks_for_email_and_password(admin_client_: Client) -> None:
    response = admin_client_.get(reverse("admin:accounts_user_add"))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert {"email", "full_name", "password1", "password2"} <= set(form.fields)
    assert "username" not in form.fields


def test_add_user_creates_an_account_with_an_unverified_address(admin_client_: Client) -> None:
    response = admin_client_.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "  New.Staff@Example.com ",
            "full_name": "New Staff",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    user = User.objects.get(email="new.staff@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:accounts_user_change", args=[user.pk])
    assert user.check_password(PASSWORD)
    assert user.full_name == "New Staff"
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.primary, address.verified) == ("new.staff@example.com", True, False)


def test_add_user_refuses_an_address_taken_in_another_case(admin_client_: Client) -> None:
    UserFactory(email="a@x.com")

    response = admin_client_.post(
        reverse("admin:accounts_user_add"),
        {"email": "A@x.com", "usable_password": "true", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.errors["email"])
    assert User.objects.filter(email__iexact="a@x.com").count() == 1


def test_change_page_works_and_keeps_the_address_read_only(admin_client_: Client) -> None:
    user = VerifiedUserFactory(email="member@example.com")
    url = reverse("admin:accounts_user_change", args=[user.pk])

    response = admin_client_.get(url)

    assert response.status_code == 200
    assert "email" not in response.context["adminform"].form.fields
    response = admin_client_.post(
        url,
        {
            "email": "hijack@example.com",
            "full_name": "Renamed Member",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "emailaddress_set-TOTAL_FORMS": "1",
            "emailaddress_set-INITIAL_FORMS": "1",
            "emailaddress_set-MIN_NUM_FORMS": "0",
            "emailaddress_set-MAX_NUM_FORMS": "1000",
            "emailaddress_set-0-id": str(EmailAddress.objects.get(user=user).pk),
            "emailaddress_set-0-user": str(user.pk),
            "emailaddress_set-0-verified": "on",
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    user.refresh_from_db()
    assert (user.email, user.full_name) == ("member@example.com", "Renamed Member")


def test_admin_sign_in_goes_through_the_site_login() -> None:
    response = Client().get(reverse("admin:login"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login") + "?next=")


def test_non_staff_cannot_use_the_admin() -> None:
    client = Client()
    client.force_login(VerifiedUserFactory())

    assert client.get(reverse("admin:login")).status_code == 403
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 302
