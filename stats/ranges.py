"""The Stats page's date range: presets (7 days, 30 days, this month, last month) or custom
dates, as local days; every query takes ``[start, end)`` as aware datetimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

PRESETS = [("7d", "7 days"), ("30d", "30 days"), ("month", "This month"), ("last-month", "Last month")]
DEFAULT = "30d"
MAX_DAYS = 400


@dataclass(frozen=True)
class Period:
    first: date  # first local day, included
    last: date  # last local day, included
    preset: str  # a PRESETS key, or "custom"

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1))

    @property
    def query(self) -> str:
        """The query string that selects this period again (links, CSV downloads)."""
        if self.preset != "custom":
            return f"range={self.preset}"
        return f"range=custom&from={self.first:%Y-%m-%d}&to={self.last:%Y-%m-%d}"

    @property
    def label(self) -> str:
        return f"{self.first:%-d %b %Y} – {self.last:%-d %b %Y}"


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def preset(name: str, today: date | None = None) -> Period:
    today = today or timezone.localdate()
    if name == "7d":
        return Period(today - timedelta(days=6), today, name)
    if name == "month":
        return Period(today.replace(day=1), today, name)
    if name == "last-month":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(last.replace(day=1), last, name)
    return Period(today - timedelta(days=29), today, "30d")


class RangeForm(forms.Form):
    range = forms.ChoiceField(choices=[*PRESETS, ("custom", "Custom")], required=False)
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data, *args, **kwargs):
        # "from"/"to" in the URL (short, like the lists' filters); "from" is a keyword here.
        data = data.copy()
        data.setdefault("start", data.get("from", ""))
        data.setdefault("end", data.get("to", ""))
        super().__init__(data, *args, **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("range") == "custom":
            first, last = data.get("start"), data.get("end")
            if not first or not last:
                raise forms.ValidationError("Give both dates of a custom range.")
            if last < first:
                raise forms.ValidationError("The range ends before it starts.")
            if (last - first).days >= MAX_DAYS:
                raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        return data

    def period(self) -> Period:
        """The chosen period; the default (30 days) when the form is empty or invalid."""
        if not self.is_valid():
            return preset(DEFAULT)
        data = self.cleaned_data
        if data.get("range") == "custom":
            return Period(data["start"], data["end"], "custom")
        return preset(data.get("range") or DEFAULT)
