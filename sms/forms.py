"""Forms of the sms pages: compose one text, staff opt-out / consent on a contact."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Layout, Submit
from django import forms

from sms.encoding import MAX_LENGTH
from sms.phone import InvalidNumber, normalise
from sms.queueing import LINK_PLACEHOLDER, link_problem, sample_link

SEGMENT_COUNTER = """
<div class="small text-muted mb-3" style="margin-top: -.75rem" id="segment-counter" aria-live="polite">
  <span data-count="characters">0</span> characters · <span data-count="encoding">GSM-7</span> ·
  <strong data-count="segments">1</strong> part(s) · <span data-count="remaining">160</span> left in this part
</div>
"""


class ComposeForm(forms.Form):
    recipient = forms.CharField(
        max_length=40, help_text="International (+44 7911 123456) or national in the default region (07911 123456)"
    )
    content = forms.CharField(
        label="Text",
        max_length=MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5, "data-segment-counter": "#segment-counter"}),
    )
    link_url = forms.URLField(
        label="Link target",
        max_length=1000,
        required=False,
        assume_scheme="https",
        help_text="Where {link} in the text takes the recipient (their own short link; clicks are counted)",
    )
    sender = forms.CharField(max_length=20, required=False, help_text="Optional sender id or number")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The counter counts {link} as long as the real link will be.
        self.fields["content"].widget.attrs["data-link-sample"] = sample_link()
        self.helper = FormHelper()
        self.helper.form_id = "compose-form"
        self.helper.layout = Layout("recipient", "content", HTML(SEGMENT_COUNTER), "link_url", "sender")
        self.helper.add_input(Submit("send", "Send now"))

    def clean(self):
        data = super().clean()
        content, url = data.get("content", ""), data.get("link_url", "")
        if LINK_PLACEHOLDER in content:
            problem = link_problem({"url": url}) if url else "The text holds {link}: give the link target."
            if problem:
                self.add_error("link_url", problem)
        elif url:
            self.add_error("content", "Put {link} in the text where the link should go.")
        return data

    @property
    def link(self) -> dict | None:
        """The link target to pass as ``extra_data["link"]``, if the text has one."""
        url = self.cleaned_data.get("link_url")
        return {"url": url} if url else None

    def clean_recipient(self):
        raw = self.cleaned_data["recipient"]
        try:
            return normalise(raw)
        except InvalidNumber as exc:
            raise forms.ValidationError(str(exc)) from None


class OptOutForm(forms.Form):
    reason = forms.CharField(max_length=300, help_text="Why: e.g. asked on the phone to stop")
    evidence = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), help_text="Where it is recorded: call notes, e-mail, ticket..."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class ConsentForm(forms.Form):
    scope = forms.CharField(max_length=50, initial="marketing")
    evidence = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How the person agreed: signed form, web sign-up, recorded call... (required)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class ResendUnknownForm(forms.Form):
    confirm = forms.BooleanField(
        label="I have checked the gateway's logs and accept that recipients may get these texts twice",
        error_messages={"required": "Tick the box to confirm: these texts may already have arrived."},
    )
