"""Reply classifier benchmark on the shipped labelled set (replies/fixtures/sms_replies.csv).

    python bench/classifier.py [--folds 5] [--latency-texts 1000]

Prints, for the same stratified folds: a majority-class baseline, a keyword-only baseline (the
deterministic STOP-words check, everything else the majority class), and each candidate model
(LogisticRegression, calibrated LinearSVC, ComplementNB over word + char n-gram TF-IDF), with
accuracy, macro-F1 and cross-validation time; then the chosen model's training time on the full
set and its classification latency per text (one text at a time, as the inbound pipeline does).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "texting.settings")

import django  # noqa: E402

django.setup()

from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold  # noqa: E402

from keywords.models import StandardWords  # noqa: E402
from keywords.parsing import whole_word  # noqa: E402
from replies import classifier, compiled  # noqa: E402
from replies.fixtures_gen import load_rows  # noqa: E402

STOP_WORDS = StandardWords.from_settings().word_sets()["stop"]  # the environment's, no database


def is_stop(text: str) -> bool:
    """The router's opt-out check (keywords.routing.decide, step 1) without its cache."""
    return whole_word(text) in STOP_WORDS


def baseline(texts, labels, folds, *, use_keywords: bool, groups=None) -> dict:
    predicted = [None] * len(texts)
    splitter = (
        StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=0)
        if groups is not None
        else StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    )
    for train_idx, test_idx in splitter.split(texts, labels, groups):
        majority = Counter(labels[i] for i in train_idx).most_common(1)[0][0]
        for i in test_idx:
            hit = use_keywords and is_stop(texts[i])
            predicted[i] = "end" if hit else majority
    classes = sorted(set(labels))
    return classifier.metrics_for(labels, predicted, classes)


def operating_point(texts, labels, folds, *, algorithm: str, groups=None) -> str:
    """What the thresholds do with cross-validated probabilities: how much is sorted without a
    person, how often that is wrong, and how many people a wrong "End" would opt out."""
    import numpy as np
    from django.conf import settings
    from sklearn.model_selection import cross_val_predict

    splitter = (
        StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=0)
        if groups is not None
        else StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    )
    pipeline = classifier.build_pipeline(algorithm)
    proba = cross_val_predict(
        pipeline, np.array(texts, dtype=object), np.array(labels), cv=splitter, groups=groups, method="predict_proba"
    )
    classes = sorted(set(labels))
    general, opt_out = settings.REPLIES_CONFIDENCE_THRESHOLD, settings.REPLIES_OPT_OUT_CONFIDENCE_THRESHOLD
    auto = right = wrong_end = 0
    for row, truth, text in zip(proba, labels, texts, strict=True):
        if is_stop(text):
            auto += 1
            right += truth == "end"
            wrong_end += truth != "end"
            continue
        best = int(np.argmax(row))
        predicted, confidence = classes[best], row[best]
        if confidence >= (opt_out if predicted == "end" else general):
            auto += 1
            right += predicted == truth
            wrong_end += predicted == "end" and truth != "end"
    n = len(texts)
    return (
        f"    with keywords first and thresholds {general} / {opt_out} (End): {auto / n:.1%} sorted without a person, "
        f"{right / max(auto, 1):.1%} of those right; {wrong_end} of {n} texts ({wrong_end / n:.2%}) would wrongly opt out"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--latency-texts", type=int, default=1000)
    args = parser.parse_args()

    rows = load_rows()
    texts = [t for t, _, _ in rows]
    labels = [label for _, label, _ in rows]
    phrases = [p for _, _, p in rows]
    print(f"Data set: {len(texts)} texts, " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(labels).items())))
    print(f"{len(set(phrases))} source phrasings, each seen with typos/case/emoji variations\n")

    chosen_by_split = {}
    for split, groups in (("A. random stratified folds", None), ("B. unseen phrasings (grouped folds)", phrases)):
        print(f"{split}: {args.folds}-fold cross-validation, the same folds for every row")
        print(f"  {'model':<34} {'accuracy':>9} {'macro-F1':>9} {'CV time':>9}")
        results = {}
        for name, use_kw in (("majority class", False), ("keyword only (STOP words)", True)):
            started = time.perf_counter()
            results[name] = baseline(texts, labels, args.folds, use_keywords=use_kw, groups=groups)
            r = results[name]
            print(f"  {name:<34} {r['accuracy']:>9.3f} {r['macro_f1']:>9.3f} {time.perf_counter() - started:>8.2f}s")
        for algorithm in classifier.ALGORITHMS:
            m = classifier.cross_validate(texts, labels, algorithm=algorithm, folds=args.folds, groups=groups)
            results[algorithm] = m
            print(
                f"  {'TF-IDF + ' + algorithm:<34} {m['accuracy']:>9.3f} {m['macro_f1']:>9.3f} {m['cv_seconds']:>8.2f}s"
            )
        best = max(classifier.ALGORITHMS, key=lambda a: (results[a]["macro_f1"], results[a]["accuracy"]))
        chosen = results[best]
        chosen_by_split[split] = best
        print(f"  chosen by macro-F1: {best}")
        for cls in chosen["classes"]:
            pc = chosen["per_class"][cls]
            print(f"    {cls:<7} precision {pc['precision']:.3f}  recall {pc['recall']:.3f}  (n={pc['support']})")
        print("    confusion matrix (rows true, columns predicted):", chosen["classes"])
        for cls, row in zip(chosen["classes"], chosen["confusion_matrix"], strict=True):
            print(f"      {cls:<7} {row}")
        ratios = (
            chosen["macro_f1"] / results["majority class"]["macro_f1"],
            chosen["macro_f1"] / results["keyword only (STOP words)"]["macro_f1"],
        )
        print(f"    macro-F1 ratio vs majority class: {ratios[0]:.2f}x, vs keyword only: {ratios[1]:.2f}x")
        print(operating_point(texts, labels, args.folds, algorithm=best, groups=groups) + "\n")

    best = chosen_by_split["B. unseen phrasings (grouped folds)"]
    started = time.perf_counter()
    pipeline = classifier.build_pipeline(best).fit(texts, labels)
    train_seconds = time.perf_counter() - started
    print(f"\nTraining {best} on all {len(texts)} texts: {train_seconds:.2f}s")

    sample = texts[: args.latency_texts]
    fast = compiled.compile_pipeline(pipeline)  # what classifier.predict uses (replies/compiled.py)
    expected = pipeline.predict_proba(texts)
    got = [fast.predict_proba(text) for text in texts]
    same = sum(int(a.argmax() == b.argmax()) for a, b in zip(expected, got, strict=True))
    worst = max(float(abs(a - b).max()) for a, b in zip(expected, got, strict=True))
    print(f"Compiled predictor: same type on {same}/{len(texts)} texts, largest probability difference {worst:.1e}")

    def latency(classify) -> tuple[float, float]:
        for text in sample[:20]:  # warm-up
            classify(text)
        times = []
        for text in sample:
            t0 = time.perf_counter()
            classify(text)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]

    base_p50, base_p99 = latency(lambda text: pipeline.predict_proba([text]))
    p50, p99 = latency(fast.predict_proba)
    kw_p50, _ = latency(is_stop)
    print(f"Classification latency per text ({len(sample)} texts, one at a time, as the inbound pipeline does):")
    print(f"  scikit-learn pipeline.predict_proba (baseline): median {base_p50:.3f} ms, p99 {base_p99:.3f} ms")
    print(
        f"  compiled (classifier.predict's path):           median {p50:.3f} ms, p99 {p99:.3f} ms "
        f"(p99 {base_p99 / p99:.1f}x faster; target p99 < 2 ms: {'met' if p99 < 2 else 'NOT met'})"
    )
    print(f"  keyword check: median {kw_p50 * 1000:.1f} µs")


if __name__ == "__main__":
    main()
