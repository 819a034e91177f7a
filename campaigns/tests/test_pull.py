"""pull_campaign against a real HTTP server on 127.0.0.1 playing the data source."""

import json
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaigns.models import Campaign, PullRun, RejectedRow
from campaigns.pull import pull_campaign
from campaigns.tests.conftest import make_template
from sms.models import OutboundMessage

pytestmark = pytest.mark.django_db

PAIRS = {"Group A": [["07450000001", "Michael"], ["07450000002", "Monica"]]}


def test_pairs_are_pulled_and_queued_with_the_key_in_a_header(data_source):
    make_template()
    data_source.answer(PAIRS)
    run = pull_campaign()
    assert run.state == PullRun.State.SUCCEEDED, run.error
    assert run.queued == 2 and run.rows_total == 2
    assert sorted(OutboundMessage.objects.values_list("recipient", flat=True)) == ["+447450000001", "+447450000002"]
    (request,) = data_source.gets
    assert request.headers["X-Api-Key"] == "secret-key"
    assert "key" not in request.query
    assert run.campaign.source == Campaign.Source.PULL and run.campaign.source_url == data_source.contacts_url


def test_key_as_query_parameter_for_older_sources(data_source, settings):
    settings.TEXTING_API_KEY_IN = "query"
    make_template()
    data_source.answer(PAIRS)
    pull_campaign()
    (request,) = data_source.gets
    assert request.query["key"] == ["secret-key"]
    assert "X-Api-Key" not in request.headers


def test_objects_with_extra_fields_are_accepted(data_source):
    make_template(body="Hi {name}, your {offer} awaits", extra_fields="offer")
    data_source.answer(
        {"Group A": [{"number": "07450000001", "name": "Ann", "offer": "free coffee"}, ["07450000002", "Bo"]]}
    )
    run = pull_campaign()
    assert run.queued == 1
    assert OutboundMessage.objects.get().content.startswith("Hi Ann, your free coffee awaits")
    assert RejectedRow.objects.get().reason == "missing_field"


def test_bad_rows_are_recorded_and_do_not_stop_the_pull(data_source):
    make_template()
    data_source.answer(
        {
            "Group A": [["07450000001", "Ann"], [], [True, "x"], 42, {"name": "no number"}, ["12", "short"]],
            "Group B": "not a list",
            "Nobody": [["07450000009", "Zed"]],
        }
    )
    run = pull_campaign()
    assert run.state == PullRun.State.SUCCEEDED
    assert run.queued == 1
    counts = {}
    for reason in RejectedRow.objects.values_list("reason", flat=True):
        counts[reason] = counts.get(reason, 0) + 1
    assert counts == {"bad_row": 5, "invalid_number": 1}
    assert "Nobody: no template named 'Nobody'" in run.summary


def test_slow_source_times_out_and_queues_nothing(data_source, settings):
    settings.TEXTING_API_TIMEOUT_SECONDS = 0.3
    make_template()
    data_source.answer(PAIRS, delay=1.5)
    started = time.monotonic()
    run = pull_campaign()
    assert time.monotonic() - started < 1.4
    assert run.state == PullRun.State.FAILED
    assert "did not answer within 0.3 s" in run.error
    assert OutboundMessage.objects.count() == 0


def test_server_error_is_retried_then_reported(data_source, settings):
    settings.TEXTING_API_RETRIES = 2
    make_template()
    data_source.answer({"error": "boom"}, status=500)
    run = pull_campaign()
    assert run.state == PullRun.State.FAILED
    assert "kept failing" in run.error or "HTTP 500" in run.error
    assert len(data_source.gets) == 3


def test_invalid_json_fails_the_pull_with_a_readable_error(data_source):
    make_template()
    data_source.answer("{not json")
    run = pull_campaign()
    assert run.state == PullRun.State.FAILED and "not valid JSON" in run.error


def test_a_list_instead_of_groups_is_refused(data_source):
    data_source.answer([["07450000001", "Ann"]])
    run = pull_campaign()
    assert run.state == PullRun.State.FAILED and "JSON object of focus groups" in run.error


def test_pulling_the_same_data_twice_texts_nobody_twice(data_source):
    make_template()
    data_source.answer(PAIRS)
    first, second = pull_campaign(), pull_campaign()
    assert first.campaign == second.campaign
    assert (first.queued, second.queued) == (2, 0)
    assert OutboundMessage.objects.count() == 2


def test_a_running_pull_holds_the_lock(data_source):
    make_template()
    data_source.answer(PAIRS)
    PullRun.objects.create(
        state=PullRun.State.RUNNING, heartbeat_at=__import__("django.utils.timezone").utils.timezone.now()
    )
    run = pull_campaign()
    assert run.state == PullRun.State.LOCKED
    assert data_source.gets == []


def test_an_abandoned_lock_is_taken_over(data_source, settings):
    from datetime import timedelta

    from django.utils import timezone

    make_template()
    data_source.answer(PAIRS)
    stale = PullRun.objects.create(state=PullRun.State.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=2))
    run = pull_campaign()
    assert run.state == PullRun.State.SUCCEEDED
    stale.refresh_from_db()
    assert stale.state == PullRun.State.FAILED and "Abandoned" in stale.error


def test_command_prints_a_summary(data_source, capsys):
    make_template()
    data_source.answer(PAIRS)
    call_command("pull_campaign")
    lines = capsys.readouterr().out.splitlines()
    assert "  2/2 rows" in lines  # progress
    assert lines[-1].startswith("Pull #") and lines[-1].endswith("2 rows: 2 queued, 0 rejected")


def test_command_fails_loudly_when_the_source_is_down(data_source):
    data_source.answer("oops", status=503)
    with pytest.raises(CommandError, match="HTTP 503"):
        call_command("pull_campaign")


def test_without_a_url_nothing_is_fetched(settings):
    settings.TEXTING_API_URL = ""
    run = pull_campaign()
    assert run.state == PullRun.State.FAILED and "TEXTING_API_URL" in run.error


def test_payload_sample_from_the_issue(data_source):
    make_template()
    data_source.answer(json.loads('{"Group A": [["01159000000", "Michael"], ["07450000000", "Monica"]]}'))
    assert pull_campaign().queued == 2


def test_cron_without_a_source_says_so_once_exits_0_and_records_no_failed_pull(settings, capsys, staff_client):
    settings.TEXTING_API_URL = ""
    earlier = PullRun.objects.create(state=PullRun.State.SUCCEEDED, summary="2 rows: 2 queued, 0 rejected")
    call_command("pull_campaign")  # no CommandError: cron exits 0
    assert capsys.readouterr().out.splitlines() == [
        "No data source configured (TEXTING_API_URL is empty): nothing to pull."
    ]
    assert list(PullRun.objects.all()) == [earlier]
    assert f'Last pull: <a href="/campaigns/pulls/{earlier.pk}/">' in staff_client.get("/campaigns/").content.decode()


def test_the_celery_task_without_a_source_records_nothing(settings):
    from campaigns.tasks import pull_campaign as task

    settings.TEXTING_API_URL = ""
    assert "No data source configured" in task()
    assert not PullRun.objects.exists()
