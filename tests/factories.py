from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import Membership, Organization, User
from contacts.models import Contact, InviteMethod
from notifications.models import Notification
from sessions_app.models import Participant, Session

PASSWORD = "correct-horse-battery"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.Sequence(lambda n: f"practice-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Sequence(lambda n: f"User {n}")
    time_zone = "Europe/London"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def persist_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def member(*, role: str, organization: Organization | None = None, **user_fields) -> User:
    user = UserFactory(**user_fields)
    Membership.objects.create(user=user, organization=organization or OrganizationFactory(), role=role)
    return user


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.Sequence(lambda n: f"contact{n}@example.test")
    time_zone = "Europe/Paris"


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    host = None
    organization = factory.LazyAttribute(lambda o: o.host.organization)
    title = "Consultation"
    start_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    duration_minutes = 50
    end_at = factory.LazyAttribute(lambda o: o.start_at + timedelta(minutes=o.duration_minutes))


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    session = None
    name = factory.Sequence(lambda n: f"Participant {n}")
    invite_method = InviteMethod.EMAIL
    email = factory.Sequence(lambda n: f"participant{n}@example.test")
    time_zone = "Europe/Paris"


def sessions_with_invites(
    host: User, count: int, *, start, first: int = 0, participants: int = 3, status: str
):
    """`count` sessions of `host` an hour apart from `start`, titled "Session <n>" from `first`, each with
    `participants` participants whose email invite is in `status`."""
    made = []
    for index in range(first, first + count):
        session = SessionFactory(host=host, start_at=start + timedelta(hours=index), title=f"Session {index}")
        for _ in range(participants):
            participant = ParticipantFactory(session=session)
            Notification.objects.create(
                organization=session.organization,
                session=session,
                participant=participant,
                kind="invite",
                channel="email",
                recipient=participant.email,
                dedupe_key=f"test:{participant.pk}",
                status=status,
            )
        made.append(session)
    return made
