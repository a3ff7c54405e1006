"""A faithful local Stripe for tests and the demo (issue 14): see docs/payments.md."""
