"""Demo data for keywords: our short code 567, keyword ABC with the sample handler and a
personal link, JOIN (once per number), a broker to try from a browser, and a week of texts."""

from __future__ import annotations

import random
import secrets
from datetime import timedelta

from django.utils import timezone

from keywords.models import BrokerProvider, Dispatch, Keyword, Number
from sms.backends import InboundData
from sms.models import InboundMessage, OutboundMessage, State, StatusChange
from sms.receiving import store_inbound

#: After the messaging core's and the replies' demos (load_demo sorts by ORDER, default 0).
ORDER = 5
SENDERS = [f"+4479111{n:05d}" for n in range(30, 60)]


def load(stdout) -> None:
    if Keyword.objects.exists():
        stdout.write("keywords: demo keywords already present, skipped")
        return
    short_code = Number.objects.create(number="567", name="Shop short code", kind=Number.Kind.SHORT_CODE)
    abc = Keyword(
        word="ABC",
        description="Scratch-card codes: ABC.<code> books the prize",
        handler="keywords.handlers_demo.book_reward",
        reply_template="Claim it here: {link}",
        link_view="keywords.handlers_demo.purchase",
        reply_type_slug="misc",
    )
    join = Keyword(
        word="JOIN",
        description="Join the club (once per number)",
        reply_template="Welcome to the club, {name}!",
        per_contact_limit=1,
    )
    for keyword in (abc, join):
        keyword.full_clean()
        keyword.save()
    abc.numbers.set([short_code])
    secret = secrets.token_urlsafe(18)
    broker = BrokerProvider(name="Demo broker", slug="demo")
    broker.set_secret(secret)
    broker.save()
    texts = _texts(random.Random(10))
    stdout.write(
        f"keywords: number 567, keywords ABC and JOIN, {texts} texts. Try the broker endpoint: "
        f"/sms/notification/demo/?origin=447911100001&text=ABC.UNICORN&destination=567&secret={secret}"
    )


def _texts(rng: random.Random) -> int:
    now = timezone.now()
    count = 0
    for day in range(7):
        for _ in range(rng.randint(2, 6)):
            text = rng.choice(["ABC.UNICORN", "abc dragon", "ABC:UNICORN", "ABC.WHATEVER", "Join", "JOIN!"])
            when = now - timedelta(days=day, minutes=rng.randint(0, 600))
            data = InboundData(
                sender=rng.choice(SENDERS),
                recipient="567",
                content=text,
                external_id=f"demo-kw-{count}",
                received_at=when,
            )
            last = OutboundMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            message, _ = store_inbound("simulated", data)
            InboundMessage.objects.filter(pk=message.pk).update(received_at=when)
            Dispatch.objects.filter(message=message).update(at=when)
            _settle(OutboundMessage.objects.filter(pk__gt=last, state=State.WAITING), when)
            count += 1
    return count


def _settle(answers, when) -> None:
    """The answers the texts got went out and arrived within a minute (the demo's history)."""
    from modems.models import SimCard

    # Through the demo's gateway account, as every other demo text: its counts are its texts.
    sim = SimCard.objects.filter(backend="simulated", active=True).order_by("pk").first()
    for answer in answers:
        answer.set_state(
            State.SENT,
            at=when + timedelta(seconds=5),
            sent_at=when + timedelta(seconds=5),
            backend="simulated",
            sim=sim,
        )
        answer.mark_delivered(at=when + timedelta(seconds=40), note="Simulated")
        OutboundMessage.objects.filter(pk=answer.pk).update(created_at=when)
        StatusChange.objects.filter(message=answer, state=State.WAITING).update(at=when)
