"""factory-boy factories. They create through the services, so test data is made the way the
product makes it (roles as groups, hashed agent keys)."""

from __future__ import annotations

import factory

from apps.accounts import services
from apps.accounts.models import AgentKey, User

PASSWORD = "correct horse battery staple 42"


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user with one role and (by default) a confirmed TOTP device."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    role = "reviewer"
    totp = True

    @classmethod
    def _create(cls, model_class, *args, username, role, totp, **kwargs):
        user = services.user_create(username=username, password=PASSWORD, role=role)
        if totp:
            services.totp_device_create(user=user, confirmed=True)
        return user


class AgentKeyFactory(factory.django.DjangoModelFactory):
    """An agent key; the raw key (shown once in the product) is kept on ``.raw_key``."""

    class Meta:
        model = AgentKey

    name = factory.Sequence(lambda n: f"agent-{n}")
    scopes = ("decide",)

    @classmethod
    def _create(cls, model_class, *args, name, scopes, **kwargs):
        issued = services.agent_key_create(name=name, scopes=list(scopes), **kwargs)
        issued.key.raw_key = issued.raw_key
        return issued.key
