"""Training, versioning, cold start, and safe loading of the classifier."""

import json
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from replies import classifier
from replies.classifier import predict, train
from replies.models import ClassifierModel, Reply, ReplyType, Source
from replies.testing import ensure_reply_types, label_texts, receive

pytestmark = pytest.mark.django_db


def test_cold_start_abstains_and_says_why():
    label_texts(3)
    row = train()
    assert row.status == ClassifierModel.Status.ABSTAINED
    assert "too few labels" in row.note.lower() and "bot 3" in row.note
    prediction = predict("thanks")
    assert prediction.slug is None and "fewer than two reply types" in prediction.reason
    reply = Reply.objects.get(message=receive("thanks a lot"))
    assert reply.needs_review and "fewer than two" in reply.note


def test_types_short_of_labels_are_left_out_and_named(settings):
    settings.REPLIES_MIN_LABELS_PER_TYPE = 10
    label_texts(12)
    Reply.objects.filter(reply_type__slug="bot").exclude(
        pk__in=list(Reply.objects.filter(reply_type__slug="bot").values_list("pk", flat=True)[:4])
    ).delete()
    row = train(algorithms=("logreg",), folds=3)
    assert row.status == "ready" and "bot 4" in row.note
    assert row.metrics["classes"] == ["end", "misc", "thanks"]


def test_train_saves_a_versioned_model_with_metrics():
    label_texts(30)
    first = train(algorithms=("logreg", "complementnb"), folds=3)
    second = train(algorithms=("logreg",), folds=3)
    assert (first.version, second.version) == (1, 2)
    assert ClassifierModel.current() == second
    m = first.metrics
    for key in ("accuracy", "macro_f1", "per_class", "confusion_matrix", "training_size", "seconds", "candidates"):
        assert key in m
    assert set(m["candidates"]) == {"logreg", "complementnb"} and first.algorithm in m["candidates"]
    assert m["training_size"] == 120 and len(m["confusion_matrix"]) == 4
    assert 0.5 < m["accuracy"] <= 1 and set(m["per_class"]["end"]) >= {"precision", "recall"}
    path = Path(django_settings.MEDIA_ROOT) / first.path
    assert path.exists() and first.path.startswith("classifier/")
    assert json.loads(path.with_suffix(".json").read_text())["macro_f1"] == m["macro_f1"]


def test_only_staff_and_keyword_labels_train_never_the_models_own_guesses():
    label_texts(12)
    Reply.objects.filter(reply_type__slug="misc").update(source=Source.CLASSIFIER)
    texts, labels = classifier.training_data()
    assert "misc" not in labels and len(texts) == 36


@pytest.fixture
def model():
    label_texts(30)
    return train(algorithms=("logreg",), folds=3)


def test_predictions_name_a_type_and_a_probability(model):
    prediction = predict("thank you very much!")
    assert prediction.slug == "thanks" and 0 < prediction.confidence <= 1 and prediction.version == model.version


def test_missing_model_file_means_review_not_an_error(model):
    (Path(django_settings.MEDIA_ROOT) / model.path).unlink()
    prediction = predict("thanks")
    assert prediction.slug is None and "missing or unreadable" in prediction.reason
    reply = Reply.objects.get(message=receive("thanks"))
    assert reply.needs_review and reply.reply_type is None


def test_corrupt_model_file_means_review_not_an_error(model):
    (Path(django_settings.MEDIA_ROOT) / model.path).write_bytes(b"not a pickle at all")
    assert predict("thanks").slug is None


def test_tampered_model_file_fails_its_checksum(model):
    import joblib

    path = Path(django_settings.MEDIA_ROOT) / model.path
    joblib.dump({"pipeline": "something else"}, path)
    classifier._cache.clear()
    assert predict("thanks").slug is None


def test_two_trainings_never_overlap():
    import fcntl

    label_texts(12)
    directory = classifier.model_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "train.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(classifier.TrainingBusy):
            train()
    assert not ClassifierModel.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_enough_new_staff_labels_retrain_in_the_background(settings, staff_user):
    from replies import training
    from replies.sorting import categorise

    settings.REPLIES_RETRAIN_AFTER_LABELS = 3
    ensure_reply_types()
    label_texts(12)
    messages = [receive(f"thanks number {i}") for i in range(3)]
    thanks = ReplyType.objects.get(slug="thanks")
    started = []
    original = training.start_background_training

    def spy():
        thread = original()
        started.append(thread)
        return thread

    training.start_background_training = spy
    try:
        for message in messages:
            categorise(reply=message.reply, reply_type=thanks, source=Source.STAFF, by=staff_user)
    finally:
        training.start_background_training = original
    assert started and started[0] is not None
    started[0].join(timeout=60)
    row = ClassifierModel.objects.get()
    assert row.status == "ready" and row.staff_labels == 3
    assert training.new_staff_labels() == 0
