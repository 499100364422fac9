"""The Slack incoming-webhook body for one alert notification, within Block Kit's limits.

Everything that came from outside (messages, details, fingerprints) is escaped with
:func:`escape` before it reaches Slack, so text such as ``<!channel>`` or
``<https://evil|click>`` shows literally instead of pinging or linking. Over-long text is
cut with an ellipsis rather than rejected: an alert that is too big must still go out.
Blocks are built with slack_sdk's models so they match what Slack accepts. This module is a
leaf: it imports nothing from cardpay.
"""

import json

ELLIPSIS = "…"
# Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
TEXT_MAX = 3000  # section text, and our plain fallback text
FIELD_MAX = 2000  # each section field
FIELDS_MAX = 10  # fields per section
BLOCKS_MAX = 50  # blocks per message
STATES = {"firing": "FIRING", "repeat": "STILL FIRING", "resolved": "RESOLVED", "test": "TEST"}
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_FENCE = "```"


def escape(text):
    """Escape ``&``, ``<`` and ``>`` the way Slack requires, so raw text cannot ping or link."""
    # One pass, character by character, so the '&' of an inserted '&lt;' is never escaped again.
    return "".join(_ESCAPES.get(ch, ch) for ch in str(text))


def fit(text, limit, escaped=True):
    """Return ``text`` (escaped unless told not) cut to ``limit`` characters with an ellipsis."""
    text = str(text)
    out = escape(text) if escaped else text
    if len(out) <= limit:
        return out
    # Cut the raw text, then escape it, so an entity such as '&amp;' is never split in half.
    budget, kept = limit - len(ELLIPSIS), []
    for ch in text:
        piece = _ESCAPES.get(ch, ch) if escaped else ch
        if len(piece) > budget:
            break
        kept.append(piece)
        budget -= len(piece)
    return "".join(kept) + ELLIPSIS


def headline(payload):
    """Return the raw one-line summary: ``[STATE] SEVERITY type: message`` (not escaped)."""
    state = STATES.get(payload.get("status"), "FIRING")
    severity = str(payload.get("severity") or "unknown").upper()
    return f"[{state}] {severity} {payload.get('type', 'alert')}: {payload.get('message', '')}"


def _kit():
    """Return slack_sdk's block models, imported when the first Slack message is built: the import costs
    ~17 ms that every process start (a web worker never sends to Slack) would otherwise pay."""
    from slack_sdk.models import blocks

    return blocks


def _mrkdwn(text):
    return _kit().MarkdownTextObject(text=text)


def _field(name, value):
    # The label is ours and safe; only the value needs escaping, within the field limit.
    prefix = f"*{name}*\n"
    return _mrkdwn(prefix + fit(value, FIELD_MAX - len(prefix)))


def _details_block(details):
    text = json.dumps(details, indent=1, default=str, ensure_ascii=False)
    # A ``` inside the data would close the code block early; a zero-width space keeps it shut.
    text = text.replace(_FENCE, "`\u200b``")
    fenced = fit(text, TEXT_MAX - 2 * len(_FENCE) - 2)
    return _kit().SectionBlock(text=_mrkdwn(f"{_FENCE}\n{fenced}\n{_FENCE}"))


def body(payload) -> dict:
    """Return the incoming-webhook JSON body: plain ``text`` fallback plus Block Kit ``blocks``."""
    summary = headline(payload)
    fields = [("Type", payload.get("type", "")), ("Severity", payload.get("severity", "")),
              ("Status", payload.get("status", "")), ("Fingerprint", payload.get("fingerprint", "")),
              ("Occurrences", payload.get("occurrences", 1)), ("Time", payload.get("timestamp", ""))]
    kit = _kit()
    blocks = [
        # The headline stays the first block and a section (not a header), as receivers expect.
        kit.SectionBlock(text=_mrkdwn("*" + fit(summary, TEXT_MAX - 2) + "*")),
        kit.SectionBlock(fields=[_field(name, value) for name, value in fields][:FIELDS_MAX]),
    ]
    if payload.get("details"):
        blocks.append(_details_block(payload["details"]))
    footer = "cardpay · " + fit(payload.get("timestamp", ""), TEXT_MAX - 10)
    blocks.append(kit.ContextBlock(elements=[_mrkdwn(footer)]))
    return {"text": fit(summary, TEXT_MAX), "blocks": [block.to_dict() for block in blocks[:BLOCKS_MAX]]}
