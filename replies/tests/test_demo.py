import io

import pytest

from replies import demo
from replies.models import ClassifierModel, Label, Reply

pytestmark = pytest.mark.django_db


def test_demo_labels_trains_and_sorts_once():
    out = io.StringIO()
    demo.load(out)
    assert Label.objects.filter(source="staff").count() == 160
    assert ClassifierModel.objects.get().status == "ready"  # one training, not one per 50 labels
    assert Reply.objects.filter(source="classifier").exists()
    demo.load(out)
    assert "skipped" in out.getvalue() and ClassifierModel.objects.count() == 1
