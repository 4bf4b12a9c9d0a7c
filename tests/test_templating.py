from __future__ import annotations

from typing import Any

import pytest

from runner.errors import Location, TemplateError
from runner.templating import (
    TemplatedValue,
    compared,
    compile_template,
    environment_variables,
    same_source,
)

HERE = Location("p.yaml", 3, 9, ("steps", 0, "params", "x"))


def render(source: str, **scope: Any) -> Any:
    return compile_template(source, HERE).render(scope)


def test_a_lone_expression_keeps_its_native_type() -> None:
    assert render("{{ n }}", n=8) == 8
    assert render("{{ n + 1 }}", n=8) == 9
    assert render("{{ xs | map(attribute='a') | list }}", xs=[{"a": 1}]) == [1]
    assert render("{{ flag }}", flag=False) is False


def test_text_around_an_expression_makes_text_and_text_is_never_reparsed() -> None:
    assert render("v{{ n }}", n=8) == "v8"
    assert render("{{ s }}", s="8") == "8"
    assert render("{{ s }}", s="[1, 2]") == "[1, 2]"


def test_data_from_a_vendor_is_never_rendered() -> None:
    vendor_body = {"remark": "{{ 7 * 7 }}", "name": "{% for x in range(3) %}x{% endfor %}"}
    assert render("{{ response.remark }}", response=vendor_body) == "{{ 7 * 7 }}"
    assert render("{{ response }}", response=vendor_body) == vendor_body


def test_dotted_access_reads_data_fields_before_python_methods() -> None:
    assert render("{{ step.items | length }}", step={"items": [1, 2]}) == 2
    assert render("{{ r.values }}", r={"values": "x"}) == "x"


@pytest.mark.parametrize(("source", "scope", "message"), [
    ("{{ missing }}", {}, "p.yaml:3:9 (steps[0].params.x): 'missing' is undefined in "
                          "'{{ missing }}'"),
    ("{{ d.k }}", {"d": {}}, "no key 'k' here: it is empty"),
    ("{{ c.numbr }}", {"c": {"number": "1", "name": "Li"}},
     "no key 'numbr' here; did you mean 'number'? (the keys: name, number) in '{{ c.numbr }}'"),
    ("{{ d['k'] }}", {"d": {str(n): n for n in range(20)}},
     "no key 'k' here (the keys: 0, 1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, ...)"),
    ("id-{{ missing }}", {}, "'missing' is undefined"),
    ("{{ env.OUTBOUND_SURELY_UNSET_VAR }}", {"env": environment_variables()},
     "the environment variable OUTBOUND_SURELY_UNSET_VAR is not set"),
    ("{{ x.__class__.__mro__ }}", {"x": 1}, "not allowed: access to attribute '__class__'"),
    ("{{ [].append(1) }}", {}, "not allowed: access to attribute 'append'"),
    ("{{ range(10**9) | list }}", {}, "Range too big"),
    ("{{ 1 / 0 }}", {}, "ZeroDivisionError: division by zero"),
])
def test_bad_templates_fail_with_where_and_why(source: str, scope: dict[str, Any],
                                               message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(source, **scope)
    assert message in str(caught.value)


def test_syntax_errors_are_reported_at_compile_time() -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template("{{ now_ms() + }}", HERE)
    assert str(caught.value).startswith("p.yaml:3:9 (steps[0].params.x): template syntax error")


@pytest.mark.parametrize(("source", "said"), [
    ("{{ name | uper }}", "template syntax error: no filter named 'uper'; did you mean "
                          "'upper'? in '{{ name | uper }}'"),
    ("{% if name is definde %}x{% endif %}", "template syntax error: no test named 'definde'; "
                                             "did you mean 'defined'?"),
    ("{{ name | zzz }}", "template syntax error: no filter named 'zzz' in '{{ name | zzz }}'"),
    ("{{ now_ms(3600000) }}", "now_ms() takes no arguments (1 given): write now_ms()"),
    ("x-{{ uuid('a', 'b') }}", "uuid() takes no arguments (2 given): write uuid()"),
    ("{{ secret() }}", "secret() takes 1 argument (0 given): write secret('NAME')"),
    ("{{ secret(name='A', other='B') }}", "secret() takes 1 argument (2 given)"),
])
def test_what_jinja_finds_only_as_it_renders_is_refused_at_load(source: str,
                                                                said: str) -> None:
    """An unknown filter or test, a function given the wrong arguments: named with the
    nearest known, or with how it is written."""
    with pytest.raises(TemplateError) as caught:
        compile_template(source, HERE)
    assert str(caught.value).startswith(f"p.yaml:3:9 (steps[0].params.x): {said}")


def test_functions_given_their_arguments_load() -> None:
    for source in ("{{ now_ms() + 1 }}", "{{ uuid() }}", "{{ secret('AK') }}",
                   "{{ secret(*names) }}"):
        compile_template(source, HERE)


def test_a_templated_structure_renders_each_leaf_and_names_what_it_reads() -> None:
    value = TemplatedValue({"a": "{{ inputs.n }}", "b": ["x{{ item }}", 3], "c": "plain"},
                           lambda path: Location("p.yaml", 1, 1, path))
    assert value.render({"inputs": {"n": 8}, "item": "y"}) == {"a": 8, "b": ["xy", 3],
                                                                "c": "plain"}
    assert value.names == {"inputs", "item"}
    assert value.input_refs == {"n"}


@pytest.mark.parametrize(("source", "message"), [
    ("{{ x.__class__.__mro__[1].__subclasses__() }}", "not allowed: access to attribute "
                                                      "'__class__'"),
    ("{{ x.__globals__ }}", "has no attribute '__globals__'"),
    ("{{ x.mro() }}", "has no attribute 'mro'"),
    ("{{ '{0.__class__}'.format(x) }}", "not allowed: access to attribute '__class__'"),
    ("{{ '%s' % x.__class__ }}", "not allowed: access to attribute '__class__'"),
    ("{{ cycler.__init__.__globals__ }}", "not allowed: access to attribute '__init__'"),
    ("{{ range(10**9) | list }}", "Range too big"),
    ("{{ 'x' * 10**9 }}", "the result would hold more than 1000000 items"),
    ("{{ [0] * 10**8 }}", "the result would hold more than 1000000 items"),
    ("{{ 2 ** 100000000 }}", "the power is too large to compute"),
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "RecursionError"),
])
def test_known_sandbox_escapes_and_bombs_fail_cleanly(source: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(source, x=1)
    assert message in str(caught.value)


def test_rendering_is_bounded_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from runner.templating import sandbox

    monkeypatch.setattr(sandbox, "TIME_LIMIT", 0.3)
    started = time.monotonic()
    with pytest.raises(TemplateError, match=r"rendering took more than 0\.3s"):
        render("{% set l = range(1000) | list %}{% for a in l %}{% for b in l %}"
               "{% for c in l %}.{% endfor %}{% endfor %}{% endfor %}")
    assert time.monotonic() - started < 5


def test_rendering_is_bounded_in_output_size() -> None:
    with pytest.raises(TemplateError, match="more than 1000000"):
        render("{% for a in range(3000) %}{{ s }}{% endfor %}", s="x" * 400)


def test_vendor_text_that_looks_like_a_template_is_never_evaluated() -> None:
    hostile = {"name": "{{ range(10**9) | list }}", "remark": "{% for x in y %}{% endfor %}",
               "nested": [{"v": "{{ config.__class__ }}"}]}
    assert render("{{ r }}", r=hostile) == hostile
    assert render("{{ r.nested[0].v }}", r=hostile) == "{{ config.__class__ }}"
    assert render("id {{ r.name }}", r=hostile) == "id {{ range(10**9) | list }}"


def test_a_failed_comparison_shows_what_it_compared() -> None:
    def shown(source: str, scope: dict[str, object]) -> str | None:
        return compared(compile_template(source, Location()), scope)

    assert shown("{{ items | length > 10 }}", {"items": [1, 2]}) == "2 > 10"
    assert shown("{{ 1 < n < 3 }}", {"n": 5}) == "1 < 5 < 3"
    assert shown("{{ s | string not in ['5', '6'] }}", {"s": 7}) == "'7' not in ['5', '6']"
    assert shown("{{ 'x' * 500 == '' }}", {}) == repr("x" * 500)[:117] + "... == ''"
    assert shown("{{ flag }}", {"flag": False}) is None  # not a comparison
    assert shown("{{ a.missing > 1 }}", {"a": {}}) is None  # an operand that is not there
    assert shown("waited {{ n }} > 1", {"n": 0}) is None  # text around it


@pytest.mark.parametrize(("one", "other", "same"), [
    ("{{ number }}", "{{number}}", True),
    ("{{ steps.all.items | reverse | list }}", "{{steps.all.items|reverse|list}}", True),
    ("{% if x %}a{% endif %}", "{%if x%}a{%endif%}", True),
    ("n{{ x }}", "n {{ x }}", False),  # the text outside counts to the letter
    ("{{ x }}", "{{ x + 0 }}", False),
    ("{{ 'a b' }}", "{{ 'ab' }}", False),  # a string's spaces are its own
    ("{{ x }}", None, False),
    (None, None, True),
])
def test_template_sources_differing_only_in_spaces_inside_tags_are_the_same(
        one: str | None, other: str | None, same: bool) -> None:
    assert same_source(one, other) is same
