from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from modems.forms import NetworkForm, SimCardForm
from modems.models import Network, SimCard
from modems.reading import check_status
from modems.tables import NetworkTable, SimCardTable
from sms.charts import bar_chart


def index(request):
    """The SIM list, with today's count against each SIM's limit."""
    sims = SimCard.objects.select_related("network").with_today()
    table = SimCardTable(sims)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(request, "modems/sim_list.html", {"table": table})


def sim_detail(request, pk):
    sim = get_object_or_404(SimCard.objects.select_related("network"), pk=pk)
    days = sim.daily_counts(days=30)
    context = {
        "sim": sim,
        "chart": bar_chart(days, limit=sim.daily_limit, label=f"SMS parts sent per day, last {len(days)} days"),
        "sent_today": days[-1][1],
        # The dashboard counts texts, the allowance counts parts: show both so they can be compared.
        "texts_today": sim.outbound_messages.filter(sent_at__date=timezone.localdate()).count(),
        "sent_30_days": sum(count for _, count in days),
        "credentials": [
            (option, name, name not in sim.missing_credentials()) for option, name in sim.credentials_env.items()
        ],
        "recent": sim.outbound_messages.order_by("-created_at")[:10],
    }
    return render(request, "modems/sim_detail.html", context)


def sim_create(request):
    return _sim_form(request, SimCard())


def sim_edit(request, pk):
    return _sim_form(request, get_object_or_404(SimCard, pk=pk))


def _sim_form(request, sim):
    form = SimCardForm(request.POST or None, instance=sim)
    if request.method == "POST" and form.is_valid():
        sim = form.save()
        messages.success(request, f"SIM {sim} saved.")
        return redirect(sim)
    return render(request, "modems/sim_form.html", {"form": form, "sim": sim})


@require_POST
def sim_check(request, pk):
    """Ask the modem for its status now (the same as modem_status, for one SIM)."""
    sim = get_object_or_404(SimCard, pk=pk)
    if not sim.is_modem:
        messages.info(request, "Gateway accounts have no modem to check.")
    elif check_status(sim=sim) is None:
        messages.error(request, f"Modem not reachable: {sim.status_error}")
    else:
        messages.success(request, "Modem status updated.")
    return redirect(sim)


def network_list(request):
    table = NetworkTable(Network.objects.annotate(sim_count=Count("sims")))
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(request, "modems/network_list.html", {"table": table})


def network_create(request):
    return _network_form(request, Network())


def network_edit(request, pk):
    return _network_form(request, get_object_or_404(Network, pk=pk))


def _network_form(request, network):
    form = NetworkForm(request.POST or None, instance=network)
    if request.method == "POST" and form.is_valid():
        network = form.save()
        messages.success(request, f"Network {network} saved.")
        return redirect("modems:network_list")
    return render(request, "modems/network_form.html", {"form": form, "network": network})
