"""The organizer's order desk forms (Flask-WTF: CSRF on every one, checked on the server)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Regexp

from sync_server.webforms.forms import OnceForm

EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter an e-mail address.")
CONFIRM = DataRequired(message="Tick the box to confirm.")


class CancelOrderForm(FlaskForm):  # type: ignore[misc]  # flask-wtf ships no types
    reason = TextAreaField("Why is it cancelled?", validators=[
        DataRequired(message="Say why (the buyer is told)."), Length(max=500)])
    confirm = BooleanField("Yes: cancel the order, revoke its tickets and refund it",
                           validators=[CONFIRM])


class CompForm(OnceForm):
    """Complimentary tickets: sent twice (double click, reload), it still issues one order."""

    ticket_type = SelectField("Ticket type", coerce=int, validate_choice=True)
    quantity = IntegerField("How many", default=1, validators=[
        DataRequired(message="Give a number of tickets."),
        NumberRange(min=1, max=50, message="Give 1 to 50 tickets.")])
    holder_name = StringField("Guest's name", validators=[DataRequired(), Length(max=200)])
    holder_email = EmailField("Guest's e-mail", validators=[DataRequired(), Length(max=254),
                                                            EMAIL])
