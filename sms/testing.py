"""Test helpers shared by every app's tests (``create_message()`` and friends)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from sms.models import Contact, InboundMessage, OutboundMessage, State, StatusChange
from sms.queueing import build_message, queue_messages

T = TypeVar("T")


def create_message(recipient: str = "+447911123001", content: str = "Hello", **fields) -> OutboundMessage:
    """A queued message, stored exactly as sms.api.send would store it."""
    state = fields.pop("state", None)
    (message,) = queue_messages([build_message(recipient, content, **fields)])
    if state:
        OutboundMessage.objects.filter(pk=message.pk).update(state=state)
        StatusChange.objects.create(message=message, state=state)
        message.refresh_from_db()
    return message


def create_inbound(sender: str = "+447911123001", content: str = "Thanks", **fields) -> InboundMessage:
    fields.setdefault("backend", "locmem")
    fields.setdefault("external_id", f"test-{InboundMessage.objects.count() + 1}")
    return InboundMessage.objects.create(sender=sender, content=content, **fields)


def create_contact(number: str = "+447911123001", **fields) -> Contact:
    return Contact.objects.create(number=number, **fields)


__all__ = ["State", "create_contact", "create_inbound", "create_message"]


def assert_staff_only(client, plain_user, requests: Iterable[tuple[str, str]], data: dict | None = None) -> None:
    """Each ``(method, url)`` sends anonymous users to the login page and refuses ``plain_user``
    (logged in, not staff) with 403. Callers then assert that nothing changed."""
    requests = list(requests)
    client.logout()
    for method, url in requests:
        response = getattr(client, method)(url, data or {})
        assert response.status_code == 302 and response["Location"].startswith("/login/"), (method, url)
    client.force_login(plain_user)
    for method, url in requests:
        assert getattr(client, method)(url, data or {}).status_code == 403, (method, url)
    client.logout()


def run_concurrently(target: Callable[[], T], n: int) -> list[T]:
    """Run ``target`` in ``n`` threads released together (a barrier), each with its own database
    connection (closed after); return the results, having asserted that none raised."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(n)
    results: list[T] = []
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [], errors
    return results
