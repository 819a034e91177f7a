from django.conf import settings
from django.contrib import messages
from django.db.models import OuterRef, Subquery
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from replies import training
from replies.conversation import timeline
from replies.filters import InboxFilter
from replies.forms import ConsentForm, NotOptOutForm, ReplyTypeForm, SendForm, SetTypeForm
from replies.models import ClassifierModel, Label, Reply, ReplyType, Source
from replies.sorting import categorise_many, opt_out, undo_end
from replies.tables import InboxTable
from sms import consent
from sms.api import send
from sms.models import ConsentEvent, Contact, InboundMessage, PendingOptOut, State


def index(request):
    """The inbox: incoming texts with their types, filters, bulk and keyboard sorting."""
    rows = InboundMessage.objects.select_related(
        "reply__reply_type", "reply__suggested_type", "contact", "in_reply_to__campaign", "sim"
    ).annotate(pending_opt_out_due=_pending_due())
    filterset = InboxFilter(request.GET, queryset=rows)
    table = InboxTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    types = list(ReplyType.objects.all())
    return render(request, "replies/inbox.html", {"filter": filterset, "table": table, "types": types})


def _pending_due():
    """When the staff "End" given to each text stands (None: no opt-out waiting)."""
    return Subquery(PendingOptOut.objects.active().filter(message=OuterRef("pk")).values("due_at")[:1])


@require_POST
def bulk_set_type(request):
    form = SetTypeForm(request.POST)
    ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()]
    if not form.is_valid() or not ids:
        messages.error(request, "Choose some texts and a reply type.")
    else:
        reply_type = form.cleaned_data["reply_type"]
        count = categorise_many(
            messages=InboundMessage.objects.filter(pk__in=ids), reply_type=reply_type, by=request.user
        )
        messages.success(request, f"{count} texts set to {reply_type}.")
    return redirect(request.POST.get("next") or reverse("replies:index"))


@require_POST
def set_type(request, pk):
    """One text's type (the keyboard shortcut); JSON with the new cell for the inbox script."""
    message = get_object_or_404(InboundMessage, pk=pk)
    form = SetTypeForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    categorise_many(messages=[message], reply_type=form.cleaned_data["reply_type"], by=request.user)
    reply = Reply.objects.select_related("reply_type").get(pk=pk)
    pending = PendingOptOut.objects.active().filter(message=message).first()
    context = {"reply": reply, "pending_due": pending and pending.due_at, "next": request.POST.get("next", "")}
    return JsonResponse({"ok": True, "cell": render_to_string("replies/_type_cell.html", context, request=request)})


@require_POST
def undo_opt_out(request, pk):
    """Undo a staff "End" label within its grace period: no opt-out, the text back in review."""
    message = get_object_or_404(InboundMessage, pk=pk)
    if undo_end(message=message, by=request.user):
        messages.success(request, f"Undone: {message.sender} is not opted out; the text is back in review.")
    else:
        messages.error(request, "Too late to undo: the opt-out already stands (see the consent ledger).")
    return redirect(request.POST.get("next") or reverse("replies:index"))


def not_an_opt_out(request, pk):
    """Confirm, with a reason, that the classifier's opt-out ``pk`` was not one; lift it."""
    event = get_object_or_404(ConsentEvent.objects.select_related("message", "contact"), pk=pk)
    form = NotOptOutForm(request.POST or None)
    allowed = consent.correctable(event)
    if request.method == "POST" and allowed and form.is_valid():
        consent.correct_opt_out(event=event, by=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, f"Recorded: not an opt-out. {event.number} can be texted again.")
        return redirect("replies:conversation", pk=event.contact_id) if event.contact_id else redirect("replies:index")
    return render(request, "replies/not_opt_out.html", {"event": event, "form": form, "allowed": allowed})


def conversation(request, pk):
    contact = get_object_or_404(Contact.objects.prefetch_related("consent_events"), pk=pk)
    events = list(contact.consent_events.all())
    correctable = {e.pk for e in events[:1] if consent.correctable(e)}
    context = {
        "contact": contact,
        "entries": timeline(contact),
        "form": SendForm(),
        "State": State,
        "events": events,
        "correctable": correctable,
        "pending": PendingOptOut.objects.active().filter(contact=contact).first(),
    }
    return render(request, "replies/conversation.html", context)


@require_POST
def conversation_send(request, pk):
    contact = get_object_or_404(Contact, pk=pk)
    form = SendForm(request.POST)
    if form.is_valid():
        message = send(contact.number, form.cleaned_data["content"], tag="manual")
        if message.state == State.REFUSED:
            messages.error(request, f"Not sent: {message.error}")
        else:
            messages.success(request, "Reply queued.")
    else:
        messages.error(request, "Write a reply first.")
    return redirect("replies:conversation", pk=pk)


def type_list(request):
    return render(request, "replies/type_list.html", {"types": ReplyType.objects.all()})


def type_form(request, pk=None):
    instance = get_object_or_404(ReplyType, pk=pk) if pk else None
    form = ReplyTypeForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Reply type {form.instance} saved.")
        return redirect("replies:types")
    return render(request, "replies/type_form.html", {"form": form, "instance": instance})


@require_POST
def type_delete(request, pk):
    reply_type = get_object_or_404(ReplyType, pk=pk)
    reply_type.delete()
    messages.success(request, f"Reply type {reply_type} deleted; its texts are uncategorised again.")
    return redirect("replies:types")


def record_consent(request):
    """Staff record an opt-out (or fresh consent) received by phone, e-mail or letter."""
    form = ConsentForm(request.POST or None, initial={"number": request.GET.get("number", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        contact, _ = Contact.objects.get_or_create(number=data["number"])
        if data["kind"] == "opt_out":
            opt_out(
                contact=contact,
                reason=f"Opt-out received by {data['channel']}",
                source=data["channel"],
                evidence=data["evidence"],
                by=request.user,
                confirm=data["send_confirmation"],
            )
        else:
            contact.opt_in(source=data["channel"], evidence=data["evidence"], recorded_by=request.user)
        messages.success(request, f"Recorded for {contact.number}.")
        return redirect("replies:conversation", pk=contact.pk)
    return render(request, "replies/consent.html", {"form": form})


def classifier_page(request):
    current = ClassifierModel.current()
    context = {
        "current": current,
        "confusion_title": f"Confusion matrix of v{current.version}" if current else "",
        "versions": ClassifierModel.objects.all()[:20],
        "counts": Reply.objects.sorting_counts(),
        "staff_labels": Label.objects.filter(source=Source.STAFF).count(),
        "new_labels": training.new_staff_labels(),
        "retrain_after": settings.REPLIES_RETRAIN_AFTER_LABELS,
    }
    return render(request, "replies/classifier.html", context)


@require_POST
def retrain(request):
    if not training.start_training():
        messages.info(request, "A retrain is already running.")
    else:
        messages.success(request, "Retraining in the background; reload this page in a minute.")
    return redirect("replies:classifier")
