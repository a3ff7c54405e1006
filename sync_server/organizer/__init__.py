"""The organizer's pages that span domains: the dashboard, an event's people (staff, sellers,
door devices), discount codes and cancelling an event. It imports the domains; none imports it."""
