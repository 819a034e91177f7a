import pytest

from keywords import testing


@pytest.fixture(autouse=True)
def _clean_handlers():
    testing.reset()
    yield
    testing.reset()
