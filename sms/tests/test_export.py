"""Exports of every list (``sms.export``): the page's filters applied, spreadsheet-safe cells,
CSV streamed, XLSX readable, the same from ``manage.py export``."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.http import StreamingHttpResponse

from campaigns.models import Campaign, CampaignGroup, Recipient, RejectedRow
from sms.backends import InboundData
from sms.export import cell
from sms.models import ConsentEvent, Contact, OutboundMessage, State
from sms.receiving import store_inbound
from sms.testing import create_message

pytestmark = pytest.mark.django_db


def read_csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff"), "a BOM, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=1+1", "'=1+1"),
        ('+HYPERLINK("http://x")', '\'+HYPERLINK("http://x")'),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("+447911123456", "+447911123456"),  # E.164 cannot run anything: left as it is
        ("Zoë says hi", "Zoë says hi"),
        (None, ""),
        (3, 3),
        (True, "yes"),
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralised(value, shown):
    assert cell(value) == shown


def test_outbound_export_holds_what_the_filtered_list_shows_all_pages(staff_client):
    for i in range(60):
        create_message(f"+4479111230{i:02d}", f"Text {i}", state=State.DELIVERED if i % 2 else State.ERROR)
    create_message("+447911123999", '=HYPERLINK("http://evil")', state=State.DELIVERED)
    rows = read_csv(staff_client.get("/sms/outbound/export/?state=delivered&page=2&format=csv"))
    header, data = rows[0], rows[1:]
    assert header[:6] == ["id", "created", "to", "from", "text", "state"]
    assert len(data) == 31, "every delivered text, not only the page on screen"
    assert {row[5] for row in data} == {"Delivered"}
    assert [row[4] for row in data if row[2] == "+447911123999"] == ['\'=HYPERLINK("http://evil")']


def test_export_query_count_does_not_grow_with_rows(staff_client, django_assert_max_num_queries):
    for i in range(30):
        create_message(f"+4479111230{i:02d}", f"Text {i}")
    with django_assert_max_num_queries(4):
        assert len(read_csv(staff_client.get("/sms/outbound/export/"))) == 31


def test_a_bad_filter_is_a_clear_400_and_an_unknown_format_too(staff_client):
    response = staff_client.get("/sms/outbound/export/?created_after=not-a-date")
    assert response.status_code == 400 and b"Cannot export with these filters" in response.content
    assert staff_client.get("/sms/outbound/export/?format=pdf").status_code == 400


def test_xlsx_export_opens_in_a_spreadsheet(staff_client):
    from openpyxl import load_workbook

    create_message("+447911123001", "Hello Zoë 😊", state=State.SENT)
    response = staff_client.get("/sms/outbound/export/?format=xlsx")
    assert response["Content-Disposition"].startswith('attachment; filename="outbound-')
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("id", "created", "to") and rows[1][2] == "+447911123001"
    assert rows[1][4] == "Hello Zoë 😊" and rows[1][5] == "Sent"


def test_received_contacts_consent_and_replies_exports(staff_client):
    store_inbound("locmem", InboundData(sender="+447911123001", content="Yes please", external_id="a"))
    store_inbound("locmem", InboundData(sender="+447911123002", content="STOP", external_id="b"))
    Contact.objects.filter(number="+447911123001").update(name="Zoë Wiśniewska")
    received = read_csv(staff_client.get("/sms/received/export/?number=123001"))
    assert [row[4] for row in received[1:]] == ["Yes please"]
    contacts = read_csv(staff_client.get("/sms/contacts/export/"))
    assert {row[1]: row[2] for row in contacts[1:]}["+447911123001"] == "Zoë Wiśniewska"
    ledger = read_csv(staff_client.get("/sms/consent/export/?kind=opt_out"))
    assert [(row[2], row[3]) for row in ledger[1:]] == [("+447911123002", "Opt-out (consent withdrawn)")]
    assert ConsentEvent.objects.count() == 1
    replies = read_csv(staff_client.get("/replies/export/"))
    header = replies[0]
    by_text = {row[header.index("text")]: row for row in replies[1:]}
    assert by_text["STOP"][header.index("keyword")] == "stop"


def test_campaign_recipients_with_outcomes_and_rejected_rows(staff_client):
    campaign = Campaign.objects.create(name="Spring")
    group = CampaignGroup.objects.create(campaign=campaign, name="A")
    Recipient.objects.create(campaign=campaign, group=group, number="+447911123001", name="Ann")
    create_message("+447911123001", "Hi Ann", state=State.DELIVERED, campaign=campaign)
    RejectedRow.objects.create(campaign=campaign, group="A", number="0123", reason=RejectedRow.Reason.INVALID_NUMBER)
    rows = read_csv(staff_client.get(f"/campaigns/{campaign.pk}/recipients/export/"))
    header = rows[0]
    assert [(r[header.index("name")], r[header.index("state")]) for r in rows[1:]] == [("Ann", "Delivered")]
    rejected = read_csv(staff_client.get(f"/campaigns/{campaign.pk}/rejected/export/"))
    assert rejected[1][:4] == ["A", "0123", "", "Invalid number"]
    assert staff_client.get("/campaigns/999/recipients/export/").status_code == 404


def test_list_pages_link_to_their_export_with_the_filters(staff_client):
    page = staff_client.get("/sms/outbound/?state=delivered").content.decode()
    assert 'href="/sms/outbound/export/?state=delivered&amp;format=csv"' in page


def test_export_command_writes_a_file_with_filters_and_progress(tmp_path, capsys):
    for i in range(5):
        create_message(f"+4479111230{i:02d}", f"Text {i}", state=State.DELIVERED if i < 3 else State.ERROR)
    path = tmp_path / "sent.csv"
    call_command("export", "outbound", "-o", str(path), "--filter", "state=delivered")
    out = capsys.readouterr().out
    assert f"Done: 3 rows of texts sent written to {path}" in out
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8").lstrip("\ufeff"))))
    assert len(rows) == 4 and OutboundMessage.objects.count() == 5
    call_command("export", "outbound", "-o", str(tmp_path / "sent.xlsx"))
    assert (tmp_path / "sent.xlsx").stat().st_size > 1000
    call_command("export")
    assert "campaign-recipients" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No export named"):
        call_command("export", "nothing")
    with pytest.raises(CommandError, match="needs --campaign"):
        call_command("export", "campaign-rejected")
