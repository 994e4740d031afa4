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
_SECRET_NAMES = (r"password|passwd|pwd|new_password|current_password|secret|client_secret|"
                 r"token|access_token|refresh_token|id_token|api_key|apikey|key|auth|"
                 r"authorization|signature|sig|code")

_RULES: list[tuple[re.Pattern, str]] = [
    # a device token in a path, however many slashes precede it, also percent-encoded
    (re.compile(r"(/key/)[^/\s?#\"'<>]+"), r"\1" + MASK),
    (re.compile(r"(%2Fkey%2F)[^/%\s?#&\"'<>]+", re.IGNORECASE), r"\1" + MASK),
    # a path segment as long as a device token (48 characters; ids and UUIDs are
    # shorter): a token in a URL that lost its `/key/` (a server URL typed wrong)
    (re.compile(r"(?<=/)[A-Za-z0-9_-]{40,}(?=[/?#\s\"']|$)"), MASK),
    # an Authorization header's value, wherever it is quoted
    (re.compile(r"\b(Bearer|Basic|Digest|Token)(\s+|%20|\+)[A-Za-z0-9._~+/=\-]{6,}",
                re.IGNORECASE), r"\1\2" + MASK),
    # any JWT (three base64url parts, the first a JSON header)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    # user:password@ in a URL (a database URL in an error)
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@/\s]+(@)"), r"\1" + MASK + r"\2"),
    # name=value (query strings, form bodies) and "name": "value" (JSON, reprs)
    (re.compile(rf"(?i)((?<![A-Za-z0-9_])(?:{_SECRET_NAMES})=)[^&\s\"'<>;,]+"), r"\1" + MASK),
    (re.compile(rf"(?i)([\"'](?:{_SECRET_NAMES})[\"']\s*:\s*[\"'])[^\"']*"), r"\1" + MASK),
]
_TRIGGER = re.compile(
    rf"(?i)/[A-Za-z0-9_-]{{40}}|/key/|%2Fkey%2F|bearer|basic|digest|token|eyJ|://[^/\s]*@|(?:{_SECRET_NAMES})[\"']?\s*[=:]")


def redact(text: str) -> str:
    """`text` with every secret it contains replaced by ***."""
    if not _TRIGGER.search(text):
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text
