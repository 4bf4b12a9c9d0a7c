from __future__ import annotations

import pytest

from runner.errors import FileError
from runner.yamlio import load_text


def test_scalars_follow_yaml_1_2_and_keep_codes_as_written() -> None:
    doc = load_text("a: no\nb: 2023-03-01\nc: 0200001\nd: 8\ne: true\nf: ~\ng: 1.5\n")
    assert doc.data == {"a": "no", "b": "2023-03-01", "c": "0200001", "d": 8, "e": True,
                        "f": None, "g": 1.5}


def test_mapping_keys_stay_text() -> None:
    assert load_text("0200001: {meaning: x}\n5: y\n").data == {"0200001": {"meaning": "x"},
                                                               "5": "y"}


def test_every_node_has_a_position() -> None:
    doc = load_text("top:\n  list:\n    - a\n    - {k: v}\n", "f.yaml")
    assert str(doc.locate(("top", "list", 1, "k"))) == "f.yaml:4:11 (top.list[1].k)"
    assert str(doc.locate(("top", "list"), key=True)) == "f.yaml:2:3 (top.list)"


def test_a_missing_node_is_located_at_its_nearest_ancestor() -> None:
    doc = load_text("top:\n  list: []\n", "f.yaml")
    assert str(doc.locate(("top", "list", 3))) == "f.yaml:2:9 (top.list[3])"


@pytest.mark.parametrize(("text", "message"), [
    ("a: 1\na: 2\n", "f.yaml:2:1: duplicate key 'a' (first written on line 1)"),
    ("a:\n\tb: 1\n", "f.yaml:2:1: invalid YAML: a tab character; YAML indentation must use spaces"),
    ("a: !!binary abc\n", "f.yaml:1:4: the tag tag:yaml.org,2002:binary is not supported"),
    ("a: &x [*x]\n", "f.yaml: the document is nested too deeply"),
    ("? [1]\n: x\n", "f.yaml:1:3: a mapping key must be a plain value"),
    ("a: {{ inputs.x }}\n", "f.yaml:1:4: a template must be quoted in YAML: unquoted, '{{' "
     "starts a mapping in a mapping; write \"{{ ... }}\""),
    ("a: [{{x}}]\n", "f.yaml:1:5: a template must be quoted in YAML: unquoted, '{{' starts a "
     "mapping in a mapping; write \"{{ ... }}\""),
    ("a: { {b: 1}: 2 }\n", "f.yaml:1:6: a mapping key must be a plain value"),
    ("steps:\n- id: x\n  call: y\n - id: z\n", "f.yaml:4:2: invalid YAML: expected the block "
     "to end, but found a list item: check this line's indentation"),
    ("a:\n  - x\n  y: 1\n", "f.yaml:3:3: invalid YAML: expected the block to end, but found "
     "a key: check this line's indentation"),
    ("remark: call back: after 5pm\n", "f.yaml:1:18: invalid YAML: a ': ' where no key may "
     "start: quote the value if it is text that holds one, or check this line's indentation"),
    ("a: [1, 2\n", "f.yaml:2:1: invalid YAML: expected ',' or ']', but got the end of the file "
     "(while parsing a [...] list that starts at 1:4)"),
    ('name: "call back\nsteps: []\n', "f.yaml:3:1: invalid YAML: the file ended first (while "
     "scanning a quoted text that starts at 1:7)"),
    ("a: 1\n---\nb: 2\n", "f.yaml:2:1: invalid YAML: a second document starts here (after "
     "'---'), and the file must hold one"),
])
def test_bad_yaml_is_reported_with_its_position(text: str, message: str) -> None:
    with pytest.raises(FileError) as caught:
        load_text(text, "f.yaml")
    assert str(caught.value) == message


def test_an_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    with pytest.raises(FileError, match="more than 1000000 nodes"):
        load_text("\n".join(lines) + "\n", "bomb.yaml")
