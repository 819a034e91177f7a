from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from modems import balances, route_page
from modems.forms import NetworkForm, SimCardForm, TestTextForm
from modems.models import Network, SimCard
from modems.reading import check_status
from modems.tables import NetworkTable, SimCardTable


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
        "days": days,  # drawn by {% bar_chart %} (the chart module of the stats app)
        "chart_label": f"SMS parts sent per day, last {len(days)} days",
        "sent_today": days[-1][1],
        "sent_30_days": sum(count for _, count in days),
        "credentials": [
            (option, name, name not in sim.missing_credentials()) for option, name in sim.credentials_env.items()
        ],
        "recent": sim.outbound_messages.order_by("-created_at")[:10],
        "health_events": sim.health_events.all()[:20],
    }
    if not sim.is_modem:
        context.update(
            route=route_page.figures(sim),
            has_balance_api=balances.has_balance_api(sim),
            test_form=TestTextForm(),
        )
    # The dashboard counts texts, the allowance counts parts: show both so they can be compared.
    route = context.get("route")
    context["texts_today"] = route.today_sent if route else route_page.sent_today(sim)
    return render(request, "modems/sim_detail.html", context)


@require_POST
def sim_balance(request, pk):
    """Ask the gateway for this account's balance now."""
    sim = get_object_or_404(SimCard, pk=pk)
    if not balances.has_balance_api(sim):
        messages.info(request, "This route's provider has no balance API.")
    elif balances.check_balance(sim):
        messages.success(request, f"Balance: {sim.balance.normalize():f} {sim.balance_currency}".strip())
    else:
        messages.error(request, f"The balance check failed: {sim.balance_error}")
    return redirect(sim)


@require_POST
def sim_test_text(request, pk):
    """Send a test text through this route to a number typed in."""
    sim = get_object_or_404(SimCard, pk=pk)
    form = TestTextForm(request.POST)
    if sim.is_modem or not form.is_valid():
        for error in form.errors.get("recipient", ["Test texts are for gateway accounts."]):
            messages.error(request, error)
        return redirect(sim)
    message = route_page.send_test_text(sim, form.cleaned_data["recipient"], user=request.user)
    if message.sim_id != sim.pk:
        messages.warning(
            request, f"This route could not take the test text now; it is {message.get_state_display().lower()}."
        )
    elif message.error:
        messages.error(request, f"Test text {message.get_state_display().lower()}: {message.error}")
    else:
        messages.success(request, f"Test text {message.get_state_display().lower()} to {message.recipient}.")
    return redirect(message)


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
