import pytest
from campaigns.fanout import fan_out, SourceRow
from campaigns.models import Campaign, RejectedRow
from campaigns.tests.conftest import make_template
from sms.models import OutboundMessage

@pytest.mark.django_db
def test_smoke():
    make_template()
    c = Campaign.objects.create(name="x")
    rows = [SourceRow("Group A", "07450000000", "Monica"), SourceRow("Group A", "0115000000", "Michael"), SourceRow("Group A", "07450000000", "Dup"), SourceRow("Group B", "07450000001", "x"), SourceRow("Group A", "123", "bad")]
    r = fan_out(campaign=c, rows=rows)
    print(r)
    for m in OutboundMessage.objects.all(): print(repr(m.content), m.state, m.next_attempt_at, m.recipient)
    print(list(RejectedRow.objects.values_list("reason","detail")))
    r = fan_out(campaign=c, rows=rows)
    print(r)
