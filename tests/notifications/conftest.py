import pytest

from tests.support.fake_twilio import FakeTwilio


@pytest.fixture
def fake_twilio(settings, monkeypatch):
    """The real twilio SDK, answered by a local fake of Twilio's API in a thread."""
    # Nothing may leave the machine: no proxy for the fake, and no Twilio edge or region.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    with FakeTwilio() as fake:
        for name, value in fake.settings().items():
            setattr(settings, name, value)
        yield fake
