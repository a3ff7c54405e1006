"""Who is calling, and may they?

``tokens`` makes and hashes bearer secrets; ``access`` turns a bearer token into an ``Actor`` and
decides whether that actor may call a route (``Access``); ``sessions`` keeps the signed-in user
of the HTML pages in the session cookie. Auth sits below the domains it guards: what it needs
to know of devices, events and their staff it asks through one seam, ``access.Principals``,
which ``create_app`` fills in.
"""
