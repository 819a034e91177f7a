"""The router's view of numbers, keywords and standard words, kept in process memory.

The router runs in every webhook request, so it must not query the tables each time. Each
process keeps one snapshot; a save or delete of any keyword table bumps a generation counter
in Django's cache (shared between processes when ``CACHE_URL`` or a Redis broker is set) and
every process reloads on its next text. Without a shared cache, other processes reload within
``KEYWORDS_CACHE_SECONDS``.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.core.signals import setting_changed
from django.db.models.signals import m2m_changed, post_delete, post_save

GENERATION_KEY = "keywords:generation"


@dataclass
class Snapshot:
    standard: object  # keywords.models.StandardWords
    word_sets: dict[str, frozenset[str]]
    numbers: dict[str, object] = field(default_factory=dict)  # canonical number -> Number
    keywords: dict[str, object] = field(default_factory=dict)  # word -> Keyword (with .number_ids)
    by_id: dict[int, object] = field(default_factory=dict)

    @property
    def has_numbers(self) -> bool:
        return bool(self.numbers)


_lock = threading.Lock()
_local: dict = {"snapshot": None, "generation": None, "loaded": 0.0}


def _load() -> Snapshot:
    from keywords.models import Keyword, Number, StandardWords

    standard = StandardWords.load_uncached()
    snapshot = Snapshot(standard=standard, word_sets=standard.word_sets())
    for number in Number.objects.all():
        snapshot.numbers[number.number] = number
    for keyword in Keyword.objects.prefetch_related("numbers"):
        keyword.number_ids = frozenset(n.pk for n in keyword.numbers.all())
        snapshot.keywords[keyword.word] = keyword
        snapshot.by_id[keyword.pk] = keyword
    return snapshot


def snapshot() -> Snapshot:
    generation = shared_cache.get(GENERATION_KEY)
    now = time.monotonic()
    current = _local["snapshot"]
    if (
        current is not None
        and generation == _local["generation"]
        and now - _local["loaded"] < settings.KEYWORDS_CACHE_SECONDS
    ):
        return current
    with _lock:
        fresh = _load()
        _local.update(snapshot=fresh, generation=generation, loaded=now)
    return fresh


def clear() -> None:
    """Forget the snapshot here and in every process sharing the cache."""
    shared_cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
    _local.update(snapshot=None, generation=None, loaded=0.0)


def _changed(sender, **kwargs):
    clear()


def _setting_changed(setting, **kwargs):
    if setting.startswith(("REPLIES_", "KEYWORDS_")):
        clear()


def connect_signals() -> None:
    from keywords.models import Keyword, Number, StandardWords

    for model in (Keyword, Number, StandardWords):
        post_save.connect(_changed, sender=model, dispatch_uid=f"keywords-cache-save-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"keywords-cache-delete-{model.__name__}")
    m2m_changed.connect(_changed, sender=Keyword.numbers.through, dispatch_uid="keywords-cache-m2m")
    setting_changed.connect(_setting_changed, dispatch_uid="keywords-cache-settings")
