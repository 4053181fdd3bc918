"""`make run` loads the demo data once and prints a staff login that really signs in."""

import pytest
from django.core.management import CommandError, call_command

from grasshopper.demo.services import DEMO_STAFF_EMAIL, DEMO_STAFF_PASSWORD


@pytest.mark.django_db
def test_demo_setup_creates_a_staff_login_once_and_prints_it(settings, client, capsys) -> None:
    settings.DEBUG = True
    call_command("demo_setup")
    first = capsys.readouterr().out
    call_command("demo_setup")
    second = capsys.readouterr().out

    assert DEMO_STAFF_EMAIL in first
    assert DEMO_STAFF_PASSWORD in first
    assert "created" in first
    assert "already there" in second

    response = client.post("/accounts/login/", {"login": DEMO_STAFF_EMAIL, "password": DEMO_STAFF_PASSWORD})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_demo_setup_refuses_to_run_without_debug(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="development only"):
        call_command("demo_setup")


def test_favicon_redirects_to_the_static_icon(client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")
