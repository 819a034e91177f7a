from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.views.decorators.http import require_POST

from keywords import services
from keywords.forms import BrokerProviderForm, KeywordForm, NumberForm, StandardWordsForm, TryForm
from keywords.models import BrokerProvider, Keyword, Number, StandardWords
from sms.models import OutboundMessage


def index(request):
    """Numbers and keywords with their counts today / last 7 days, and the test box."""
    numbers = list(Number.objects.select_related("catch_all"))
    keywords = list(Keyword.objects.prefetch_related("numbers"))
    services.attach_counts(numbers=numbers, keywords=keywords)
    form = TryForm(request.GET or None)
    context = {
        "numbers": numbers,
        "keywords": keywords,
        "standard_counts": services.standard_counts(),
        "form": form,
        "explanation": services.explain(**form.cleaned_data) if form.is_valid() else None,
    }
    return render(request, "keywords/index.html", context)


def keyword_detail(request, pk):
    keyword = get_object_or_404(Keyword, pk=pk)
    dispatches = keyword.dispatches.select_related("message", "reply").order_by("-at")[:25]
    dates, series = services.daily(keyword)
    form = TryForm(request.GET or None, initial={"text": f"{keyword.word}.TEST"})
    context = {
        "keyword": keyword,
        "dispatches": dispatches,
        "health": services.health(keyword),
        "chart_dates": dates,
        "chart_series": series,
        "chart_title": f"Texts to {keyword} per day",
        "form": form,
        "explanation": services.explain(**form.cleaned_data) if form.is_valid() else None,
        "clicks_template": _clicks_template(),
        "reply_texts": OutboundMessage.objects.filter(pk__in=keyword.dispatches.exclude(reply=None).values("reply")),
    }
    return render(request, "keywords/keyword_detail.html", context)


def _clicks_template() -> str:
    """The links app's click-through partial, when it is installed."""
    try:
        get_template("links/_clicks.html")
    except TemplateDoesNotExist:
        return ""
    return "links/_clicks.html"


def _edit(request, *, form_class, instance, template, what, done):
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"{what} {saved} saved.")
        return redirect(done(saved))
    return render(request, template, {"form": form, "instance": instance, "what": what})


def keyword_form(request, pk=None):
    instance = get_object_or_404(Keyword, pk=pk) if pk else None
    return _edit(
        request,
        form_class=KeywordForm,
        instance=instance,
        template="keywords/form.html",
        what="Keyword",
        done=lambda saved: saved.get_absolute_url(),
    )


def number_form(request, pk=None):
    instance = get_object_or_404(Number, pk=pk) if pk else None
    return _edit(
        request,
        form_class=NumberForm,
        instance=instance,
        template="keywords/form.html",
        what="Number",
        done=lambda saved: "keywords:index",
    )


def standard_words(request):
    """STOP / START / HELP words and answers (the environment's until saved here)."""
    return _edit(
        request,
        form_class=StandardWordsForm,
        instance=StandardWords.load_uncached(),
        template="keywords/standard_words.html",
        what="Words",
        done=lambda saved: "keywords:index",
    )


@require_POST
def standard_words_reset(request):
    StandardWords.objects.all().delete()
    messages.success(request, "STOP / START / HELP words reset to the environment's.")
    return redirect("keywords:index")


def provider_list(request):
    return render(request, "keywords/provider_list.html", {"providers": BrokerProvider.objects.all()})


def provider_form(request, pk=None):
    instance = get_object_or_404(BrokerProvider, pk=pk) if pk else None
    form = BrokerProviderForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        provider = form.save()
        if form.shown_secret:
            messages.warning(request, f"Secret of {provider}: {form.shown_secret} (shown once; give it to the broker).")
        messages.success(request, f"Provider {provider} saved.")
        return redirect("keywords:providers")
    return render(request, "keywords/form.html", {"form": form, "instance": instance, "what": "Provider"})
