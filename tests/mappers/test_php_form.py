"""PHP-bracket forms as Bitrix24 posts them."""

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappers.errors import (
    ConflictingKeyError,
    FormError,
    KeyTooLongError,
    MalformedKeyError,
    TooDeepError,
    TooManyKeysError,
    ValidationError,
)
from mappers.php_form import encode_form, parse_form, parse_urlencoded, split_key

TASK_UPDATE = [
    ("event", "ONTASKUPDATE"),
    ("data[FIELDS_BEFORE][ID]", "759"),
    ("data[FIELDS_AFTER][ID]", "759"),
    ("data[IS_ACCESSIBLE_BEFORE]", "undefined"),
    ("ts", "1764151200"),
    ("auth[domain]", "example.bitrix24.it"),
    ("auth[member_id]", "a223c6b3710f85df22e9377d6c4f7553"),
    ("auth[scope]", "crm,task"),
]


def test_an_event_form_nests_by_brackets():
    assert parse_form(TASK_UPDATE) == {
        "event": "ONTASKUPDATE",
        "data": {
            "FIELDS_BEFORE": {"ID": "759"},
            "FIELDS_AFTER": {"ID": "759"},
            "IS_ACCESSIBLE_BEFORE": "undefined",
        },
        "ts": "1764151200",
        "auth": {
            "domain": "example.bitrix24.it",
            "member_id": "a223c6b3710f85df22e9377d6c4f7553",
            "scope": "crm,task",
        },
    }


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([("a[]", "1"), ("a[]", "2")], {"a": ["1", "2"]}),
        ([("a[0]", "x"), ("a[1]", "y")], {"a": ["x", "y"]}),
        ([("a[1]", "x"), ("a[0]", "y")], {"a": {"1": "x", "0": "y"}}),
        ([("a[5]", "x"), ("a[]", "y")], {"a": {"5": "x", "6": "y"}}),
        ([("a[x]", "1"), ("a[]", "2")], {"a": {"x": "1", "0": "2"}}),
        ([("a[01]", "1"), ("a[]", "2")], {"a": {"01": "1", "0": "2"}}),
        ([("a[][b]", "1"), ("a[][b]", "2")], {"a": [{"b": "1"}, {"b": "2"}]}),
        ([("a[]", "")], {"a": [""]}),
        ([("a[ID]", "Città, ☃")], {"a": {"ID": "Città, ☃"}}),
        ([], {}),
    ],
)
def test_php_array_semantics(pairs, expected):
    assert parse_form(pairs) == expected


@pytest.mark.parametrize(
    ("key", "error", "message"),
    [
        ("", MalformedKeyError, "name before the brackets is empty"),
        ("[a]", MalformedKeyError, "name before the brackets is empty"),
        ("a]", MalformedKeyError, "without a matching"),
        ("a[b", MalformedKeyError, "never closed"),
        ("a[b[c]]", MalformedKeyError, "inside brackets"),
        ("a[b]c", MalformedKeyError, "text after"),
    ],
)
def test_malformed_keys_are_refused(key, error, message):
    with pytest.raises(error, match=message) as caught:
        parse_form([(key, "1")])
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("a", "1"), ("a", "2")], "set more than once"),
        ([("a", "1"), ("a[b]", "2")], "already a plain value"),
        ([("a[b]", "1"), ("a", "2")], "already a container"),
        ([("a[b]", "1"), ("a[b][c]", "2")], "already a plain value"),
    ],
)
def test_conflicting_keys_are_refused(pairs, message):
    with pytest.raises(ConflictingKeyError, match=message):
        parse_form(pairs)


def test_the_max_keys_limit_is_named():
    parse_form([(f"k{i}", "v") for i in range(3)], max_keys=3)
    with pytest.raises(TooManyKeysError, match="max_keys limit of 3"):
        parse_form([(f"k{i}", "v") for i in range(4)], max_keys=3)


def test_the_max_depth_limit_is_named():
    assert parse_form([("a[b][c]", "v")], max_depth=2) == {"a": {"b": {"c": "v"}}}
    with pytest.raises(TooDeepError, match="3 levels, over the max_depth limit of 2"):
        parse_form([("a[b][c][d]", "v")], max_depth=2)


def test_the_max_key_length_limit_is_named_before_anything_else():
    assert parse_form([("k" * 10, "v")], max_key_length=10) == {"k" * 10: "v"}
    with pytest.raises(KeyTooLongError, match="max_key_length limit of 10 characters"):
        parse_form([("a[" * 20, "v")], max_key_length=10)


@pytest.mark.parametrize(
    "key",
    ["a" + "[]" * 5000, "a" + "[" * 5000, "a" + "[b]" * 50 + "x]"],
)
def test_a_deep_key_is_refused_by_its_count_of_brackets(key):
    with pytest.raises(TooDeepError, match="over the max_depth limit of 8") as caught:
        parse_form([(key, "v")], max_key_length=len(key))
    assert len(str(caught.value)) < 140  # an excerpt of the key, never all of it


@pytest.mark.parametrize(
    ("key", "error"),
    [("x" * 300, KeyTooLongError), ("]" + "x" * 200, MalformedKeyError),
     ("a[b]" * 2 + "z" * 200, MalformedKeyError), ("a[\n]" * 9, TooDeepError)],
)  # fmt: skip
def test_errors_quote_only_a_short_escaped_excerpt(key, error):
    with pytest.raises(error) as caught:
        parse_form([(key, "v")])
    message = str(caught.value)
    assert key not in message
    assert "\n" not in message and len(message) < 160


@pytest.mark.parametrize(
    ("pairs", "message"),
    [([("a", "1", "2")], "not a \\(key, value\\) tuple"), ([("a", 1)], "two strings"),
     (["ab"], "not a \\(key, value\\) tuple")],
)  # fmt: skip
def test_pairs_must_be_string_tuples(pairs, message):
    with pytest.raises(FormError, match=message):
        parse_form(pairs)


def test_split_key():
    assert split_key("data[FIELDS][]") == ["data", "FIELDS", ""]


def test_parse_urlencoded_body():
    body = "event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D=12&auth%5Bscope%5D=crm%2Ctask&x="
    expected = {"event": "ONCRMDEALUPDATE", "data": {"FIELDS": {"ID": "12"}},
                "auth": {"scope": "crm,task"}, "x": ""}  # fmt: skip
    assert parse_urlencoded(body) == expected
    assert parse_urlencoded(body.encode()) == expected


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (b"a=\xff", FormError, "not UTF-8"),
        ("a=%ff", FormError, "not UTF-8"),
        ("a=1&b=2&c=3", TooManyKeysError, "max_keys limit of 2"),
        ("a[b][c]=1", TooDeepError, "max_depth"),
    ],
)
def test_parse_urlencoded_errors(body, error, message):
    with pytest.raises(error, match=message):
        parse_urlencoded(body, max_keys=2, max_depth=1)


def test_encode_form_is_http_build_query():
    nested = {"event": "ONAPPINSTALL", "data": {"VERSION": 1, "LIST": ["x", "y"], "NONE": None,
              "EMPTY": {}}, "auth": {"member_id": "m"}}  # fmt: skip
    assert encode_form(nested) == [
        ("event", "ONAPPINSTALL"),
        ("data[VERSION]", "1"),
        ("data[LIST][0]", "x"),
        ("data[LIST][1]", "y"),
        ("auth[member_id]", "m"),
    ]


@pytest.mark.parametrize("value", [True, 1.5, object()])
def test_encode_form_refuses_other_values(value):
    with pytest.raises(TypeError, match="data"):
        encode_form({"data": {"X": value}})


# Properties -------------------------------------------------------------------------

names = st.text(
    alphabet=st.characters(blacklist_characters="[]", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=6,
)


def not_a_php_list(mapping: dict) -> bool:
    return list(mapping) != [str(i) for i in range(len(mapping))]


values = st.recursive(
    st.text(max_size=5),
    lambda children: (
        st.lists(children, min_size=1, max_size=3)
        | st.dictionaries(names, children, min_size=1, max_size=3).filter(not_a_php_list)
    ),
    max_leaves=12,
)
forms = st.dictionaries(names, values, max_size=4)


@settings(settings.get_profile("mappers"))
@given(forms)
def test_encode_then_parse_round_trips(form):
    assert parse_form(encode_form(form), max_depth=32) == form


pair_text = st.text(alphabet=string.ascii_letters[:3] + "[]0 é☃", max_size=8)


@settings(settings.get_profile("mappers"))
@given(st.lists(st.tuples(pair_text | st.text(max_size=8), st.text(max_size=3)), max_size=8))
def test_parse_form_raises_only_its_own_errors(pairs):
    try:
        parse_form(pairs, max_keys=6, max_depth=3)
    except ValidationError as exc:
        assert isinstance(exc, FormError)


@settings(settings.get_profile("mappers"))
@given(st.binary(max_size=40) | st.text(alphabet="ab=&[]%5BDf0é", max_size=40))
def test_parse_urlencoded_raises_only_its_own_errors(body):
    try:
        parse_urlencoded(body, max_keys=5, max_depth=2)
    except ValidationError as exc:
        assert isinstance(exc, FormError)
