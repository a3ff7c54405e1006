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
    a change here needs a migration that rebuilds ``ticket_terms``.

    Runs 9 times a ticket-second during a full download (100,000 tickets): the common case
    (ASCII text, words of letters and digits) takes the short paths, same terms as the long.
    """
    terms: set[str] = set()
    add = terms.add
    for word in _SPLIT.split(normalise(holder_name)):
        if word:
            add(word)
            if not (word.isascii() and word.isalnum()):
                # "jean-pierre" is also found as "pierre"; "o'brien" as "brien"
                terms.update(p for p in _PUNCT.split(word) if p)
    email = normalise(holder_email)
    if email:
        add(email)
    for number in (order_number, ticket_number):
        text = normalise(number)
        if text:
            add(text)
            if text.isascii() and text.isalnum():
                continue  # its compact form and its parts are itself
            parts = [p for p in _PUNCT.split(text) if p]
            compact = "".join(parts)
            if compact:
                add(compact)
            terms.update(p for p in parts if len(p) > 2)
    if (len(holder_name) <= MAX_TERM and len(holder_email) <= MAX_TERM
            and len(order_number) <= MAX_TERM and len(ticket_number) <= MAX_TERM
            and holder_name.isascii() and holder_email.isascii()
            and order_number.isascii() and ticket_number.isascii()):
        return terms  # ASCII normalises to the same length: nothing to cut
    return {t[:MAX_TERM] for t in terms}


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string above every string that starts with ``prefix``."""
    return prefix + "\U0010ffff"
