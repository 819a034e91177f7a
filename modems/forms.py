import re

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings

from modems.models import ENV_NAME_RE, OPTION_RE, Network, SimCard, parse_mcc_mnc
from sms.phone import InvalidNumber, normalise

SECRET_OPTION_RE = re.compile(r"pass|secret|token|api_?key", re.IGNORECASE)


class NetworkForm(forms.ModelForm):
    class Meta:
        model = Network
        fields = ["name", "kind", "carrier_names", "mcc_mnc"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Save network"))

    def clean_mcc_mnc(self):
        """Stored as the modem reports them: "234 15; 23410" -> "23415,23410"."""
        return ",".join(parse_mcc_mnc(self.cleaned_data["mcc_mnc"]))


def _gateway_choices():
    return [("", "—")] + [(slug, slug) for slug in settings.SMS_BACKENDS if slug != "modem"]


class SimCardForm(forms.ModelForm):
    """A SIM in a modem (device path) or a gateway account (backend + credential variables).

    Credentials are entered as ``option=ENV_VARIABLE`` lines: the secrets stay in the
    environment, the database and this form only ever see the variable names.
    """

    KIND_CHOICES = [("modem", "SIM in a USB modem"), ("gateway", "Gateway account")]
    kind = forms.ChoiceField(choices=KIND_CHOICES, widget=forms.RadioSelect, initial="modem")
    backend = forms.ChoiceField(choices=_gateway_choices, required=False, label="Gateway backend")
    credentials = forms.CharField(
        label="Credential variables",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "account_sid=SIM_SHOP2_TWILIO_SID"}),
        help_text="One option=ENVIRONMENT_VARIABLE per line. The values stay in the server's environment "
        "and are never stored or shown here.",
    )

    class Meta:
        model = SimCard
        fields = [
            "name",
            "network",
            "number",
            "kind",
            "device",
            "pin_env",
            "backend",
            "daily_limit",
            "priority",
            "prefixes",
            "options",
            "active",
            "price_per_segment",
            "currency",
            "max_in_flight",
            "messages_per_second",
            "low_balance_threshold",
        ]
        widgets = {"options": forms.Textarea(attrs={"rows": 4, "placeholder": '{"preset": "kannel", "url": "..."}'})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "credentials"
        ].help_text += f" Variable names must start with {settings.MODEMS_CREDENTIALS_ENV_PREFIX}."
        if self.instance.pk:
            self.initial["kind"] = "modem" if self.instance.is_modem else "gateway"
            self.initial["credentials"] = "\n".join(f"{k}={v}" for k, v in self.instance.credentials_env.items())
        self.order_fields(["name", "network", "number", "kind", "device", "pin_env", "backend", "credentials"])
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Save SIM"))

    def clean_number(self):
        number = self.cleaned_data["number"].strip()
        if not number:
            return ""
        try:
            return normalise(number)
        except InvalidNumber as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_prefixes(self):
        prefixes = [p.strip() for p in self.cleaned_data["prefixes"].split(",") if p.strip()]
        for prefix in prefixes:
            if not (prefix.startswith("+") and prefix[1:].isdigit()):
                raise forms.ValidationError(f"{prefix!r}: write E.164 prefixes such as +44 or +4477")
        return ", ".join(prefixes)

    def clean_options(self):
        options = self.cleaned_data.get("options") or {}
        if not isinstance(options, dict):
            raise forms.ValidationError('Route options are a JSON object, e.g. {"host": "smsc.example.com"}')
        secret = [k for k in options if SECRET_OPTION_RE.search(str(k))]
        if secret:
            raise forms.ValidationError(
                f"{', '.join(secret)}: secrets go in the credential variables (read from the environment), "
                "never in the route options"
            )
        return options

    def clean_currency(self):
        currency = self.cleaned_data["currency"].strip().upper()
        if currency and (len(currency) != 3 or not currency.isalpha()):
            raise forms.ValidationError("Three letters, e.g. GBP.")
        return currency

    def clean_credentials(self):
        mapping = {}
        prefix = settings.MODEMS_CREDENTIALS_ENV_PREFIX
        for line in self.cleaned_data["credentials"].splitlines():
            if not line.strip():
                continue
            option, sep, env_name = (part.strip() for part in line.partition("="))
            if not sep or not OPTION_RE.match(option):
                raise forms.ValidationError(f"{line.strip()!r}: write option=VARIABLE_NAME")
            if not ENV_NAME_RE.match(env_name) or not env_name.startswith(prefix):
                raise forms.ValidationError(f"{env_name!r}: variable names are upper case and start with {prefix}")
            mapping[option] = env_name
        return mapping

    def clean(self):
        data = super().clean()
        if data.get("kind") == "modem":
            if not data.get("device"):
                self.add_error("device", "Give the modem's serial device, e.g. /dev/ttyUSB2.")
            data["backend"], data["credentials"], data["options"] = "", {}, {}
            data["pin_env"] = (data.get("pin_env") or "").strip()
        elif data.get("kind") == "gateway":
            if not data.get("backend"):
                self.add_error("backend", "Choose the gateway this account belongs to.")
            elif data.get("backend") == "http_connector":
                from modems.connector import validate

                for problem in validate(data.get("options") or {}):
                    self.add_error("options", problem)
            data["device"], data["pin_env"] = "", ""
        return data

    def save(self, commit=True):
        # Staff looked at the SIM: a PIN it refused may be tried again (a new one, or a new SIM).
        self.instance.pin_refused = False
        return super().save(commit=commit)

    def _post_clean(self):
        # The model's clean() checks the same rules; give it the values the form decided on.
        self.instance.credentials_env = self.cleaned_data.get("credentials", {}) or {}
        self.instance.backend = self.cleaned_data.get("backend", "") or ""
        self.instance.device = self.cleaned_data.get("device", "") or ""
        self.instance.pin_env = self.cleaned_data.get("pin_env", "") or ""
        super()._post_clean()


class TestTextForm(forms.Form):
    """The number a route's test text goes to (typed in by staff on the route page)."""

    recipient = forms.CharField(label="Send a test text to", max_length=30)

    def clean_recipient(self):
        try:
            return normalise(self.cleaned_data["recipient"])
        except InvalidNumber as exc:
            raise forms.ValidationError(str(exc)) from None
