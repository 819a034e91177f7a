"""The dashboard home and a health check; domain pages live in each app."""

from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from sms.models import InboundMessage, OutboundMessage, State


def dashboard(request):
    since = timezone.now() - timedelta(days=1)
    by_state = dict(
        OutboundMessage.objects.filter(created_at__gte=since)
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    context = {
        "by_state": [(label, by_state.get(value, 0), value) for value, label in State.choices],
        "queued": OutboundMessage.objects.due().count(),
        "received_today": InboundMessage.objects.filter(received_at__gte=since).count(),
        "recent_inbound": InboundMessage.objects.select_related("contact")[:8],
    }
    return render(request, "dashboard.html", context)


@login_not_required
def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
