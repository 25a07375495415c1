"""Text hygiene on the way into and out of a language model (pure).

- `scrub_private`: users' email addresses and Slack tokens never reach the model.
- `defuse_mentions`: nothing the assistant posts can ping a channel or a person, whatever a page or a model wrote.
- `escape_delimiters`: page text cannot close the `<source>` block it is quoted in.
- `escape_attribute`: a value quoted on a prompt line (a page URL) stays on that line, inert.
- `clean_text`: text that cannot be encoded (lone surrogates) or that steers a terminal or the reading direction
  (ANSI escapes, C0/C1 controls, bidi overrides) is made plain.
"""

from __future__ import annotations

import re

from core.text import clean_text

__all__ = ["clean_text", "defuse_mentions", "escape_attribute", "escape_delimiters", "scrub_private"]

EMAIL_PLACEHOLDER = "[email address]"
TOKEN_PLACEHOLDER = "[token]"

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Slack tokens (bot, user, app-level, config, refresh, workflow) and signing-secret-like hex blobs after a keyword.
_SLACK_TOKEN = re.compile(r"\b(?:xox[abposcer]|xapp|xoxe\.xox[bp])-[A-Za-z0-9-]{8,}")
_MAILTO = re.compile(r"<mailto:[^>|]*(?:\|[^>]*)?>")

# Slack special mentions in markup: <!channel>, <!here>, <!everyone>, <!subteam^S123|@team>, and user mentions
# <@U123>. Plain "@channel" / "@here" / "@everyone" become live mentions when a message is sent with link_names.
_MARKUP_MENTION = re.compile(r"<\s*[!@][^>]*>")
_PLAIN_MENTION = re.compile(r"(?i)(?<![\w@])@(channel|here|everyone|all)\b")
_WORD_JOINER = "\u2060"

_DELIMITER = re.compile(r"(?i)<\s*(/?)\s*(sources?|question|conversation|follow_up)\b")

_LINE_BREAK = re.compile(r"[\r\n]+")


def scrub_private(text: str) -> str:
    """Replace email addresses and Slack tokens with placeholders."""
    text = _MAILTO.sub(EMAIL_PLACEHOLDER, text)
    text = _EMAIL.sub(EMAIL_PLACEHOLDER, text)
    return _SLACK_TOKEN.sub(TOKEN_PLACEHOLDER, text)


def _markup_to_text(match: re.Match[str]) -> str:
    inner = match.group(0)[1:-1].strip()
    label = inner.split("|", 1)[1] if "|" in inner else inner[1:].split("^", 1)[0]
    return "@" + _WORD_JOINER + label.lstrip("@")


def defuse_mentions(text: str) -> str:
    """Turn every Slack mention into inert text: `<!channel>` -> "@⁠channel" with a word joiner after the "@"."""
    text = _MARKUP_MENTION.sub(_markup_to_text, text)
    return _PLAIN_MENTION.sub(lambda m: "@" + _WORD_JOINER + m.group(1), text)


def escape_delimiters(text: str) -> str:
    """Page text that imitates the prompt's block tags (`</source>`, `<question>`) loses its angle bracket."""
    return _DELIMITER.sub(lambda m: "‹" + m.group(1) + m.group(2), text)


def escape_attribute(text: str) -> str:
    """A value for one prompt line: no line breaks, no angle brackets or quotes that could open or close a tag."""
    text = _LINE_BREAK.sub(" ", clean_text(text))
    return text.replace("<", "%3C").replace(">", "%3E").replace('"', "%22")
