from datetime import timedelta

from django import forms

from campaigns.models import Template


class TemplateForm(forms.ModelForm):
    followup_delay_days = forms.FloatField(
        label="Follow-up delay (days)", min_value=0, initial=2, help_text="After the first text left"
    )
    link_url = forms.URLField(
        label="Link target",
        max_length=1000,
        required=False,
        assume_scheme="https",
        help_text="Where {link} takes each recipient: their own short link, clicks counted on this page",
    )
    confirm_no_footer = forms.BooleanField(
        required=False,
        label="I confirm these texts may go out without an opt-out footer",
        help_text="Needed only when you switch the footer off: marketing texts must say how to opt out.",
    )

    class Meta:
        model = Template
        fields = [
            "name",
            "slug",
            "is_active",
            "body",
            "followup_body",
            "followup_alt_body",
            "link_url",
            "extra_fields",
            "sender",
            "add_opt_out_footer",
            "opt_out_footer",
        ]
        labels = {
            "name": "Focus group",
            "followup_body": "Follow-up body",
            "followup_alt_body": "Alternative follow-up body",
            "add_opt_out_footer": "Add the opt-out footer",
            "opt_out_footer": "Opt-out footer",
            "sender": "Sender id",
        }
        widgets = {
            "body": forms.Textarea(attrs={"rows": 4, "data-preview": "body"}),
            "followup_body": forms.Textarea(attrs={"rows": 3, "data-preview": "followup_body"}),
            "followup_alt_body": forms.Textarea(attrs={"rows": 3, "data-preview": "followup_alt_body"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["followup_delay_days"].initial = self.instance.followup_delay.total_seconds() / 86400

    def clean(self):
        data = super().clean()
        if not data.get("add_opt_out_footer") and not data.get("confirm_no_footer"):
            self.add_error("confirm_no_footer", "Tick this to send without the opt-out footer.")
        return data

    def _post_clean(self):
        days = self.cleaned_data.get("followup_delay_days")
        if days is not None:
            self.instance.followup_delay = timedelta(days=days)
        super()._post_clean()  # runs Template.clean(): unknown placeholders are errors here


class ManualCampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    template = forms.ModelChoiceField(queryset=Template.objects.filter(is_active=True))
    numbers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="One per line: a number, optionally followed by a comma and the name",
    )
    scheduled_for = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="Empty: now"
    )


class UploadForm(forms.Form):
    name = forms.CharField(max_length=200)
    file = forms.FileField(
        help_text="CSV (number, name, optional group and extra columns), Excel (.xlsx) or JSON like the source"
    )
    template = forms.ModelChoiceField(
        queryset=Template.objects.filter(is_active=True),
        required=False,
        help_text="For rows without a group",
    )
    scheduled_for = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="Empty: now"
    )
    filename = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, mapping: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if mapping:  # second step: the file was kept on the server, its columns are being mapped
            self.fields["file"].required = False
