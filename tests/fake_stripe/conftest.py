"""The fake Stripe's own fixtures, shared by its tests (other packages import them the same way)."""

from tests.fake_stripe.fixture import fake_stripe, stripe_client, webhook_receiver

__all__ = ["fake_stripe", "stripe_client", "webhook_receiver"]
