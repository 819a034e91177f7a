import pytest
from django.core.management import call_command

from replies.models import ClassifierModel
from replies.testing import label_texts

pytestmark = pytest.mark.django_db


def test_command_trains_and_prints_progress_and_a_summary(capsys):
    label_texts(20)
    call_command("train_classifier", "--algorithm", "logreg", "--algorithm", "complementnb", "--folds", "3")
    out = capsys.readouterr().out
    assert "80 labelled texts" in out and "logreg: accuracy" in out and "complementnb: accuracy" in out
    assert out.strip().splitlines()[-1].startswith("Classifier v1 ready:")
    assert ClassifierModel.objects.get().status == "ready"


def test_command_reports_an_abstention(capsys):
    call_command("train_classifier")
    assert "abstained" in capsys.readouterr().out.strip().splitlines()[-1]
