"""Text normalisation for offline lookup: forgiving of case and accents, matched by prefix.

Each ticket gets a handful of terms (each word of the holder's name, the whole email, the order
and ticket numbers with and without punctuation). A query word matches a term that starts with
it; a ticket matches when every query word does. Terms are indexed, so a prefix is an index range
scan, not a table scan.
"""

from __future__ import annotations

import re
import unicodedata

_SPLIT = re.compile(r"[\s,;]+")
_PUNCT = re.compile(r"[^0-9a-z@]+")
MAX_TERM = 320


def normalise(text: str) -> str:
    """NFKD, combining marks dropped, casefolded: "María" -> "maria", "ÉCOLE" -> "ecole"."""
    if text.isascii():  # most names and every email and number: skip the Unicode work
        return text.lower().strip()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", stripped).casefold().strip()


def query_words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(normalise(text)) if w][:8]


def ticket_terms(
    holder_name: str, holder_email: str, order_number: str, ticket_number: str
) -> set[str]:
    """A ticket's terms. Its stored terms are deleted by recomputing them (no ticket_id index):
    a change here needs a migration that rebuilds ``ticket_terms``."""
    terms: set[str] = set()
    for word in _SPLIT.split(normalise(holder_name)):
        if word:
            terms.add(word)
            # "jean-pierre" is also found as "pierre"; "o'brien" as "brien"
            terms.update(p for p in _PUNCT.split(word) if p)
    email = normalise(holder_email)
    if email:
        terms.add(email)
    for number in (order_number, ticket_number):
        text = normalise(number)
        if text:
            terms.add(text)
            compact = _PUNCT.sub("", text)
            if compact:
                terms.add(compact)
            terms.update(p for p in _PUNCT.split(text) if p and len(p) > 2)
    return {t[:MAX_TERM] for t in terms}


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string above every string that starts with ``prefix``."""
    return prefix + "\U0010ffff"
