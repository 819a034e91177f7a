"""A messages-per-second limit per route that holds across every worker on every machine.

The limiter hands out *slots*: ``reserve(key, rate, units)`` books ``units`` messages (or
segments) on route ``key`` and answers how many seconds to wait before the first of them may
start; the next ones follow at ``1 / rate`` intervals. Each booking moves the route's shared
"next free slot" forward atomically, so however many dispatchers book at once, the starts
they are given never come closer together than the rate allows (a virtual-schedule limiter,
GCRA without burst: an idle route does not save up a burst).

The shared state lives in Redis when the default cache is Redis (``CACHE_URL``): one Lua
script, one round trip, Redis's own clock, so the machines' clocks need not agree. Without
Redis (SQLite, or no cache) it lives in the database (``sms.RateBucket``): one row per route,
booked under a row lock; then the workers' clocks must agree (NTP), as they must for
``recover_stuck`` anyway. ``SMS_RATE_LIMIT_STORE`` forces one or the other.

A slot booked by a worker that dies is simply lost: the limiter can under-use a route, never
over-use it. ``sms.dispatch`` books only as many slots as it has free requests, so it books
at most ``max_in_flight / rate`` seconds ahead.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection, transaction

REDIS_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(free, now)
redis.call('SET', KEYS[1], string.format('%.6f', start + tonumber(ARGV[1])), 'PX', ARGV[2])
return string.format('%.6f', start - now)
"""


def reserve(key: str, rate: float, units: int = 1) -> float:
    """Book ``units`` on route ``key`` limited to ``rate`` units per second.

    Returns the seconds to wait before the first booked unit may start (0 when it may start
    now); unit ``i`` of the booking starts ``i / rate`` seconds after the first.
    """
    if not rate or rate <= 0 or units <= 0:
        return 0.0
    interval = units / rate
    if _store() == "redis":
        return _reserve_redis(key, interval)
    return _reserve_database(key, interval)


def _store() -> str:
    wanted = settings.SMS_RATE_LIMIT_STORE
    if wanted in ("redis", "database"):
        return wanted
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    return "redis" if backend.endswith("RedisCache") else "database"


def _reserve_redis(key: str, interval: float) -> float:
    from django.core.cache import cache

    full_key = cache.make_and_validate_key(f"sms:rate:{key}")
    client = cache._cache.get_client(full_key, write=True)
    expire_ms = int((interval + 60) * 1000)
    return max(float(client.eval(REDIS_SCRIPT, 1, full_key, repr(interval), expire_ms)), 0.0)


def _reserve_database(key: str, interval: float) -> float:
    from sms.models import RateBucket

    RateBucket.objects.bulk_create([RateBucket(key=key)], ignore_conflicts=True)
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # A booking lost in a database crash costs nothing that matters (a slot): do not
            # wait for the disk. Only in our own transaction: never for a caller's writes.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        bucket = RateBucket.objects.select_for_update().get(key=key)
        now = time.time()
        start = max(bucket.next_free_at, now)
        RateBucket.objects.filter(pk=bucket.pk).update(next_free_at=start + interval)
    return start - now


def reset(key: str) -> None:
    """Forget a route's bookings (tests, benchmarks)."""
    from django.core.cache import cache

    from sms.models import RateBucket

    RateBucket.objects.filter(key=key).delete()
    if _store() == "redis":
        cache.delete(f"sms:rate:{key}")
