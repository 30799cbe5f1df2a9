"""Admin form of StrategyConfig: the ``params`` JSON is edited through fields generated from the chosen
strategy's schema (types, bounds, defaults, help; admin-params.js), kept in the JSON field the model validates,
so errors name the parameter and the bound exactly as the API's do."""

from __future__ import annotations

import json

from django import forms
from django.utils.html import escape
from django.utils.safestring import mark_safe

from strategies.models import Strategy, StrategyConfig


def strategy_schemas() -> dict[str, dict]:
    """Strategy row id -> the registry's schema (params and plots) for every loaded strategy."""
    from strategies.algos import registry

    loaded = registry.all()
    return {str(pk): loaded[key].schema_json() for pk, key in Strategy.objects.values_list("pk", "key")
            if key in loaded}


class ParamsWidget(forms.Textarea):
    """The JSON textarea (kept, so the form still posts one field) plus the generated inputs that fill it."""

    class Media:
        js = ("frontend/admin-params.js",)

    def render(self, name, value, attrs=None, renderer=None):
        attrs = {**(attrs or {}), "data-params-json": "1", "rows": 3}
        textarea = super().render(name, value, attrs, renderer)
        schemas = escape(json.dumps(strategy_schemas()))
        return mark_safe(f'<div class="qd-params" data-schemas="{schemas}" data-for="{escape(attrs.get("id", ""))}">'
                         f'<div class="qd-param-fields"></div><details><summary>as JSON</summary>{textarea}</details></div>')


class StrategyConfigAdminForm(forms.ModelForm):
    KEEP_WHEN_EMPTY = ("entry_order", "entry_timeout_seconds")

    class Meta:
        model = StrategyConfig
        fields = "__all__"
        widgets = {"params": ParamsWidget}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.KEEP_WHEN_EMPTY:  # left empty: the config keeps its value (market, 60 s on a new one)
            self.fields[name].required = False

    def clean(self):
        data = super().clean()
        for name in self.KEEP_WHEN_EMPTY:
            if data.get(name) in (None, "") and name not in self.errors:
                data[name] = getattr(self.instance, name)
        return data
