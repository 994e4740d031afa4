"""Secrets out of text that is about to be logged: device tokens in `/key/<token>`
paths, JWTs, Authorization header values, passwords and secrets in query strings,
form bodies, JSON and URLs.

One function (`redact`) over the whole text rather than one rule per call site: a
path can come in doubled (`//key/<token>/formList`, a phone's mistyped server URL),
percent-encoded, inside uvicorn's own access line or an exception's message. Cheap
when there is nothing to redact (one search over the text).
"""

from __future__ import annotations

import re

MASK = "***"

# Names whose value is a secret, in a query string, a form body, JSON or `name=value`.
_NAMES = ("password", "passwd", "pwd", "new_password", "current_password", "secret",
          "client_secret", "token", "access_token", "refresh_token", "id_token", "api_key",
          "apikey", "key", "auth", "authorization", "signature", "sig")
_SECRET_NAMES = "|".join(sorted(_NAMES, key=len, reverse=True))
_SCHEMES = ("bearer", "basic", "digest", "token")


_ANY_NAME = re.compile("|".join(_NAMES))


def _has_name(text: str, low: str) -> bool:
    return _ANY_NAME.search(low) is not None


# (when to try it: a cheap test on the text and its lower-case form, the pattern, what
# replaces it). Each rule runs only when its plain-substring test passes, so an
# ordinary access line costs a few substring searches.
_RULES: list[tuple] = [
    # a device token in a path, however many slashes precede it, also percent-encoded
    (lambda t, low: "/key/" in t, re.compile(r"(/key/)[^/\s?#\"'<>]+"), r"\1" + MASK),
    (lambda t, low: "%2fkey%2f" in low,
     re.compile(r"(%2Fkey%2F)[^/%\s?#&\"'<>]+", re.IGNORECASE), r"\1" + MASK),
    # a path segment as long as a device token (48 characters; ids and UUIDs are
    # shorter): a token in a URL that lost its `/key/` (a server URL typed wrong)
    (lambda t, low: len(t) > 40 and "/" in t,
     re.compile(r"/[A-Za-z0-9_-]{40,}(?=[/?#\s\"']|$)"), "/" + MASK),
    # an Authorization header's value, wherever it is quoted
    (lambda t, low: any(scheme in low for scheme in _SCHEMES),
     re.compile(r"\b(Bearer|Basic|Digest|Token)(\s+|%20|\+)[A-Za-z0-9._~+/=\-]{6,}",
                re.IGNORECASE), r"\1\2" + MASK),
    # any JWT (three base64url parts, the first a JSON header)
    (lambda t, low: "eyJ" in t,
     re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    # user:password@ in a URL (a database URL in an error)
    (lambda t, low: "://" in t and "@" in t,
     re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@/\s]+(@)"), r"\1" + MASK + r"\2"),
    # name=value (query strings, form bodies) and "name": "value" (JSON, reprs)
    (lambda t, low: "=" in t and _has_name(t, low),
     re.compile(rf"(?i)((?<![A-Za-z0-9_])(?:{_SECRET_NAMES})=)[^&\s\"'<>;,]+"), r"\1" + MASK),
    (lambda t, low: ("\"" in t or "'" in t) and _has_name(t, low),
     re.compile(rf"(?i)([\"'](?:{_SECRET_NAMES})[\"']\s*:\s*[\"'])[^\"']*"), r"\1" + MASK),
]


def redact(text: str) -> str:
    """`text` with every secret it contains replaced by ***."""
    low = text.lower()
    for applies, pattern, replacement in _RULES:
        if applies(text, low):
            text = pattern.sub(replacement, text)
            low = text.lower()
    return text
