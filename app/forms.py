"""Form fields shared by several packages."""

from __future__ import annotations

from wtforms import SelectMultipleField, widgets


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (amenities). In JSON: a list of strings."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def flatten_errors(errors: dict, prefix: str = "") -> dict[str, list[str]]:
    """WTForms nests FieldList errors; the API speaks `{"hours[0].opens": [...]}`."""
    flat: dict[str, list[str]] = {}
    for name, value in errors.items():
        key = f"{prefix}{name}" if name is not None else (prefix.rstrip(".") or "")
        if isinstance(value, dict):
            flat.update(flatten_errors(value, f"{key}."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, entry in enumerate(value):
                flat.update(flatten_errors(entry, f"{key}[{i}]."))
        elif isinstance(value, list):
            messages = [str(m) for m in value if not isinstance(m, dict | list)]
            if messages:
                flat[key] = messages
            for i, entry in enumerate(value):
                if isinstance(entry, dict) and entry:
                    flat.update(flatten_errors(entry, f"{key}[{i}]."))
    return flat


def form_errors(form) -> dict[str, list[str]]:
    """A form's errors under the names clients use (`from`, not the attribute `from_`)."""
    return flatten_errors({field.short_name: field.errors for field in form if field.errors})
