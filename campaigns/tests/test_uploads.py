"""Uploads of real files: Excel's CSV flavours, encodings, semicolons, XLSX, binary files, and
headers we do not know (mapped by staff). Never a 500."""

import io

import openpyxl
import pytest

from campaigns.models import Campaign, RejectedRow
from campaigns.tests.conftest import make_template
from campaigns.uploads import NeedsMapping, parse_upload
from sms.models import OutboundMessage

pytestmark = pytest.mark.django_db


def post(client, content: bytes, filename="contacts.csv", **data):
    upload = io.BytesIO(content)
    upload.name = filename
    return client.post("/campaigns/upload/", {"name": "Uploaded", "file": upload, **data})


def xlsx(rows) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("label", "content"),
    [
        ("CR-only (Excel CSV Macintosh)", b"number,name,group\r07450000001,Ann,Group A\r07450000002,Bo,Group A\r"),
        ("CRLF with a BOM", b"\xef\xbb\xbfnumber,name,group\r\n07450000001,Ann,Group A\r\n07450000002,Bo,Group A\r\n"),
        ("semicolons", b"number;name;group\n07450000001;Ann;Group A\n07450000002;Bo;Group A\n"),
        ("tabs", b"number\tname\tgroup\n07450000001\tAnn\tGroup A\n07450000002\tBo\tGroup A\n"),
        ("UTF-16 with a BOM", "number,name,group\n07450000001,Ann,Group A\n07450000002,Bo,Group A\n".encode("utf-16")),
    ],
)
def test_excel_csv_flavours_are_read(staff_client, label, content):
    make_template()
    response = post(staff_client, content)
    assert response.status_code == 302, (label, response.content[:500])
    assert sorted(Campaign.objects.get().messages.values_list("recipient", flat=True)) == [
        "+447450000001",
        "+447450000002",
    ]


def test_windows_1252_and_latin1_names_keep_their_accents():
    rows, bad = parse_upload(
        "number;name\n07450000001;Zoë Dupré\n07450000002;Łukasz\n".encode("cp1252", "replace"),
        "c.csv",
        default_group="G",
    )
    assert [r.name for r in rows] == ["Zoë Dupré", "?ukasz"] and bad == []
    rows, _ = parse_upload("number,name\n07450000001,Søren Å\n".encode("latin-1"), "c.csv", default_group="G")
    assert rows[0].name == "Søren Å"
    rows, _ = parse_upload("number,name\n07450000001,“Smart” Bob\n".encode("cp1252"), "c.csv", default_group="G")
    assert rows[0].name == "“Smart” Bob"


def test_xlsx_is_read_with_numbers_typed_as_numbers(staff_client):
    make_template()
    content = xlsx(
        [["Mobile", "Full name", "Group"], [447450000001, "Ann", "Group A"], ["07450000002", "Bo", "Group A"]]
    )
    response = post(staff_client, content, filename="contacts.xlsx")
    assert response.status_code == 302, response.content[:500]
    assert Campaign.objects.get().messages.count() == 2


@pytest.mark.parametrize(
    ("content", "filename", "says"),
    [
        (bytes(range(256)) * 8, "photo.csv", "looks like a binary file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(500), "contacts.csv", "looks like a binary file"),
        (b"PK\x03\x04broken zip", "contacts.xlsx", "This Excel file cannot be read"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "contacts.xls", "old Excel .xls"),
        (b"   \n", "contacts.csv", "The file is empty"),
        (b'number,name\n"07450000001,Ann\n', "contacts.csv", None),  # an unclosed quote is one odd row, not a crash
    ],
)
def test_unreadable_files_get_a_clear_message_not_a_500(staff_client, content, filename, says):
    make_template()
    response = post(staff_client, content, filename=filename)
    assert response.status_code in (200, 302)
    if says:
        assert response.status_code == 200 and says in response.content.decode()
        assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    "header",
    ["telephone,fullname", "Phone,Name", "MSISDN,First name", "Tel.,Customer", "cell,name", "Mobile Number,Full Name"],
)
def test_common_header_names_are_recognised(header):
    rows, bad = parse_upload(f"{header}\n07450000001,Ann Hughes\n".encode(), "c.csv", default_group="G")
    assert [(r.number, r.name) for r in rows] == [("07450000001", "Ann Hughes")] and bad == []


def test_first_and_last_name_columns_make_the_name():
    rows, _ = parse_upload(b"phone,first name,surname\n07450000001,Ann,Hughes\n", "c.csv", default_group="G")
    assert rows[0].name == "Ann Hughes"


def test_an_unknown_header_asks_staff_to_map_the_columns_and_then_imports(staff_client):
    template = make_template()
    content = b"Kontakt,Handy,Stadt\nAnn,07450000001,Leeds\nBo,07450000002,Camden\n"
    with pytest.raises(NeedsMapping) as needs:
        parse_upload(content, "c.csv", default_group="G")
    assert needs.value.guess[:2] == ["name", "number"]
    response = post(staff_client, content, template=template.pk)
    page = response.content.decode()
    assert response.status_code == 200 and "looks like a header" in page and "Kontakt, Handy, Stadt" in page
    assert not Campaign.objects.exists()
    token = response.context["token"]
    response = staff_client.post(
        "/campaigns/upload/",
        {
            "pending": token,
            "filename": "c.csv",
            "name": "Uploaded",
            "template": template.pk,
            "role": ["name", "number", "extra"],
        },
    )
    assert response.status_code == 302, response.content[:800]
    sent = {m.recipient: m for m in OutboundMessage.objects.all()}
    assert set(sent) == {"+447450000001", "+447450000002"}
    assert not RejectedRow.objects.exists()  # the header row was not imported as a bad number


def test_mapping_without_a_number_column_says_so(staff_client):
    template = make_template()
    response = post(staff_client, b"Kontakt,Handy\nAnn,07450000001\n", template=template.pk)
    token = response.context["token"]
    response = staff_client.post(
        "/campaigns/upload/",
        {"pending": token, "filename": "c.csv", "name": "Uploaded", "template": template.pk, "role": ["name", "extra"]},
    )
    assert response.status_code == 200 and "exactly one column as the number" in response.content.decode()


def test_an_expired_or_forged_token_is_a_message(staff_client):
    template = make_template()
    response = staff_client.post(
        "/campaigns/upload/",
        {"pending": "../../settings", "filename": "c.csv", "name": "U", "template": template.pk, "role": ["number"]},
    )
    assert response.status_code == 200 and "expired" in response.content.decode()


def test_headerless_rows_still_work():
    rows, _ = parse_upload(b"07450000001,Ann\n07450000002,Bo\n", "c.csv", default_group="G")
    assert [r.number for r in rows] == ["07450000001", "07450000002"]
