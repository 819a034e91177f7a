import pytest

from links.tests import targets


@pytest.fixture(autouse=True)
def _no_target_calls():
    targets.calls.clear()
    yield
    targets.calls.clear()
