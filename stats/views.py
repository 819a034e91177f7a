from django.http import Http404, HttpResponse
from django.shortcuts import render

from stats.ranges import PRESETS, RangeForm
from stats.sections import SECTIONS, build
from stats.tables import to_csv


def _build(request, section: str):
    if section not in SECTIONS:
        raise Http404("No such section")
    form = RangeForm(request.GET)
    period = form.period()
    return form, period, SECTIONS[section][0], build(section, period)


def section(request, section="sims"):
    form, period, title, data = _build(request, section)
    context = {
        "form": form,
        "period": period,
        "presets": PRESETS,
        "section": section,
        "title": title,
        "sections": [(slug, label) for slug, (label, _) in SECTIONS.items()],
        **data,
    }
    return render(request, f"stats/{section}.html", context)


def table_csv(request, section, table):
    _, period, _, data = _build(request, section)
    found = next((t for t in data["tables"] if t.slug == table), None)
    if found is None:
        raise Http404("No such table")
    response = HttpResponse(to_csv(found), content_type="text/csv; charset=utf-8")
    name = f"{table}_{period.first:%Y-%m-%d}_{period.last:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
