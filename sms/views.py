"""Pages of the messaging core: message lists and details, contacts, compose.

Thin views: a form or a filter, one call into sms.api / the models, render or redirect.
"""

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Max, OuterRef, Subquery
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from sms import api
from sms import export as exports
from sms.conversation import conversation
from sms.filters import ContactFilter, InboundFilter, OutboundFilter
from sms.forms import ComposeForm, ConsentForm, OptOutForm
from sms.models import Contact, InboundMessage, OutboundMessage, State
from sms.tables import ContactTable, InboundTable, OutboundTable

PER_PAGE = 50


def outbound_list(request):
    queryset = OutboundMessage.objects.select_related("campaign")
    filterset = OutboundFilter(request.GET or None, queryset=queryset)
    table = OutboundTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "sms/outbound_list.html", {"filter": filterset, "table": table})


def outbound_detail(request, pk):
    message = get_object_or_404(OutboundMessage.objects.select_related("campaign", "template", "sim", "contact"), pk=pk)
    context = {
        "message": message,
        "history": message.status_changes.all(),
        "related": message.related_objects.select_related("content_type"),
        "replies": message.replies.all(),
        "now": timezone.now(),
    }
    return render(request, "sms/outbound_detail.html", context)


def inbound_list(request):
    queryset = InboundMessage.objects.select_related("in_reply_to")
    filterset = InboundFilter(request.GET or None, queryset=queryset)
    table = InboundTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "sms/inbound_list.html", {"filter": filterset, "table": table})


def inbound_detail(request, pk):
    message = get_object_or_404(InboundMessage.objects.select_related("contact", "in_reply_to", "sim"), pk=pk)
    return render(request, "sms/inbound_detail.html", {"message": message})


def compose(request):
    form = ComposeForm(request.POST or None, initial={"recipient": request.GET.get("to", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        link = {"extra_data": {"link": form.link}} if form.link else {}
        message = api.send(
            data["recipient"], data["content"], tag="manual", send_immediately=True, sender=data["sender"], **link
        )
        level = messages.ERROR if message.state in (State.REFUSED, State.ERROR) else messages.SUCCESS
        messages.add_message(request, level, f"Text to {message.recipient}: {message.get_state_display()}.")
        return redirect(message)
    context = {"form": form, "transliterate": not settings.SMS_USE_ACCENT}
    return render(request, "sms/compose.html", context)


def _per_contact(model, value):
    """A subquery of one value per contact (a count or a latest time), so rows do not multiply."""
    rows = model.objects.filter(contact=OuterRef("pk")).order_by().values("contact")
    return Subquery(rows.annotate(v=value).values("v")[:1])


def contact_list(request):
    queryset = Contact.objects.annotate(
        n_sent=_per_contact(OutboundMessage, Count("pk")),
        n_received=_per_contact(InboundMessage, Count("pk")),
        last_received=_per_contact(InboundMessage, Max("received_at")),
    )
    filterset = ContactFilter(request.GET or None, queryset=queryset)
    table = ContactTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "sms/contact_list.html", {"filter": filterset, "table": table})


def contact_detail(request, pk):
    contact = get_object_or_404(Contact, pk=pk)
    context = {
        "contact": contact,
        "ledger": contact.consent_events.select_related("recorded_by"),
        "conversation": conversation(contact),
        "opt_out_form": OptOutForm(),
        "consent_form": ConsentForm(),
    }
    return render(request, "sms/contact_detail.html", context)


@require_POST
def contact_opt_out(request, pk):
    contact = get_object_or_404(Contact, pk=pk)
    form = OptOutForm(request.POST)
    if form.is_valid():
        contact.opt_out(
            reason=form.cleaned_data["reason"],
            source="staff",
            evidence=form.cleaned_data["evidence"],
            recorded_by=request.user,
        )
        messages.success(request, f"{contact.number} is opted out; nothing more will be sent to it.")
    else:
        messages.error(request, "Opt-out not recorded: give a reason and the evidence.")
    return redirect(contact)


@require_POST
def contact_opt_in(request, pk):
    contact = get_object_or_404(Contact, pk=pk)
    form = ConsentForm(request.POST)
    if form.is_valid():
        contact.opt_in(
            source="staff",
            evidence=form.cleaned_data["evidence"],
            scope=form.cleaned_data["scope"],
            recorded_by=request.user,
        )
        messages.success(request, f"Consent recorded for {contact.number}.")
    else:
        messages.error(request, "Consent not recorded: the evidence is required.")
    return redirect(contact)


def export(request, slug: str, **kwargs):
    """Download a list as CSV (streamed) or XLSX (``?format=xlsx``), with the page's filters."""
    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        return HttpResponseBadRequest("format must be csv or xlsx", content_type="text/plain")
    params = request.GET.copy()
    for name in ("format", "page", "sort", "per_page"):
        params.pop(name, None)
    try:
        return exports.response(exports.get(slug), params, fmt=fmt, **kwargs)
    except exports.ExportError as exc:
        return HttpResponseBadRequest(f"Cannot export with these filters: {exc}", content_type="text/plain")
