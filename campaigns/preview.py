"""The template editor's live preview: the rendered text with a sample contact, its encoding and
segment count (exactly as ``sms.encoding`` will count it, footer included), and a warning when a
placeholder can push it into another segment or into UCS-2.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.greeting import Greeter
from campaigns.models import Template, template_placeholders
from links.hook import link_hook
from sms.encoding import MAX_LENGTH, length_error, segment_info, segments_warning, to_gsm7

SAMPLE_NAME = "Monica"
#: A name outside GSM-7 (what a CRM export of real names will contain sooner or later).
NON_GSM_NAME = "Łucja"


def _final(text: str) -> str:
    return text if settings.SMS_USE_ACCENT else to_gsm7(text)


def _info(text: str) -> dict:
    info = segment_info(_final(text))
    return {
        "encoding": "GSM-7" if info.encoding == "gsm7" else "UCS-2",
        "segments": info.segments,
        "length": info.length,
        "per_segment": info.per_segment,
        "remaining": info.remaining,
    }


def preview(*, template: Template, body: str | None = None, now: datetime | None = None) -> dict:
    """Preview ``body`` (default: the template's body) as a campaign text, with warnings."""
    now = now or timezone.now()
    body = template.body if body is None else body
    probe = Template(**{f.name: getattr(template, f.name) for f in Template._meta.concrete_fields})
    probe.body = body
    try:
        probe.clean()
    except ValidationError as exc:
        return {"ok": False, "errors": [m for messages in exc.message_dict.values() for m in messages]}
    greeter = Greeter()
    phrases = sorted({r.phrase for r in greeter.rules} or {"Hello"}, key=len)
    sample = {field: f"<{field}>" for field in probe.allowed_placeholders()}
    sample.update(name=SAMPLE_NAME, greeting=greeter(at=now, zone=settings.TIME_ZONE, country=None))
    # {link} is counted at its real length: the same public URL and token length as sent.
    link = link_hook.sample_url()
    text = probe.render_marketing(sample, body=body, link=link)
    result = {"ok": True, "text": text, **_info(text), "warnings": [], "footer": probe.footer}
    result["limit"] = MAX_LENGTH
    if warning := segments_warning(_final(text)):
        result["warnings"].append(warning)
    used = template_placeholders(body)
    if used:
        worst = dict(sample)
        if "name" in used:
            worst["name"] = "W" * settings.CAMPAIGNS_PREVIEW_NAME_LENGTH
        if "greeting" in used:
            worst["greeting"] = phrases[-1]
        worst_text = probe.render_marketing(worst, body=body, link=link)
        long = _info(worst_text)
        if length_error(worst_text):
            result["warnings"].append(
                f"With a long name or greeting it reaches {len(worst_text):,} characters: over the "
                f"{MAX_LENGTH:,}-character limit, so such rows will be rejected."
            )
        if long["segments"] > result["segments"]:
            result["warnings"].append(
                f"A long {'name or greeting' if {'name', 'greeting'} <= used else 'placeholder value'} "
                f"(e.g. {worst.get('name', '')!s:.20} / {worst.get('greeting', '')}) makes it "
                f"{long['segments']} segments instead of {result['segments']}."
            )
        if "name" in used and result["encoding"] == "GSM-7":
            unicode_ = _info(probe.render_marketing({**sample, "name": NON_GSM_NAME}, body=body, link=link))
            if unicode_["encoding"] == "UCS-2" and unicode_["segments"] > result["segments"]:
                result["warnings"].append(
                    f"A name with a letter outside GSM-7 (e.g. {NON_GSM_NAME}) switches it to UCS-2: "
                    f"{unicode_['segments']} segments."
                )
    return result
