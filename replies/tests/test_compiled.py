"""The compiled classifier gives scikit-learn's probabilities on every text of the shipped set."""

import numpy as np
import pytest

from replies import classifier
from replies.compiled import compile_pipeline
from replies.fixtures_gen import load_rows


@pytest.fixture(scope="module")
def shipped():
    rows = load_rows()
    return [t for t, _, _ in rows], [label for _, label, _ in rows]


@pytest.mark.parametrize("algorithm", classifier.ALGORITHMS)
def test_same_probabilities_and_type_as_scikit_learn_on_every_shipped_text(shipped, algorithm):
    texts, labels = shipped
    # Fit on half (fast), predict all: half the texts are unseen, with n-grams out of vocabulary.
    pipeline = classifier.build_pipeline(algorithm).fit(texts[::2], labels[::2])
    fast = compile_pipeline(pipeline)
    assert fast is not None, f"{algorithm} is not compiled: predictions would take the slow path"
    expected = pipeline.predict_proba([*texts, "", "🙂", "zzzzqqq"])
    got = np.array([fast.predict_proba(text) for text in [*texts, "", "🙂", "zzzzqqq"]])
    assert np.allclose(got, expected, rtol=0, atol=1e-9)
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()  # accuracy identical
    assert list(fast.classes_) == list(pipeline.classes_)


@pytest.mark.parametrize("algorithm", classifier.ALGORITHMS)
def test_two_types_only(shipped, algorithm):
    texts, labels = shipped
    kept = [(t, label) for t, label in zip(texts, labels, strict=True) if label in ("end", "thanks")][::3]
    pipeline = classifier.build_pipeline(algorithm).fit([t for t, _ in kept], [label for _, label in kept])
    fast = compile_pipeline(pipeline)
    sample = texts[:500]
    assert np.allclose([fast.predict_proba(t) for t in sample], pipeline.predict_proba(sample), rtol=0, atol=1e-9)


def test_an_unknown_pipeline_is_not_compiled_and_predict_still_works(shipped):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    texts, labels = shipped
    pipeline = Pipeline([("features", CountVectorizer()), ("model", LogisticRegression(max_iter=500))])
    pipeline.fit(texts[:400], labels[:400])
    assert compile_pipeline(pipeline) is None


@pytest.mark.django_db
def test_predict_uses_the_compiled_model_and_agrees_with_the_pipeline():
    from replies.testing import label_texts

    label_texts(30)
    row = classifier.train(algorithms=("logreg",), folds=3)
    prediction = classifier.predict("thanks so much!")
    ((_, pipeline, fast),) = classifier._cache.values()
    assert fast is not None
    proba = pipeline.predict_proba(["thanks so much!"])[0]
    assert prediction.slug == pipeline.classes_[int(np.argmax(proba))]
    assert prediction.confidence == pytest.approx(float(proba.max()), abs=1e-9)
    assert prediction.version == row.version
