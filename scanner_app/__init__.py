"""SteppersLife Door: the offline-first door scanner and box office (Qt shell over ``core``)."""

__version__ = "0.1.0"
