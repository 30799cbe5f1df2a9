"""Admin forms: the account form takes API credentials write-only and never renders them back."""

from __future__ import annotations

from django import forms

from trading.models import Account, AlertChannel


class AccountAdminForm(forms.ModelForm):
    api_key = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only. Leave empty to keep the stored key.",
    )
    api_secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only. Leave empty to keep the stored secret.",
    )
    clear_api_credentials = forms.BooleanField(required=False, help_text="Remove the stored key and secret.")

    class Meta:
        model = Account
        fields = [
            "owner", "name", "mode", "live_trading_enabled", "environment", "maker_fee", "taker_fee",
            "slippage_bps", "slippage_range_fraction",
            "starting_capital", "max_open_positions", "kill_switch_engaged",
        ]

    KEEP_WHEN_EMPTY = ("slippage_bps", "slippage_range_fraction")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.KEEP_WHEN_EMPTY:  # left empty: the account keeps its value (the default on a new one)
            self.fields[name].required = False

    def clean(self):
        data = super().clean()
        for name in self.KEEP_WHEN_EMPTY:
            if data.get(name) is None and name not in self.errors:
                data[name] = getattr(self.instance, name)
        key, secret = data.get("api_key"), data.get("api_secret")
        if bool(key) != bool(secret):
            self.add_error("api_secret" if key else "api_key", "API key and secret must be given together")
        return data

    def _post_clean(self):
        # Put the new credentials on the instance before the model's own clean() checks live mode.
        key, secret = self.cleaned_data.get("api_key"), self.cleaned_data.get("api_secret")
        if self.cleaned_data.get("clear_api_credentials"):
            self.instance.clear_api_credentials()
        elif key and secret:  # for the environment chosen in this same form (construct_instance comes later)
            self.instance.set_api_credentials(api_key=key, api_secret=secret,
                                              environment=self.cleaned_data.get("environment"))
        super()._post_clean()


class AlertChannelAdminForm(forms.ModelForm):
    """The channel's Apprise URL is write-only here too; the service validates every field."""

    url = forms.CharField(required=False, strip=True, max_length=2000,
                          widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                          help_text="Write-only Apprise URL (tgram://, discord://, slack://, mailto://, json://...). "
                                    "Leave empty to keep the stored one.")

    class Meta:
        model = AlertChannel
        fields = ["owner", "name", "kinds", "near_liquidation_pct", "enabled"]

    def clean(self):
        from trading.services.alerts import validate_channel

        data = super().clean()
        if not self.instance.pk and not data.get("url"):
            self.add_error("url", "url: required")
        errors = validate_channel(url=data.get("url") or None, kinds=data.get("kinds"),
                                  near_liquidation_pct=data.get("near_liquidation_pct"))
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)
        return data

    def save(self, commit=True):
        if self.cleaned_data.get("url"):
            self.instance.set_url(self.cleaned_data["url"])
        return super().save(commit=commit)
