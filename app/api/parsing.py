"""Turn a JSON body into a filled WTForms form, so the API and the HTML pages share one form.

JSON carries types that form data does not: a number where a string belongs, a list, an
object. Those are refused here with a 422 naming the field, before WTForms sees them, so
no validator ever meets a type it does not expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DecimalField,
    FieldList,
    FloatField,
    FormField,
    IntegerField,
    SelectMultipleField,
)

from app.errors import DomainError
from app.forms import form_errors

F = TypeVar("F", bound=FlaskForm)


class BadRequestBody(DomainError):
    status = 400
    title = "Bad Request"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported Media Type"


def json_body() -> dict:
    """The request body as a JSON object; an empty body counts as `{}`."""
    if not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise UnsupportedMediaType(detail=str(_l("Send the body as application/json.")))
    try:
        body = request.get_json(force=True, silent=False, cache=True)
    except Exception as exc:  # werkzeug raises BadRequest with an HTML description
        raise BadRequestBody(detail=str(_l("The body is not valid JSON."))) from exc
    if not isinstance(body, dict):
        raise DomainError({"": [str(_l("The body must be a JSON object."))]})
    return body


def _expected(field) -> tuple[tuple[type, ...], str]:
    if isinstance(field, SelectMultipleField):
        return (list,), _l("list of strings")
    if isinstance(field, FieldList):
        return (list,), _l("list of objects")
    if isinstance(field, FormField):
        return (dict,), _l("object")
    if isinstance(field, BooleanField):
        return (bool,), _l("boolean (true or false)")
    if isinstance(field, IntegerField):
        return (int,), _l("whole number")
    if isinstance(field, (DecimalField, FloatField)):
        return (int, float), _l("number")
    return (str,), _l("string")


def form_from_json(form_cls: type[F], body: dict | None = None, **kwargs) -> tuple[F, set[str]]:
    """Build and validate `form_cls` from the JSON body; answer the form and the keys given.

    Raises a 422 `DomainError` with `{field: [messages]}` for unknown fields, wrong types
    and anything the form's validators refuse.
    """
    body = json_body() if body is None else body
    data = MultiDict()
    errors: dict[str, list[str]] = {}
    _flatten(form_cls, body, "", data, errors)
    if errors:
        raise DomainError(errors)
    form = form_cls(formdata=data, meta={"csrf": False}, **kwargs)
    if not form.validate():
        raise DomainError(form_errors(form))
    return form, set(body)


@dataclass(frozen=True)
class _Slot:
    """What `_flatten` needs of one field, read once per form class."""

    field_cls: type
    types: tuple[type, ...]
    type_label: object  # a lazy string
    sub_cls: type | None  # the form of a FormField, or of a FieldList's FormField entries


_SCHEMAS: dict[type, dict[str, _Slot]] = {}


def _schema(form_cls) -> dict[str, _Slot]:
    """The fields of `form_cls` by their public name (`from`, even when the attribute is
    `from_`), from one unbound instance built the first time: building a form binds every field,
    which is most of what `form_from_json` cost per request."""
    schema = _SCHEMAS.get(form_cls)
    if schema is None:
        form = form_cls(formdata=None, meta={"csrf": False})
        schema = {}
        for field in form:
            if field.short_name == "csrf_token":
                continue
            types, type_label = _expected(field)
            sub_cls = None
            if isinstance(field, FieldList):
                if field.unbound_field.field_class is FormField:
                    sub_cls = field.unbound_field.args[0]
            elif isinstance(field, FormField):
                sub_cls = field.form_class
            schema[field.short_name] = _Slot(type(field), types, type_label, sub_cls)
        _SCHEMAS[form_cls] = schema
    return schema


def _flatten(form_cls, body: dict, prefix: str, data: MultiDict, errors: dict) -> None:
    """JSON object → form data names (`hours-0-opens`), checking each value's JSON type."""
    fields = _schema(form_cls)
    for key, value in body.items():
        label = f"{_api_prefix(prefix)}{key}"
        slot = fields.get(key)
        if slot is None:
            errors[label] = [str(_l("Unknown field."))]
            continue
        if value is None:
            continue
        types = slot.types
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            errors[label] = [str(_l("Must be a %(type)s.", type=slot.type_label))]
        elif issubclass(slot.field_cls, FieldList):
            for i, item in enumerate(value):
                if slot.sub_cls is None or not isinstance(item, dict):
                    errors[f"{label}[{i}]"] = [str(_l("Must be an object."))]
                else:
                    _flatten(slot.sub_cls, item, f"{prefix}{key}-{i}-", data, errors)
        elif issubclass(slot.field_cls, FormField):
            _flatten(slot.sub_cls, value, f"{prefix}{key}-", data, errors)
        elif issubclass(slot.field_cls, SelectMultipleField):
            if not all(isinstance(v, str) for v in value):
                errors[label] = [str(_l("Must be a %(type)s.", type=_l("list of strings")))]
            for v in value:
                data.add(f"{prefix}{key}", v)
        elif isinstance(value, bool):
            if value:
                data[f"{prefix}{key}"] = "y"
        else:
            data[f"{prefix}{key}"] = str(value)


def _api_prefix(prefix: str) -> str:
    """`hours-0-` (form data) → `hours[0].` (API field names)."""
    if not prefix:
        return ""
    parts = prefix.rstrip("-").split("-")
    out = ""
    for i in range(0, len(parts), 2):
        out += f"{parts[i]}[{parts[i + 1]}]." if i + 1 < len(parts) else f"{parts[i]}."
    return out


def refuse_empty_numbers(args, upper: dict[str, int]) -> None:
    """A whole-number query parameter given with no value (`?seats=`) is a 422, as the OpenAPI
    document says (the HTML search form, which shares the form class, reads it as "not given")."""
    errors = {
        name: [str(_l("A whole number from 1 to %(n)s.", n=top))] for name, top in upper.items() if args.get(name) == ""
    }
    if errors:
        raise DomainError(errors)
