"""Factories for sites and staff users."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group

from trialsite import protocol
from trialsite.models import Site, User
from trialsite.roles import Role

PASSWORD = "correct-horse-battery"


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Hospital {o.code}")
    name_zh = factory.LazyAttribute(lambda o: protocol.SITE_NAMES_ZH.get(o.code, ""))
    city = "Beijing"


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user: ``UserFactory(role=Role.COORDINATOR, sites=[site])``."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.LazyAttribute(lambda o: o.username.title())
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create: bool, role: Role | None, **kwargs) -> None:
        if create and role is not None:
            self.groups.add(Group.objects.get(name=role.group_name))

    @factory.post_generation
    def sites(self, create: bool, sites, **kwargs) -> None:
        if create and sites:
            self.sites.set(sites)
        if create:
            self.save()
