import pytest

from replies.classifier import _cache


@pytest.fixture(autouse=True)
def _replies_settings(settings):
    settings.REPLIES_RETRAIN_AFTER_LABELS = 0  # tests that want a retrain turn it on
    _cache.clear()
    yield
    _cache.clear()
