"""The redactor on its own: every form of a secret, and sensitive names in any case."""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import quote

import orjson
import pytest

from runner.secrets import Redactor


def test_a_registered_secret_is_masked_in_every_form() -> None:
    redactor = Redactor()
    redactor.add("s3cret/value+1")
    text = " ".join(["s3cret/value+1", quote("s3cret/value+1", safe=""),
                     base64.b64encode(b"s3cret/value+1").decode()])
    assert redactor.text(text) == "[redacted] [redacted] [redacted]"


def test_sensitive_names_are_masked_whatever_their_case() -> None:
    redactor = Redactor()
    text = ('Authorization: Bearer-abc123 X-API-KEY=zzz9&page=2 {"Token":"v1","calledNo":"66"}'
            " PASSWORD: hunter2")
    assert redactor.text(text) == ('Authorization: [redacted] X-API-KEY=[redacted]&page=2 '
                                   '{"Token":"[redacted]","calledNo":"66"} PASSWORD: [redacted]')


def test_a_sensitive_value_is_masked_whole_scheme_spaces_and_escapes_included() -> None:
    text = ('{"Authorization": "Bearer abc def", "token": "a\\"b c", "n": 1} '
            "authorization: Basic dXNlcjpwdw== next")
    assert Redactor().text(text) == ('{"Authorization": "[redacted]", "token": "[redacted]", '
                                     '"n": 1} authorization: [redacted] next')


def test_a_secret_is_masked_inside_json_and_html_text_too() -> None:
    secret = 'Qx"7\\Zk<\u00e4>\'Wm'
    redactor = Redactor()
    redactor.add(secret)
    for text in (json.dumps({"k": secret}), orjson.dumps({"k": secret}).decode(),
                 html.escape(secret), html.escape(json.dumps({"k": secret}, ensure_ascii=False))):
        masked = redactor.text(text)
        assert "[redacted]" in masked and not {"Qx", "Zk", "Wm"} & set(_pieces(masked)), text


def _pieces(text: str) -> list[str]:
    return [text[i:i + 2] for i in range(len(text) - 1)]


def test_a_text_seen_clean_is_masked_once_its_secret_or_name_is_known() -> None:
    redactor = Redactor()
    assert redactor.text("id=s3cr3t-42 x-session: abc") == "id=s3cr3t-42 x-session: abc"
    redactor.add("s3cr3t-42")
    assert redactor.text("id=s3cr3t-42 x-session: abc") == "id=[redacted] x-session: abc"
    redactor.add_name("X-Session")
    assert redactor.text("id=s3cr3t-42 x-session: abc") == ("id=[redacted] "
                                                             "x-session: [redacted]")


def test_text_without_secrets_or_names_is_left_as_it_is() -> None:
    redactor = Redactor()
    redactor.add("s3cret/value+1")
    text = '{"calledNo":"13800000001","userAccount":"116","taskId":"2201"}'
    assert redactor.text(text) == text


@pytest.mark.parametrize("text", [
    '{"taskId":"2201"}\0{"remark":"an s3cret/value+1 here"}',  # a secret in one of many
    '{"calledNo":"1"}\0{"remark":"czNjcmV0L3ZhbHVlKzE="}',  # in base64
    '{"calledNo":"1"}\0{"Token":"abc"}',  # a sensitive name's value
    'sign=abc&x=1',
    # names and forms looked for through a shorter one they hold: `token`, unpadded base64
    '{"calledNo":"1"}\0{"ACCESS_TOKEN":"abc"}',
    "Proxy-Authorization: Basic eHl6",
    '{"remark":"czNjcmV0L3ZhbHVlKzE="}',
])
def test_texts_holding_anything_to_mask_are_not_passed_as_clean(text: str) -> None:
    redactor = Redactor()
    redactor.add("s3cret/value+1")
    assert redactor.text(text) != text
    assert not redactor.holds_none(text)


@pytest.mark.parametrize("text", [
    '{"calledNo":"13800000001"}\0{"outputs":{"status":"6"}}',
    '{"remark":"please sign the form","design":"token-free"}',  # names, but no value of one
])
def test_texts_holding_nothing_to_mask_are_clean(text: str) -> None:
    redactor = Redactor()
    redactor.add("s3cret/value+1")
    assert redactor.text(text) == text
    assert redactor.holds_none(text)
