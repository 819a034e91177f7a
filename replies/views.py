from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from replies import training
from replies.conversation import timeline
from replies.filters import InboxFilter
from replies.forms import ConsentForm, ReplyTypeForm, SendForm, SetTypeForm
from replies.models import ClassifierModel, Label, Reply, ReplyType, Source
from replies.sorting import categorise_many, opt_out
from replies.tables import InboxTable
from sms.api import send
from sms.models import Contact, InboundMessage, State


def index(request):
    """The inbox: incoming texts with their types, filters, bulk and keyboard sorting."""
    rows = InboundMessage.objects.select_related(
        "reply__reply_type", "reply__suggested_type", "contact", "in_reply_to__campaign", "sim"
    )
    filterset = InboxFilter(request.GET, queryset=rows)
    table = InboxTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    types = list(ReplyType.objects.all())
    return render(request, "replies/inbox.html", {"filter": filterset, "table": table, "types": types})


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
    return JsonResponse({"ok": True, "cell": render_to_string("replies/_type_cell.html", {"reply": reply})})


def conversation(request, pk):
    contact = get_object_or_404(Contact.objects.prefetch_related("consent_events"), pk=pk)
    context = {"contact": contact, "entries": timeline(contact), "form": SendForm(), "State": State}
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
