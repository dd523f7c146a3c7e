"""The admin login: a username is locked at an address after N wrong passwords
(django-axes), and wrong passwords count against the address like any failed credential."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture(autouse=True)
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    # Each sign-in checks a password: a cheap hash keeps these many sign-ins quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return 3


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user("operator", password=PASSWORD, is_staff=True,
                                                 is_superuser=True)


def sign_in(client: Client, password: str, username: str = "operator"):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})


def assert_login_page_refusal(response, words: str):
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    page = response.content.decode()
    assert 'id="login-form"' in page
    assert 'id="login-refused"' in page and words in page
    assert "_auth_user_id" not in response.wsgi_request.session


def test_wrong_passwords_below_the_limit_show_the_usual_error(client, operator, limit):
    for _ in range(limit - 1):
        response = sign_in(client, "wrong")
        assert response.status_code == 200
        assert b"Please enter the correct username and password" in response.content

    assert sign_in(client, PASSWORD).status_code == 302


def test_the_nth_wrong_password_locks_the_username_at_that_address(client, operator, limit):
    for _ in range(limit - 1):
        sign_in(client, "wrong")

    locked = sign_in(client, "wrong")
    with_the_right_password = sign_in(client, PASSWORD)

    assert_login_page_refusal(locked, "This account is locked after 3 wrong passwords")
    assert "Try again in 15 minutes" in locked.content.decode()
    assert_login_page_refusal(with_the_right_password, "This account is locked")


def test_the_lock_holds_neither_another_address_nor_another_username(
        client, operator, django_user_model, limit):
    django_user_model.objects.create_user("support", password=PASSWORD, is_staff=True)
    for _ in range(limit):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 429

    elsewhere = sign_in(Client(REMOTE_ADDR="192.0.2.90"), PASSWORD)
    other_user = sign_in(Client(), PASSWORD, username="support")

    assert elsewhere.status_code == 302
    assert other_user.status_code == 302


def test_the_lock_lifts_after_the_cool_off(client, operator, settings, limit):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    for _ in range(limit):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 429

    time.sleep(1.2)

    assert sign_in(client, PASSWORD).status_code == 302


def test_an_operator_lifts_the_lock_with_axes_reset(client, operator, limit):
    for _ in range(limit):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 429

    call_command("axes_reset")

    assert sign_in(client, PASSWORD).status_code == 302


def test_a_successful_login_starts_the_count_afresh(client, operator, limit):
    for _ in range(limit - 1):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 302
    client.logout()

    for _ in range(limit - 1):
        assert sign_in(client, "wrong").status_code == 200
    assert sign_in(client, PASSWORD).status_code == 302
    client.logout()

    for _ in range(limit):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 429


def test_wrong_passwords_count_against_the_address_across_usernames(
        client, operator, settings, environment, make_key):
    settings.CREDENTIAL_FAILURE_LIMIT = 3
    for username in ("admin", "root", "operator"):
        assert sign_in(client, "guess", username=username).status_code == 200

    login = sign_in(client, PASSWORD)
    _, secret = make_key(environment)
    api = Client().get("/api/v1/assets", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert_login_page_refusal(login, "Too many failed sign-ins")
    assert api.status_code == 429
    assert api.json()["code"] == "too_many_failed_credentials"
