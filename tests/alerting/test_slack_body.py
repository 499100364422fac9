"""The Slack alert body: attacker text is escaped, and every block passes slack_sdk's Block Kit checks."""

import pytest
from slack_sdk.models.blocks import Block, SectionBlock

from cardpay.alerting import slack


def payload(**overrides):
    base = {"status": "firing", "severity": "critical", "type": "threshold_exceeded",
            "message": "webhook_processing took 6200 ms (threshold 5000 ms)",
            "fingerprint": "threshold_exceeded:webhook_processing", "occurrences": 3,
            "timestamp": "2026-12-05T03:00:00Z", "details": {"duration_ms": 6200.0, "threshold_ms": 5000}}
    base.update(overrides)
    return base


def assert_valid(result):
    """Re-parse every block with slack_sdk and enforce the limits it does not check itself."""
    assert set(result) == {"text", "blocks"}
    assert len(result["text"]) <= slack.TEXT_MAX
    assert 0 < len(result["blocks"]) <= slack.BLOCKS_MAX
    for d in result["blocks"]:
        block = Block.parse(d)
        block.validate_json()  # raises SlackObjectFormationError on a broken limit
        assert block.to_dict() == d
        if d["type"] == "section":
            SectionBlock(**{k: v for k, v in d.items() if k != "type"}).validate_json()
            assert len(d.get("fields", [])) <= slack.FIELDS_MAX
            for field in d.get("fields", []):
                assert len(field["text"]) <= slack.FIELD_MAX
            if "text" in d:
                assert len(d["text"]["text"]) <= slack.TEXT_MAX


def all_text(result):
    texts = [result["text"]]
    for d in result["blocks"]:
        texts += [d.get("text", {}).get("text", "")]
        texts += [f["text"] for f in d.get("fields", [])]
        texts += [e.get("text", "") for e in d.get("elements", [])]
    return texts


@pytest.mark.parametrize("status, state", [("firing", "[FIRING]"), ("repeat", "[STILL FIRING]"),
                                           ("resolved", "[RESOLVED]"), ("test", "[TEST]")])
def test_each_status_gives_a_valid_body(status, state):
    result = slack.body(payload(status=status))
    assert_valid(result)
    assert result["text"] == f"{state} CRITICAL threshold_exceeded: webhook_processing took 6200 ms (threshold 5000 ms)"
    assert result["blocks"][0]["type"] == "section"
    assert result["blocks"][-1]["type"] == "context"


def test_channel_ping_and_links_are_escaped_everywhere():
    evil = "<!channel> see <https://evil.example|click> & <@U123>"
    result = slack.body(payload(message=evil, fingerprint=evil, details={"note": evil}, timestamp=evil))
    assert_valid(result)
    for text in all_text(result):
        assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt;" in result["text"]
    assert "&lt;https://evil.example|click&gt;" in result["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt;" in result["blocks"][2]["text"]["text"]


def test_escape():
    assert slack.escape("<!channel>") == "&lt;!channel&gt;"
    assert slack.escape("a & b") == "a &amp; b"
    assert slack.escape("&amp;") == "&amp;amp;"  # raw text is escaped once, exactly as given
    assert slack.escape(42) == "42"


def test_ampersand_escaped_once():
    result = slack.body(payload(message="R&D costs"))
    assert "R&amp;D costs" in result["text"]
    assert "&amp;amp;" not in result["text"]


def test_ten_thousand_character_message_stays_within_limits():
    result = slack.body(payload(message="x" * 10_000, fingerprint="f" * 10_000,
                                details={"blob": "<" * 10_000}))
    assert_valid(result)
    assert result["text"].endswith(slack.ELLIPSIS)
    assert result["blocks"][0]["text"]["text"].endswith(slack.ELLIPSIS + "*")
    assert result["blocks"][2]["text"]["text"].endswith(slack.ELLIPSIS + "\n```")


def test_truncation_never_splits_an_entity():
    text = slack.fit("&" * 100, 50)
    assert len(text) <= 50 and text.endswith(slack.ELLIPSIS)
    assert text[:-1] == "&amp;" * 9


def test_fit_leaves_short_text_alone():
    assert slack.fit("short", 10) == "short"
    assert slack.fit("abcdefghij", 5) == "abcd" + slack.ELLIPSIS


def test_details_in_a_code_block_that_cannot_be_closed_early():
    result = slack.body(payload(details={"note": "```*bold* escape```"}))
    assert_valid(result)
    text = result["blocks"][2]["text"]["text"]
    assert text.startswith("```\n") and text.endswith("\n```")
    assert text.count("```") == 2
    assert '"note"' in text


def test_no_details_means_no_details_block():
    result = slack.body(payload(details={}))
    assert_valid(result)
    assert [b["type"] for b in result["blocks"]] == ["section", "section", "context"]


def test_minimal_payload_still_valid():
    assert_valid(slack.body({"status": "test", "message": "hello"}))
