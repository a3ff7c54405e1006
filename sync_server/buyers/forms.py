"""The buyer's forms: the event search (a GET form, nothing to forge) and the ticket transfer."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from shared.wire_fields import CONTROL_CHARACTERS

_EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter an e-mail address.")


def _no_control_characters(form: FlaskForm, field: StringField) -> None:
    if field.data and CONTROL_CHARACTERS.search(field.data):
        raise ValidationError("Remove the invisible control characters.")


class EventSearchForm(FlaskForm):  # type: ignore[misc]  # flask-wtf ships no types
    class Meta:
        csrf = False  # a search changes nothing

    q = StringField("Name, venue or words", validators=[Optional(), Length(max=100),
                                                         _no_control_characters])
    city = StringField("City", validators=[Optional(), Length(max=120), _no_control_characters])
    category = SelectField("Category", choices=[], validate_choice=True, validators=[Optional()])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(min=1, max=10_000)])


class TransferForm(FlaskForm):  # type: ignore[misc]
    to_name = StringField("Their name", validators=[InputRequired(), Length(max=200),
                                                    _no_control_characters])
    to_email = EmailField("Their e-mail", validators=[InputRequired(), Length(max=254),
                                                      _EMAIL])
