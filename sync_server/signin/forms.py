"""HTML forms (Flask-WTF, CSRF-protected) for sign-up and sign-in."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp

_EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter an e-mail address.")


class SignUpForm(FlaskForm):  # type: ignore[misc]  # flask-wtf ships no types
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254), _EMAIL])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=10, max=200)])


class SignInForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254), _EMAIL])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class ProfileForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254), _EMAIL])


class ResetRequestForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254), _EMAIL])


class NewPasswordForm(FlaskForm):  # type: ignore[misc]
    password = PasswordField("New password",
                             validators=[DataRequired(), Length(min=10, max=200)])


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """A button and its CSRF token."""
