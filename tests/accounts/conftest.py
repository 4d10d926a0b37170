import pytest

from accounts.models import Membership
from tests.factories import member


@pytest.fixture
def admin(organization):
    return member(role=Membership.Role.ADMIN, organization=organization, full_name="Morgan Admin")
