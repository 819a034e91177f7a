"""Many requests in flight: how ``sms.dispatch`` sends one claimed batch.

Sending is latency-bound (a gateway answers in 20-300 ms and needs almost no CPU of ours), so
one worker keeps many requests open at once: a pool of threads calls the backends'
``publish_message`` (the backend contract: thread-safe, no database access, see
``sms.backends.base``) through pooled HTTP connections, while the dispatcher's own thread does
all the database work. Threads rather than asyncio because every backend (ours, and the ones
other branches write) is synchronous ``requests``/SDK code; the threads release the GIL while
they wait on the socket, and measured at 20 ms (``bench/dispatch_latency.py``) one worker is
CPU-bound on Django and the HTTP client long before the threads cost anything.

Each route of the batch is a *lane*: its texts become *jobs* (one text, or a group of texts
for a batch API such as SMS Broadcast's), at most ``max_in_flight`` of them in flight, started
no faster than the route's shared messages-per-second limit (``sms.ratelimit``). The loop:

1. book rate slots for as many jobs as the lane has free requests;
2. commit ``request_started_at`` for the jobs whose slot has come (one UPDATE), then hand them
   to the threads: a text without that mark provably never left;
3. wait for the first answers; commit their outcomes together with the marks of the jobs
   that take their places (one transaction, so one disk flush, per wake-up).

The dispatcher claims and routes its next batch while the tail of the previous one is still
in flight (``Sender.pump`` returns once every job has *started*; ``Sender.drain`` at the end),
so a route's requests in flight do not drop to zero between batches.

So a worker killed at any instant leaves started-but-unrecorded at most the requests in flight
(``max_in_flight`` per route), and every other claimed text without the mark goes back to the
queue through ``recover_stuck``. Backends that are not thread-safe (modems: one serial line)
are called from the dispatcher's thread, one job at a time, after the threaded lanes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice

from django.conf import settings
from django.db import connection, transaction

from sms import ratelimit
from sms.backends import BackendError, BaseBackend, SendResult
from sms.routing import Route

logger = logging.getLogger(__name__)

#: After the first answers of a wake-up, wait this long for more before committing.
COALESCE_SECONDS = 0.002


@dataclass(eq=False)
class Job:
    lane: Lane
    messages: list
    batch: bool  # publish_messages(messages) rather than publish_message(message)
    cost: int  # units of the route's rate limit (messages, or segments)
    go_at: float = 0.0  # time.monotonic() at which its rate slot opens


class Lane:
    """One route of one batch: its jobs, its rate limit, and what to do with the outcomes.
    Lanes of the same route (consecutive batches) share the route's in-flight count."""

    def __init__(self, route: Route, messages: list, *, record: Callable, give_back: Callable):
        self.route = route
        self.key = route.limiter_key
        backend = route.backend
        self.threaded = bool(backend.thread_safe)
        limit = route.max_in_flight or settings.SMS_SEND_CONCURRENCY
        self.limit = max(int(limit), 1) if self.threaded else 1
        self.rate = float(route.rate or 0)
        self.jobs: deque[Job] = deque(_jobs(self, backend, messages))
        self.booked: deque[Job] = deque()
        self.record = record  # (route, results) -> None: commit outcomes
        self.give_back = give_back  # (messages, note) -> None: requeue texts never started
        self.flights: dict[str, int] = {}  # the sender's, shared by the lanes of one route

    @property
    def in_flight(self) -> int:
        return self.flights.get(self.key, 0)

    def fly(self, delta: int) -> None:
        self.flights[self.key] = self.in_flight + delta

    @property
    def waiting(self) -> bool:
        return bool(self.jobs or self.booked)

    def book(self) -> None:
        """Give rate slots to as many waiting jobs as the route has free requests."""
        wanted = self.limit - self.in_flight - len(self.booked)
        if wanted <= 0 or not self.jobs:
            return
        jobs = list(islice(self.jobs, wanted))
        if self.rate > 0:  # booked before they leave the queue: a limiter error loses none
            delay = ratelimit.reserve(self.key, self.rate, sum(job.cost for job in jobs))
            at = time.monotonic() + delay
            for job in jobs:
                job.go_at = at
                at += job.cost / self.rate
        for _ in jobs:
            self.booked.append(self.jobs.popleft())

    def startable(self, now: float, capacity: int) -> list[Job]:
        ready = []
        while self.booked and self.booked[0].go_at <= now and self.in_flight < self.limit and capacity > len(ready):
            job = self.booked[0]
            if self.rate > 0 and now > job.go_at + max(job.cost / self.rate, 0.01):
                # The loop was busy past this slot: starting now would bunch it with the next
                # ones (over the limit from the gateway's side). Book these jobs again.
                late = list(self.booked)
                self.booked.clear()
                self.jobs.extendleft(reversed(late))
                break
            ready.append(self.booked.popleft())
            self.fly(+1)
        return ready

    def next_slot(self) -> float | None:
        return self.booked[0].go_at if self.booked and self.in_flight < self.limit else None

    def safe_book(self) -> None:
        try:
            self.book()
        except Exception as exc:
            logger.exception("Rate limiter unreachable for route %s", self.key)
            waiting = [m for job in self.jobs for m in job.messages]
            self.jobs.clear()
            self.give_back(waiting, f"Rate limiter unreachable ({exc.__class__.__name__}); waiting to be sent")


def _jobs(lane: Lane, backend: BaseBackend, messages: list):
    cost = (lambda group: sum(max(m.segments, 1) for m in group)) if backend.counts_segments else len
    size = int(backend.max_batch_size or 1)
    legacy = size <= 1 and type(backend).publish_messages is not BaseBackend.publish_messages
    if legacy:  # a batch API that predates max_batch_size: the whole group in one call
        yield Job(lane, list(messages), True, cost(messages))
        return
    if size <= 1:
        for message in messages:
            yield Job(lane, [message], False, cost([message]))
        return
    groups: dict = {}
    for message in messages:
        groups.setdefault(backend.batch_key(message), []).append(message)
    for group in groups.values():
        for start in range(0, len(group), size):
            chunk = group[start : start + size]
            yield Job(lane, chunk, True, cost(chunk))


def call(job: Job) -> list[SendResult]:
    """Run one job against its backend (in a sending thread). Never raises an Exception:
    failures become results. A BaseException (the process being stopped) goes through."""
    backend = job.lane.route.backend
    try:
        if job.batch:
            return list(backend.publish_messages(job.messages))
        return [backend.publish_message(job.messages[0])]
    except BackendError as exc:  # one text, or a batch API failing as a whole
        return [SendResult(message=m, error=exc) for m in job.messages]
    except Exception as exc:  # a bug or an unexpected library error: never lose the texts
        logger.exception("Backend %s crashed while sending %d message(s)", backend.slug, len(job.messages))
        error = BackendError(f"Backend crashed: {exc!r}")
        return [SendResult(message=m, error=error) for m in job.messages]


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The worker process's sending threads (created on first use, so after a fork)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=settings.SMS_SEND_THREADS, thread_name_prefix="sms-send")
        return _executor


def _commit_mode() -> None:
    """``SMS_SEND_SYNCHRONOUS_COMMIT = False``: this transaction does not wait for PostgreSQL's
    disk flush. A killed worker loses nothing either way (the commit is in the server); only a
    crash of PostgreSQL itself within a fraction of a second could lose request marks, and a
    text whose mark was lost would be queued again by recovery. Only in our own transaction."""
    if settings.SMS_SEND_SYNCHRONOUS_COMMIT or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


class Sender:
    """Sends the jobs of the lanes it is given, batch after batch.

    ``mark_started(jobs)`` commits the request marks and returns the jobs still ours; it is
    called in the same transaction as the ``record`` calls for the answers that freed the
    slots. A BaseException raised by a backend (the process being stopped) stops the sender
    with nothing more committed.
    """

    def __init__(self, *, mark_started: Callable[[list[Job]], list[Job]]):
        self.mark_started = mark_started
        self.lanes: list[Lane] = []
        self.flights: dict[str, int] = {}
        self.running: dict[Future, Job] = {}
        self.capacity = int(settings.SMS_SEND_THREADS)

    def add(self, lanes: list[Lane]) -> None:
        for lane in lanes:
            lane.flights = self.flights
        self.lanes.extend(lanes)

    def pump(self) -> None:
        """Run until every job has started (the caller may then claim its next batch)."""
        self._loop(lambda: any(lane.waiting for lane in self.lanes if lane.threaded))
        self._run_serial()

    def drain(self) -> None:
        """Run until every job has its outcome recorded."""
        self._loop(lambda: bool(self.running) or any(lane.waiting for lane in self.lanes if lane.threaded))
        self._run_serial()

    def _loop(self, more: Callable[[], bool]) -> None:
        finished: dict[Lane, list[SendResult]] = defaultdict(list)
        while more() or finished:
            threaded = [lane for lane in self.lanes if lane.threaded]
            now = time.monotonic()
            ready: list[Job] = []
            for lane in threaded:
                lane.safe_book()
                ready.extend(lane.startable(now, self.capacity - len(self.running) - len(ready)))
            kept: list[Job] = []
            if ready or finished:
                outermost = not connection.in_atomic_block
                with transaction.atomic():  # outcomes and the next marks: one commit
                    if outermost:
                        _commit_mode()
                    for lane, results in finished.items():
                        lane.record(lane.route, results)
                    kept = self.mark_started(ready) if ready else []
                finished = defaultdict(list)
            for job in ready:
                if job not in kept:
                    job.lane.fly(-1)
            if kept:
                pool = executor()
                for job in kept:
                    self.running[pool.submit(call, job)] = job
            self.lanes = [lane for lane in self.lanes if lane.waiting or not lane.threaded]
            if not more():
                break
            slots = [slot for lane in threaded if (slot := lane.next_slot()) is not None]
            timeout = max(min(slots) - time.monotonic(), 0.0) if slots else None
            if self.running:
                done, pending = wait(list(self.running), timeout=timeout, return_when=FIRST_COMPLETED)
                if done and pending and len(done) * 4 < len(self.running):
                    # A few answers in: give the next ones a moment, so one commit records
                    # several (the commit, not the wait, is what costs).
                    also, _ = wait(pending, timeout=COALESCE_SECONDS, return_when=ALL_COMPLETED)
                    done |= also
            else:
                if timeout:
                    time.sleep(timeout)
                done = set()
            for future in done:
                job = self.running.pop(future)
                job.lane.fly(-1)
                finished[job.lane].extend(future.result())  # a BaseException stops the dispatcher

    def _run_serial(self) -> None:
        """Backends that are not thread-safe: from this thread, one job at a time."""
        for lane in [lane for lane in self.lanes if not lane.threaded]:
            while lane.waiting:
                lane.safe_book()
                if not lane.booked:
                    continue
                job = lane.booked.popleft()
                time.sleep(max(job.go_at - time.monotonic(), 0.0))
                if self.mark_started([job]):
                    lane.record(lane.route, call(job))
        self.lanes = [lane for lane in self.lanes if lane.threaded]
