"""Factories for the accounts app (factory_boy)."""

from typing import Any

import factory
from allauth.account.models import EmailAddress

from accounts.models import User

PASSWORD = "Correct-Horse-7394"


class UserFactory(factory.django.DjangoModelFactory):
    """An account with a usable password (``PASSWORD``) and no verified address: it cannot sign in yet."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        kwargs.setdefault("password", PASSWORD)
        return model_class.objects.create_user(*args, **kwargs)


class VerifiedUserFactory(UserFactory):
    """An account whose address allauth has verified: it can sign in with ``PASSWORD``."""

    @factory.post_generation
    def verified_email(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            EmailAddress.objects.create(user=obj, email=obj.email, primary=True, verified=True)


class SuperuserFactory(VerifiedUserFactory):
    is_staff = True
    is_superuser = True
