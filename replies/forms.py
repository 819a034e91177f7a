import string

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from replies.autoreply import render
from replies.models import ReplyType
from sms.encoding import MAX_LENGTH
from sms.phone import InvalidNumber, normalise


class ReplyTypeForm(forms.ModelForm):
    class Meta:
        model = ReplyType
        fields = ["name", "slug", "colour", "auto_reply_text", "action", "allows_followup", "ordering"]
        widgets = {
            "colour": forms.TextInput(attrs={"type": "color"}),
            "auto_reply_text": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Save"))

    def clean_auto_reply_text(self):
        text = self.cleaned_data["auto_reply_text"]
        try:
            fields = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
            render(text, name="Test")
        except (ValueError, IndexError, KeyError) as exc:
            raise forms.ValidationError(f"Not a valid template: {exc}") from None
        unknown = fields - {"name", "greeting"}
        if unknown:
            raise forms.ValidationError(f"Only {{name}} and {{greeting}} may be used, not {sorted(unknown)}")
        return text


class SetTypeForm(forms.Form):
    reply_type = forms.ModelChoiceField(queryset=ReplyType.objects.all())


class SendForm(forms.Form):
    content = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=MAX_LENGTH, label="Reply")


class NotOptOutForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        help_text="Why this text was not an opt-out (kept in the consent ledger)",
    )


class ConsentForm(forms.Form):
    KINDS = [("opt_out", "Opt-out (stop texting this number)"), ("opt_in", "Fresh consent (opt back in)")]
    CHANNELS = [("phone", "Phone call"), ("email", "E-mail"), ("letter", "Letter"), ("in_person", "In person")]

    number = forms.CharField(max_length=30)
    kind = forms.ChoiceField(choices=KINDS, initial="opt_out")
    channel = forms.ChoiceField(choices=CHANNELS, label="Received by")
    evidence = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="What they said, when, reference of the call or e-mail"
    )
    send_confirmation = forms.BooleanField(required=False, label="Text them a confirmation of the opt-out")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("record", "Record"))

    def clean_number(self):
        try:
            return normalise(self.cleaned_data["number"])
        except InvalidNumber as exc:
            raise forms.ValidationError(f"Not a valid phone number: {exc}") from None
