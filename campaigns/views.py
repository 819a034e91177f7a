from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from campaigns import capacity, reports
from campaigns.control import refresh_states
from campaigns.fanout import create_campaign
from campaigns.forms import ManualCampaignForm, TemplateForm, UploadForm
from campaigns.models import Campaign, PullRun, Template
from campaigns.preview import preview
from campaigns.pull import start_pull
from campaigns.sources import SourceError, parse_pasted
from campaigns.uploads import ROLES, NeedsMapping, discard, parse_upload, stash, unstash
from sms import views as sms_views
from sms.models import OutboundMessage


def index(request):
    refresh_states()  # a campaign whose last text has left reads Completed now, not after the next cron run
    campaigns = Paginator(Campaign.objects.with_counts(), 50).get_page(request.GET.get("page"))
    last_pull = PullRun.objects.first()
    context = {"campaigns": campaigns, "last_pull": last_pull, "source_configured": bool(settings.TEXTING_API_URL)}
    return render(request, "campaigns/index.html", context)


def detail(request, pk):
    refresh_states()
    campaign = get_object_or_404(Campaign.objects.with_counts(), pk=pk)
    context = {"campaign": campaign, "now": timezone.now(), **reports.campaign_report(campaign)}
    if campaign.is_open:
        context["estimate"] = capacity.for_campaign(campaign)
    return render(request, "campaigns/detail.html", context)


@require_POST
def control(request, pk, action):
    campaign = get_object_or_404(Campaign, pk=pk)
    if action == "pause":
        done = campaign.pause(reason=f"Paused by {request.user.get_username()}")
    elif action == "resume":
        done = campaign.resume()
    else:
        done = campaign.abort(reason=f"Aborted by {request.user.get_username()}") >= 0
    past = {"pause": "paused", "resume": "resumed", "abort": "aborted"}[action]
    if done:
        messages.success(request, f"Campaign {past}.")
    else:
        messages.warning(request, f"The campaign could not be {past} in its current state.")
    return redirect(campaign)


def _create(request, form, *, source, rows, bad):
    """Create the campaign of a valid manual or upload form, say what happened, show it.

    One that cannot all go today is created paused: staff see how long it will take first."""
    held = not capacity.fits_today(len(rows))
    campaign, result = create_campaign(
        name=form.cleaned_data["name"],
        source=source,
        rows=rows,
        bad_rows=bad,
        user=request.user,
        scheduled_for=form.cleaned_data["scheduled_for"],
        hold_reason=HOLD_REASON if held else "",
    )
    if campaign.state == Campaign.State.NOTHING_TO_SEND:
        messages.warning(request, f"Nothing to send: every row was rejected ({result}). See why below.")
        return redirect(campaign)
    estimate = capacity.for_campaign(campaign)
    if held and estimate.finishes_today:  # fewer texts than rows (rejected ones): it fits after all
        campaign.resume()
        held = False
    if held:
        messages.warning(request, f"Campaign created and held for review: {estimate.summary()} Resume to start.")
    else:
        messages.success(request, f"Campaign created: {result}. {estimate.summary()}")
    return redirect(campaign)


HOLD_REASON = "Held for review: it cannot all go out today at the current SIM limits. Resume to start sending."


def new(request):
    form = ManualCampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        template = form.cleaned_data["template"]
        rows, bad = parse_pasted(form.cleaned_data["numbers"], group=template.name)
        return _create(request, form, source=Campaign.Source.MANUAL, rows=rows, bad=bad)
    context = {"form": form, "title": "New campaign from pasted numbers", "has_templates": _has_templates()}
    return render(request, "campaigns/new.html", context)


def upload(request):
    """Upload a contact file; a header we do not recognise leads to the column-mapping step."""
    pending = request.POST.get("pending", "")
    form = UploadForm(request.POST or None, request.FILES or None, mapping=bool(pending))
    if request.method == "POST" and form.is_valid():
        template = form.cleaned_data["template"]
        group = template.name if template else ""
        try:
            if pending:
                content, filename = unstash(pending), form.cleaned_data["filename"]
                roles = request.POST.getlist("role")
            else:
                upload_ = form.cleaned_data["file"]
                content, filename, roles = upload_.read(), upload_.name, None
            rows, bad = parse_upload(content, filename, default_group=group, roles=roles)
        except NeedsMapping as exc:
            return _mapping(request, form, exc, token=stash(content), filename=filename)
        except SourceError as exc:
            form.add_error(None if pending else "file", str(exc))
        else:
            if pending:
                discard(pending)
            return _create(request, form, source=Campaign.Source.UPLOAD, rows=rows, bad=bad)
    context = {
        "form": form,
        "title": "Upload contacts",
        "multipart": True,
        "upload": True,
        "has_templates": _has_templates(),
    }
    return render(request, "campaigns/new.html", context)


def _mapping(request, form, needs: NeedsMapping, *, token: str, filename: str):
    columns = [
        {"index": i, "header": h, "guess": needs.guess[i] if i < len(needs.guess) else "extra"}
        for i, h in enumerate(needs.header)
    ]
    context = {"form": form, "needs": needs, "columns": columns, "roles": ROLES, "token": token, "filename": filename}
    return render(request, "campaigns/upload_map.html", context)


def _has_templates() -> bool:
    return Template.objects.filter(is_active=True).exists()


@require_POST
def pull_now(request):
    run = start_pull(user=request.user)
    return redirect(run)


def pull_detail(request, pk):
    run = get_object_or_404(PullRun.objects.select_related("campaign"), pk=pk)
    if request.GET.get("format") == "json":
        return JsonResponse(reports.pull_status(run))
    return render(request, "campaigns/pull_detail.html", {"run": run})


def template_list(request):
    templates = Template.objects.all()
    return render(request, "campaigns/template_list.html", {"templates": templates})


def template_edit(request, pk=None):
    template = get_object_or_404(Template, pk=pk) if pk else Template()
    form = TemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Template {template.name} saved.")
        return redirect("campaigns:template_list")
    texts = OutboundMessage.objects.filter(template=template) if template.pk else None  # for its link clicks
    return render(request, "campaigns/template_form.html", {"form": form, "template": template, "texts": texts})


@require_POST
def template_preview(request):
    """Preview JSON for the editor: the form's current fields, rendered and counted exactly."""
    form = TemplateForm(request.POST)
    form.is_valid()  # fills cleaned_data as far as it can; errors are reported by preview()
    # The instance holds every field that parsed, even those the model check then refused.
    template = form.instance
    field = request.POST.get("field", "body")
    if field not in ("body", "followup_body", "followup_alt_body"):
        field = "body"
    return JsonResponse(preview(template=template, body=request.POST.get(field, "")))


def export_rows(request, pk: int, slug: str):
    """A campaign's recipients or rejected rows as CSV / XLSX."""
    campaign = get_object_or_404(Campaign, pk=pk)
    return sms_views.export(request, slug, pk=campaign.pk)
