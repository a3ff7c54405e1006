"""The buyer's pages: find an event, see what is left, and the tickets they hold (QR on screen,
PDF, calendar file, transfer). The checkout form itself is the orders domain's
(``orders/routes.py``); this package reads the other domains and nothing imports it."""
