"""Writes to accounts data (HackSoft style: keyword-only, typed, one function per use case).

Sign-up, email verification, login and password reset are django-allauth's flows (configured in the
settings, customised in ``accounts.adapters``); the functions here are the writes our own code makes.
"""

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction

from accounts.exceptions import EmailAlreadyRegistered
from accounts.models import User
from accounts.selectors import user_get_by_email, user_normalize_email


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    full_name: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
) -> User:
    """Create an account for ``email`` (staff adding someone in the admin, scripts, tests).

    ``password=None`` leaves the account without a usable password: its owner sets one through the
    password-reset email. The address is recorded as allauth's primary, *unverified* ``EmailAddress``, so
    the first sign-in asks its owner to confirm it, as for anyone who signed up.
    """
    email = user_normalize_email(email=email)
    if user_get_by_email(email=email) is not None:
        raise EmailAlreadyRegistered()
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email,
                password=password,
                full_name=full_name.strip(),
                is_staff=is_staff or is_superuser,
                is_superuser=is_superuser,
            )
    except IntegrityError as error:
        # Someone registered the same address between the check and the insert: the database said no.
        raise EmailAlreadyRegistered() from error
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    return user
