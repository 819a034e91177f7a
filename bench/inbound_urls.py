"""``/bench/bare/``: "OK" without touching the database, through the same middleware and under the
same gunicorn as the webhook: the baseline ``bench/inbound.py`` measures the webhook against."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
@login_not_required
def bare(request):
    return HttpResponse("OK", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare), path("", include("texting.urls"))]
