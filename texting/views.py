"""The dashboard home and a health check; domain pages live in each app."""

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from campaigns.control import refresh_states
from campaigns.models import Campaign
from modems.health import unhealthy_routes
from modems.models import SimCard
from replies.models import Reply
from sms import stats
from sms.models import InboundMessage


def dashboard(request):
    refresh_states()  # the campaigns listed read Completed as soon as their last text is final
    today, dates, series = stats.figures(days=14)
    context = {
        "today": today,
        "dates": dates,  # drawn by {% line_chart %} (the chart module of the stats app)
        "series": series,
        "recent_inbound": InboundMessage.objects.select_related("contact", "in_reply_to")[:8],
        "needs_review": Reply.objects.filter(needs_review=True).count(),
        "campaigns": Campaign.objects.with_counts().exclude(state=Campaign.State.ABORTED)[:5],
        "low_balance": list(SimCard.objects.low_on_balance()[:10]),
        "unhealthy_routes": list(unhealthy_routes()[:10]),
    }
    return render(request, "dashboard.html", context)


@login_not_required
def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
