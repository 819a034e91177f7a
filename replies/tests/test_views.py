"""Every replies page: denial for anonymous and non-staff users, what staff see, pinned queries."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from replies.classifier import train
from replies.models import ClassifierModel, Label, Reply, ReplyType
from replies.testing import ensure_reply_types, label_texts, receive
from sms.models import ConsentEvent, Contact, OutboundMessage, State
from sms.testing import assert_staff_only, create_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact():
    receive("hello there", sender="+447911123001")
    return Contact.objects.get(number="+447911123001")


def _urls(contact_pk=1, message_pk=1, type_pk=1):
    return [
        ("get", reverse("replies:index")),
        ("post", reverse("replies:bulk")),
        ("post", reverse("replies:set_type", args=[message_pk])),
        ("get", reverse("replies:conversation", args=[contact_pk])),
        ("post", reverse("replies:conversation_send", args=[contact_pk])),
        ("get", reverse("replies:types")),
        ("get", reverse("replies:type_new")),
        ("get", reverse("replies:type_edit", args=[type_pk])),
        ("post", reverse("replies:type_delete", args=[type_pk])),
        ("get", reverse("replies:consent")),
        ("get", reverse("replies:classifier")),
        ("post", reverse("replies:retrain")),
    ]


def test_every_page_and_write_is_staff_only_and_changes_nothing(client, plain_user, contact):
    urls = _urls(contact.pk, contact.inbound.get().pk, ReplyType.objects.first().pk)
    assert len(urls) == 12
    assert_staff_only(client, plain_user, urls)
    assert ReplyType.objects.count() == 4 and not ClassifierModel.objects.exists()


def _inbox_rows(n):
    campaign = Campaign.objects.create(name="Spring")
    for i in range(n):
        number = f"+4479111230{i:02d}"
        create_message(number, "Sale!", campaign=campaign)
        receive(f"what time {i}?", sender=number)


def test_inbox_query_count_is_pinned(staff_client, django_assert_num_queries):
    _inbox_rows(3)
    staff_client.get("/replies/")  # warm caches (content types, session)
    with django_assert_num_queries(8):
        small = staff_client.get("/replies/")
    _inbox_rows_more = 20
    for i in range(_inbox_rows_more):
        receive(f"more {i}", sender=f"+4479111231{i:02d}")
    with django_assert_num_queries(8):
        big = staff_client.get("/replies/")
    assert small.status_code == big.status_code == 200
    assert big.content.count(b"data-pk=") == 23


def test_inbox_filters(staff_client):
    _inbox_rows(2)
    receive("thanks a lot", sender="+447911000111")
    thanks = ReplyType.objects.get(slug="thanks")
    message = Reply.objects.get(message__content="thanks a lot")
    Reply.objects.filter(pk=message.pk).update(reply_type=thanks, needs_review=False)
    spring = Campaign.objects.get()

    def rows(**params):
        return staff_client.get("/replies/", params).content.count(b"data-pk=")

    assert rows() == 3
    assert rows(reply_type=thanks.pk) == 1
    assert rows(reply_type="null") == 2
    assert rows(needs_review="true") == 2
    assert rows(campaign=spring.pk) == 2
    assert rows(q="time 1") == 1
    assert rows(number="000111") == 1
    assert rows(received_from="2000-01-01", received_to="2999-01-01") == 3


def test_bulk_set_type_labels_each_text_as_staff(staff_client, staff_user):
    _inbox_rows(3)
    ids = list(Reply.objects.values_list("pk", flat=True)[:2])
    misc = ReplyType.objects.get(slug="misc")
    response = staff_client.post("/replies/bulk/", {"ids": ids, "reply_type": misc.pk})
    assert response.status_code == 302
    assert set(Reply.objects.filter(pk__in=ids).values_list("reply_type__slug", "source", "needs_review")) == {
        ("misc", "staff", False)
    }
    assert Label.objects.filter(source="staff", by=staff_user).count() == 2
    assert Reply.objects.filter(needs_review=True).count() == 1


def test_set_type_returns_the_new_cell(staff_client):
    message = receive("cheers")
    response = staff_client.post(
        f"/replies/{message.pk}/type/", {"reply_type": ReplyType.objects.get(slug="thanks").pk}
    )
    assert response.json()["ok"] and "Thanks" in response.json()["cell"]
    assert staff_client.post(f"/replies/{message.pk}/type/", {"reply_type": 999}).status_code == 400


def test_conversation_shows_every_text_oldest_first_with_campaign_and_state(staff_client, contact):
    campaign = Campaign.objects.create(name="Spring sale")
    create_message(contact.number, "Spring is here", campaign=campaign)
    receive("STOP", sender=contact.number)
    page = staff_client.get(f"/replies/contacts/{contact.pk}/").content.decode()
    order = [page.index(t) for t in ("hello there", "Spring is here", "STOP", "unsubscribed")]
    assert order == sorted(order)
    assert "Spring sale" in page and "Refused" in page and 'id="opted-out"' in page


def test_conversation_shows_the_label_history_of_a_corrected_text(staff_client, contact, staff_user):
    from replies.sorting import categorise

    message = contact.inbound.get()
    categorise(reply=message.reply, reply_type=ReplyType.objects.get(slug="misc"), source="classifier", confidence=0.81)
    categorise(reply=message.reply, reply_type=ReplyType.objects.get(slug="thanks"), source="staff", by=staff_user)
    page = staff_client.get(f"/replies/contacts/{contact.pk}/").content.decode()
    assert "Misc (Classifier 0.81)" in page and "Thanks (Staff, staff)" in page


def test_conversation_query_count_is_pinned(staff_client, contact, django_assert_num_queries):
    for i in range(5):
        create_message(contact.number, f"out {i}")
        receive(f"in {i}", sender=contact.number)
    staff_client.get(f"/replies/contacts/{contact.pk}/")
    # 8: the seven of the page plus the staff "End" waiting on this contact (its Undo banner).
    with django_assert_num_queries(8):
        staff_client.get(f"/replies/contacts/{contact.pk}/")


def test_reply_box_sends_through_sms_api(staff_client, contact):
    staff_client.post(f"/replies/contacts/{contact.pk}/send/", {"content": "See you at 10"})
    assert OutboundMessage.objects.get(tag="manual").content == "See you at 10"


def test_reply_box_to_an_opted_out_contact_is_refused_and_says_so(staff_client, contact):
    receive("stop", sender=contact.number)
    response = staff_client.post(f"/replies/contacts/{contact.pk}/send/", {"content": "Please come back"}, follow=True)
    assert "Not sent" in response.content.decode()
    assert OutboundMessage.objects.get(tag="manual").state == State.REFUSED


def test_reply_type_crud(staff_client):
    response = staff_client.post(
        "/replies/types/new/",
        {"name": "Wrong number", "slug": "wrong-number", "colour": "#ff0000", "action": "none", "ordering": 50},
    )
    assert response.status_code == 302
    created = ReplyType.objects.get(slug="wrong-number")
    assert not created.allows_followup  # unchecked box
    staff_client.post(
        f"/replies/types/{created.pk}/",
        {
            "name": "Wrong no.",
            "slug": "wrong-number",
            "colour": "#ff0000",
            "action": "none",
            "ordering": 50,
            "allows_followup": "on",
            "auto_reply_text": "{greeting}, sorry!",
        },
    )
    created.refresh_from_db()
    assert created.name == "Wrong no." and created.allows_followup
    assert "Wrong no." in staff_client.get("/replies/types/").content.decode()
    staff_client.post(f"/replies/types/{created.pk}/delete/")
    assert not ReplyType.objects.filter(slug="wrong-number").exists()


def test_seeded_types():
    rows = list(ReplyType.objects.values_list("slug", "action", "allows_followup"))
    assert rows == [("thanks", "none", True), ("end", "opt_out", False), ("bot", "none", False), ("misc", "none", True)]


def test_staff_record_an_opt_out_received_by_phone(staff_client, staff_user):
    create_message("+447911123555", "Queued promo")
    response = staff_client.post(
        "/replies/consent/",
        {"number": "07911 123555", "kind": "opt_out", "channel": "phone", "evidence": "Called 10:02, asked to stop"},
    )
    contact = Contact.objects.get(number="+447911123555")
    assert response.status_code == 302 and contact.is_opted_out
    event = ConsentEvent.objects.get(number=contact.number)
    assert (event.source, event.recorded_by, event.evidence) == ("phone", staff_user, "Called 10:02, asked to stop")
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {State.REFUSED}  # no confirmation asked


def test_staff_record_fresh_consent_with_evidence(staff_client):
    receive("STOP", sender="+447911123556")
    staff_client.post(
        "/replies/consent/",
        {"number": "+447911123556", "kind": "opt_in", "channel": "email", "evidence": "E-mail of 3 May: please add me"},
    )
    assert not Contact.objects.get(number="+447911123556").is_opted_out


def test_consent_form_needs_evidence_and_a_valid_number(staff_client):
    response = staff_client.post("/replies/consent/", {"number": "12", "kind": "opt_out", "channel": "phone"})
    assert response.status_code == 200 and not ConsentEvent.objects.exists()


def test_classifier_page_without_a_model(staff_client):
    page = staff_client.get("/replies/classifier/").content.decode()
    assert "No classifier yet" in page


def test_classifier_page_shows_metrics_counts_and_picture(staff_client, settings):
    label_texts(20)
    row = train(algorithms=("logreg",), folds=3)
    settings.REPLIES_CONFIDENCE_THRESHOLD = 0.0
    receive("thank you so much")
    page = staff_client.get("/replies/classifier/").content.decode()
    assert f"Classifier v{row.version}" in page and f"{row.metrics['accuracy']:.3f}" in page
    assert "Sorted automatically by the classifier: <strong>1</strong>" in page
    # The confusion matrix, inline from the shared chart module, with its figures as a table.
    svg = page[page.index('<div class="mb-3" style="max-width: 480px" id="confusion">') :]
    assert svg.index("<svg") < svg.index("</svg>") and "thanks" in svg[: svg.index("</svg>")]
    assert f"<caption>Confusion matrix of v{row.version}</caption>" in svg


def test_classifier_page_query_count_is_pinned(staff_client, django_assert_num_queries):
    label_texts(20)
    train(algorithms=("logreg",), folds=3)
    train(algorithms=("logreg",), folds=3)
    staff_client.get("/replies/classifier/")
    with django_assert_num_queries(8):
        staff_client.get("/replies/classifier/")


@pytest.mark.django_db(transaction=True)
def test_retrain_button_trains_in_the_background(staff_client):
    from replies import training

    ensure_reply_types()
    label_texts(12)
    response = staff_client.post("/replies/classifier/retrain/")
    assert response.status_code == 302
    for thread in __import__("threading").enumerate():
        if thread.name == "replies-train":
            thread.join(timeout=60)
    assert not training._running.is_set()
    assert ClassifierModel.objects.get().status == "ready"


def test_campaign_reply_counts_by_type():
    campaign = Campaign.objects.create(name="Spring")
    for number in ("+447911123010", "+447911123011", "+447911123012"):
        create_message(number, "Sale!", campaign=campaign)
    receive("STOP", sender="+447911123010")
    receive("stop", sender="+447911123011")
    receive("hello?", sender="+447911123012")
    receive("STOP", sender="+447911123013")  # not a reply to this campaign
    counts = {row["reply_type__slug"]: row["n"] for row in Reply.objects.counts_by_type(campaign=campaign)}
    assert counts == {"end": 2, None: 1}


def test_inbox_filters_by_our_number(staff_client):
    receive("to the first SIM", recipient="+447911000001")
    receive("to the second SIM", recipient="+447911000002")
    page = staff_client.get("/replies/", {"our_number": "000002"}).content.decode()
    assert "to the second SIM" in page and "to the first SIM" not in page


@pytest.mark.parametrize("text", ["Hi {name!x}", "Hi {0}", "Hi {first_name}", "Hi {name"])
def test_auto_reply_text_only_takes_name_and_greeting(staff_client, text):
    data = {"name": "Odd", "slug": "odd", "colour": "#ff0000", "action": "none", "ordering": 5, "auto_reply_text": text}
    assert staff_client.post("/replies/types/new/", data).status_code == 200
    assert not ReplyType.objects.filter(slug="odd").exists()


def test_type_list_query_count_is_pinned(staff_client, django_assert_num_queries):
    staff_client.get("/replies/types/")
    for i in range(5):
        ReplyType.objects.create(name=f"Extra {i}", slug=f"extra-{i}")
    with django_assert_num_queries(3):
        assert staff_client.get("/replies/types/").content.count(b"/delete/") == 9


def test_numbers_without_followup_follow_the_latest_reply():
    from replies.sorting import categorise

    types = {t.slug: t for t in ReplyType.objects.all()}
    a, b, c = "+447911123020", "+447911123021", "+447911123022"
    for number, slugs in ((a, ["thanks", "bot"]), (b, ["bot", "misc"]), (c, ["thanks"])):
        for slug in slugs:
            message = receive(f"text {slug}", sender=number)
            categorise(reply=message.reply, reply_type=types[slug], source="staff")
    receive("unsorted later text", sender=a)  # uncategorised texts do not count
    assert Reply.objects.numbers_without_followup([a, b, c, "+447911123099"]) == {a}


def test_inbox_filters_by_the_campaign_a_reply_answers(staff_client):
    spring = Campaign.objects.create(name="Spring")
    autumn = Campaign.objects.create(name="Autumn")
    create_message("+447911123001", "Spring offer", state=State.SENT, campaign=spring)
    create_message("+447911123002", "Autumn offer", state=State.SENT, campaign=autumn)
    receive("Yes to spring", "+447911123001")
    receive("Yes to autumn", "+447911123002")
    page = staff_client.get(reverse("replies:index"), {"campaign": spring.pk}).content.decode()
    assert "Yes to spring" in page and "Yes to autumn" not in page
    assert f'<option value="{autumn.pk}">Autumn</option>' in page  # every campaign offered
