"""Turn a JSON body into a filled WTForms form, so the API and the HTML pages share one form.

JSON carries types that form data does not: a number where a string belongs, a list, an
object. Those are refused here with a 422 naming the field, before WTForms sees them, so
no validator ever meets a type it does not expect.
"""

from __future__ import annotations

from typing import TypeVar

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DecimalField, FloatField, IntegerField

from app.errors import DomainError

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
    form = form_cls(formdata=None, meta={"csrf": False}, **kwargs)
    names = {name for name in form._fields if name != "csrf_token"}
    errors: dict[str, list[str]] = {}
    data = MultiDict()
    for key, value in body.items():
        if key not in names:
            errors[key] = [str(_l("Unknown field."))]
            continue
        if value is None:
            continue
        types, label = _expected(form[key])
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            errors[key] = [str(_l("Must be a %(type)s.", type=label))]
            continue
        if isinstance(value, bool):
            if value:
                data[key] = "y"
        else:
            data[key] = str(value)
    if errors:
        raise DomainError(errors)
    form = form_cls(formdata=data, meta={"csrf": False}, **kwargs)
    if not form.validate():
        raise DomainError({k: [str(m) for m in v] for k, v in form.errors.items()})
    return form, set(body)
