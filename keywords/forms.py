import secrets

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from keywords.models import BrokerProvider, Keyword, Number, StandardWords


class _Crispy:
    submit_label = "Save"

    def _helper(self):
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", self.submit_label))


class NumberForm(_Crispy, forms.ModelForm):
    class Meta:
        model = Number
        fields = ["number", "name", "kind", "catch_all"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._helper()


class KeywordForm(_Crispy, forms.ModelForm):
    link_url = forms.URLField(
        required=False, max_length=500, assume_scheme="https", help_text=Keyword._meta.get_field("link_url").help_text
    )

    class Meta:
        model = Keyword
        fields = [
            "word",
            "description",
            "numbers",
            "is_active",
            "active_from",
            "active_until",
            "reply_template",
            "link_url",
            "link_view",
            "reply_type_slug",
            "handler",
            "per_contact_limit",
        ]
        widgets = {
            "numbers": forms.CheckboxSelectMultiple,
            "reply_template": forms.Textarea(attrs={"rows": 3}),
            "active_from": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "active_until": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._helper()


class StandardWordsForm(_Crispy, forms.ModelForm):
    class Meta:
        model = StandardWords
        fields = [
            "opt_out_words",
            "opt_out_confirmation",
            "opt_in_words",
            "opt_in_confirmation",
            "help_words",
            "help_text",
        ]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._helper()


class BrokerProviderForm(_Crispy, forms.ModelForm):
    new_secret = forms.CharField(
        required=False,
        min_length=16,
        help_text="Leave empty to keep the current secret (a new provider gets a random one, shown once)",
    )

    class Meta:
        model = BrokerProvider
        fields = [
            "name",
            "slug",
            "origin_field",
            "text_field",
            "destination_field",
            "id_field",
            "allowed_ips",
            "is_active",
        ]
        widgets = {"allowed_ips": forms.Textarea(attrs={"rows": 2, "placeholder": "203.0.113.0/24"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._helper()
        self.shown_secret = ""

    def save(self, commit=True):
        provider = super().save(commit=False)
        secret = self.cleaned_data.get("new_secret") or ("" if provider.secret_hash else secrets.token_urlsafe(24))
        if secret:
            provider.set_secret(secret)
            self.shown_secret = secret
        if commit:
            provider.save()
        return provider


class TryForm(forms.Form):
    """The "test this keyword" box: nothing is stored or sent."""

    text = forms.CharField(max_length=1600, widget=forms.TextInput(attrs={"placeholder": "ABC.UNICORN"}))
    number = forms.CharField(
        max_length=20,
        required=False,
        help_text="Our number it is sent to",
        widget=forms.TextInput(attrs={"placeholder": "567"}),
    )
