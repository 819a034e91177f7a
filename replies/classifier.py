"""The reply classifier: word + character n-gram TF-IDF and a linear model, chosen by
cross-validation among a few candidates, saved as versioned files under MEDIA_ROOT/classifier/.

The pure functions (``build_pipeline``, ``cross_validate``, ``select``) know nothing of the
database, so ``bench/classifier.py`` uses them on the shipped data set. ``train`` and
``predict`` are the Django side: labels from the database in, a ClassifierModel row out; a
prediction from the newest ready model, or an abstention with its reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings

logger = logging.getLogger(__name__)

ALGORITHMS = ("logreg", "linearsvc", "complementnb")


def _features():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    # Words catch meaning ("remove me", "thank you"); character n-grams inside word boundaries
    # catch typos, elongations ("stoppp"), other languages' stems and emoji.
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(lowercase=True, ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            (
                "chars",
                TfidfVectorizer(lowercase=True, analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
            ),
        ]
    )


def build_pipeline(algorithm: str):
    """An unfitted scikit-learn pipeline for ``algorithm`` (one of ALGORITHMS)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import ComplementNB
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    if algorithm == "logreg":
        model = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")
    elif algorithm == "linearsvc":
        # LinearSVC has no probabilities; calibration gives the confidence the threshold needs.
        model = CalibratedClassifierCV(LinearSVC(C=0.5, class_weight="balanced"), cv=3)
    elif algorithm == "complementnb":
        model = ComplementNB(alpha=0.3)
    else:
        raise ValueError(f"Unknown algorithm {algorithm!r}; choose from {', '.join(ALGORITHMS)}")
    return Pipeline([("features", _features()), ("model", model)])


def metrics_for(y_true, y_pred, classes: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)), 4),
        "classes": classes,
        "per_class": {
            c: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(s),
            }
            for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=classes).tolist(),
    }


def cross_validate(
    texts: list[str], labels: list[str], *, algorithm: str, folds: int = 5, seed: int = 0, groups=None
) -> dict:
    """Stratified k-fold predictions for every text, scored as a whole. With ``groups`` no group
    is split between training and test folds (StratifiedGroupKFold)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_predict

    classes = sorted(set(labels))
    started = time.perf_counter()
    splitter = (
        StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        if groups is not None
        else StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    )
    predicted = cross_val_predict(
        build_pipeline(algorithm),
        np.array(texts, dtype=object),
        np.array(labels),
        cv=splitter,
        groups=groups,
    )
    result = metrics_for(labels, list(predicted), classes)
    result["algorithm"] = algorithm
    result["folds"] = folds
    result["cv_seconds"] = round(time.perf_counter() - started, 3)
    return result


@dataclass
class Selection:
    algorithm: str
    pipeline: object
    metrics: dict
    candidates: dict[str, dict] = field(default_factory=dict)
    fit_seconds: float = 0.0


def select(
    texts: list[str],
    labels: list[str],
    *,
    algorithms=ALGORITHMS,
    folds: int = 5,
    progress: Callable[[str], None] | None = None,
) -> Selection:
    """Cross-validate each candidate, keep the best macro-F1 (ties: accuracy, then list order),
    and fit it on all the texts. Macro-F1, because the rare types (Bot, End) matter as much as
    the common one."""
    candidates = {}
    for algorithm in algorithms:
        candidates[algorithm] = cross_validate(texts, labels, algorithm=algorithm, folds=folds)
        if progress:
            m = candidates[algorithm]
            progress(f"{algorithm}: accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f} ({m['cv_seconds']}s)")
    best = max(algorithms, key=lambda a: (candidates[a]["macro_f1"], candidates[a]["accuracy"], -algorithms.index(a)))
    started = time.perf_counter()
    pipeline = build_pipeline(best).fit(np.array(texts, dtype=object), np.array(labels))
    return Selection(
        algorithm=best,
        pipeline=pipeline,
        metrics=candidates[best],
        candidates={a: {k: candidates[a][k] for k in ("accuracy", "macro_f1", "cv_seconds")} for a in algorithms},
        fit_seconds=time.perf_counter() - started,
    )


# --- Django side ----------------------------------------------------------------------------


class TrainingBusy(RuntimeError):
    """Another training run holds the lock."""


@dataclass
class Prediction:
    slug: str | None  # the top reply type, or None when the classifier abstains
    confidence: float = 0.0
    reason: str = ""  # why it abstained (no model, unreadable model file...)
    version: int | None = None


def model_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "classifier"


def training_data() -> tuple[list[str], list[str]]:
    """Texts and type slugs labelled by staff or by a keyword (never the classifier's own guesses)."""
    from replies.models import Reply, Source

    rows = (
        Reply.objects.filter(source__in=[Source.STAFF, Source.KEYWORD], reply_type__isnull=False)
        .order_by("pk")
        .values_list("message__content", "reply_type__slug")
    )
    texts, labels = [], []
    for text, slug in rows:
        if text and text.strip():
            texts.append(text)
            labels.append(slug)
    return texts, labels


def cold_start(labels: list[str], minimum: int) -> tuple[set[str], str]:
    """The types with enough labels to learn, and a sentence about the ones without."""
    counts = Counter(labels)
    enough = {slug for slug, n in counts.items() if n >= minimum}
    short = {slug: n for slug, n in counts.items() if n < minimum}
    note = ""
    if short:
        note = f"Too few labels to learn (need {minimum}): " + ", ".join(f"{s} {n}" for s, n in sorted(short.items()))
    return enough, note


_train_lock = threading.Lock()


def train(*, progress: Callable[[str], None] | None = None, algorithms=ALGORITHMS, folds: int = 5):
    """Fit, cross-validate and save a new version. Returns its ClassifierModel row (READY, or
    ABSTAINED with the reason). Raises TrainingBusy if another run holds the lock."""
    import fcntl

    directory = model_dir()
    directory.mkdir(parents=True, exist_ok=True)
    if not _train_lock.acquire(blocking=False):
        raise TrainingBusy("A training run is already under way in this process")
    try:
        with open(directory / "train.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise TrainingBusy("A training run is already under way") from None
            return _train_locked(directory, progress=progress or (lambda _: None), algorithms=algorithms, folds=folds)
    finally:
        _train_lock.release()


def _next_version() -> int:
    from replies.models import ClassifierModel

    last = ClassifierModel.objects.order_by("-version").values_list("version", flat=True).first()
    return (last or 0) + 1


def _train_locked(directory: Path, *, progress, algorithms, folds):
    import joblib
    import sklearn

    from replies.models import ClassifierModel, Label, Source

    started = time.perf_counter()
    staff_labels = Label.objects.filter(source=Source.STAFF).count()
    texts, labels = training_data()
    progress(f"{len(texts)} labelled texts: " + ", ".join(f"{s} {n}" for s, n in sorted(Counter(labels).items())))
    minimum = max(settings.REPLIES_MIN_LABELS_PER_TYPE, 2)
    enough, note = cold_start(labels, minimum)
    if len(enough) < 2:
        note = "Abstained: fewer than two reply types have enough labels. " + (note or "No labels yet.")
        progress(note)
        return ClassifierModel.objects.create(
            version=_next_version(),
            status=ClassifierModel.Status.ABSTAINED,
            training_size=len(texts),
            staff_labels=staff_labels,
            note=note,
            seconds=time.perf_counter() - started,
        )
    if note:
        progress(note + " (left out of this model)")
    kept = [(t, lab) for t, lab in zip(texts, labels, strict=True) if lab in enough]
    texts, labels = [t for t, _ in kept], [lab for _, lab in kept]
    folds = max(2, min(folds, min(Counter(labels).values())))
    selection = select(texts, labels, algorithms=tuple(algorithms), folds=folds, progress=progress)
    version = _next_version()
    relative = f"classifier/v{version:04d}.joblib"
    path = Path(settings.MEDIA_ROOT) / relative
    joblib.dump({"pipeline": selection.pipeline, "version": version, "sklearn": sklearn.__version__}, path)
    seconds = time.perf_counter() - started
    metrics = {
        **selection.metrics,
        "candidates": selection.candidates,
        "training_size": len(texts),
        "fit_seconds": round(selection.fit_seconds, 3),
        "seconds": round(seconds, 3),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "sklearn": sklearn.__version__,
        "left_out": note,
    }
    (directory / f"v{version:04d}.json").write_text(json.dumps(metrics, indent=2))
    row = ClassifierModel.objects.create(
        version=version,
        status=ClassifierModel.Status.READY,
        path=relative,
        algorithm=selection.algorithm,
        training_size=len(texts),
        staff_labels=staff_labels,
        seconds=seconds,
        metrics=metrics,
        note=note,
    )
    progress(
        f"v{version}: {selection.algorithm}, accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}"
    )
    return row


#: path -> (mtime, fitted pipeline, its compiled form or None): a model file is read and
#: compiled once per process, not once per text.
_cache: dict[str, tuple[float, object, object]] = {}


def load(row) -> object | None:
    """The fitted pipeline of ``row``; None (logged) if its file is missing, altered or unreadable."""
    loaded = _load(row)
    return loaded[0] if loaded else None


def _load(row) -> tuple[object, object] | None:
    """(pipeline, compiled predictor or None) of ``row``, cached while its file is unchanged."""
    import joblib

    from replies.compiled import compile_pipeline

    path = Path(settings.MEDIA_ROOT) / row.path
    try:
        mtime = path.stat().st_mtime
        cached = _cache.get(str(path))
        if cached and cached[0] == mtime:
            return cached[1], cached[2]
        data = path.read_bytes()
        expected = (row.metrics or {}).get("sha256")
        if expected and hashlib.sha256(data).hexdigest() != expected:
            raise ValueError("checksum mismatch")
        pipeline = joblib.load(path)["pipeline"]
    except Exception as exc:
        logger.warning("Classifier v%s unusable (%s): %s", row.version, path, exc)
        return None
    try:
        fast = compile_pipeline(pipeline)
    except Exception as exc:  # an unexpected fitted shape: the pipeline itself still works
        logger.warning("Classifier v%s not compiled (%s): using scikit-learn directly", row.version, exc)
        fast = None
    _cache.clear()
    _cache[str(path)] = (mtime, pipeline, fast)
    return pipeline, fast


def predict(text: str) -> Prediction:
    """The newest ready model's top reply type and its probability, or an abstention."""
    from replies.models import ClassifierModel

    row = ClassifierModel.current()
    if row is None:
        latest = ClassifierModel.objects.order_by("-version").first()
        reason = latest.note if latest else "No classifier trained yet"
        return Prediction(slug=None, reason=reason[:300])
    loaded = _load(row)
    if loaded is None:
        return Prediction(
            slug=None, reason=f"Classifier v{row.version} file is missing or unreadable", version=row.version
        )
    pipeline, fast = loaded
    try:
        # The compiled form gives the same probabilities ~20x faster (replies/compiled.py).
        probabilities = fast.predict_proba(text or "") if fast else pipeline.predict_proba([text or ""])[0]
    except Exception as exc:  # a model from an incompatible scikit-learn, say
        logger.warning("Classifier v%s failed to predict: %s", row.version, exc)
        return Prediction(slug=None, reason=f"Classifier v{row.version} failed: {exc}"[:300], version=row.version)
    best = int(np.argmax(probabilities))
    return Prediction(slug=str(pipeline.classes_[best]), confidence=float(probabilities[best]), version=row.version)
