"""UF_CRM_TASK binding codes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappers.bindings import CrmRef, parse_binding, parse_bindings
from mappers.errors import BindingCodeError, ValidationError

# code | entityTypeId | id | kind | canonical code
CODES = [
    ("D_12", 2, 12, "deal", "D_12"),
    ("L_7", 1, 7, "lead", "L_7"),
    ("C_3", 3, 3, "contact", "C_3"),
    ("CO_5", 4, 5, "company", "CO_5"),
    ("Tb1_4", 177, 4, "dynamic", "Tb1_4"),
    ("TB1_4", 177, 4, "dynamic", "Tb1_4"),
    ("T88_3", 136, 3, "dynamic", "T88_3"),
    ("SI_9", 31, 9, "dynamic", "SI_9"),
    (" D_1723 ", 2, 1723, "deal", "D_1723"),
]


@pytest.mark.parametrize(("code", "entity_type_id", "item_id", "kind", "canonical"), CODES)
def test_parse_binding(code, entity_type_id, item_id, kind, canonical):
    ref = parse_binding(code)
    assert ref == CrmRef(entity_type_id, item_id)
    assert (ref.kind, ref.code, str(ref)) == (kind, canonical, canonical)


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("", "expected"),
        ("D12", "expected"),
        ("X_1", "expected"),
        ("D_", "expected"),
        ("D_-1", "expected"),
        ("D_0", "positive"),
        ("T_4", "expected"),
        ("Tzz_4", "expected"),
        ("Ta_4", "not a smart process"),
        ("T7f_4", "not a smart process"),
        ("d_1", "expected"),
        (12, "must be a string"),
        (None, "must be a string"),
    ],
)
def test_bad_codes_are_named_in_the_error(code, why):
    with pytest.raises(BindingCodeError, match=why) as caught:
        parse_binding(code)
    assert caught.value.code == code
    assert repr(code) in str(caught.value)


# crm.enum.ownertype: these types have an abbreviation of their own (SYMBOL_CODE_SHORT);
# T and hexadecimal is how only dynamic types (smart processes) are written.
OWN_ABBREVIATIONS = [
    ("T1_5", "L_"), ("T2_5", "D_"), ("T3_5", "C_"), ("T4_5", "CO_"), ("T5_5", "I_"),
    ("T7_5", "Q_"), ("T8_5", "RQ_"), ("T1f_5", "SI_"), ("T1F_5", "SI_"), ("T24_5", "DO_"),
    ("T27_5", "SBD_"),
]  # fmt: skip


@pytest.mark.parametrize(("code", "own"), OWN_ABBREVIATIONS)
def test_uf_crm_task_t_codes_are_for_smart_processes_only(code, own):
    with pytest.raises(BindingCodeError, match=f"written {own}, not as a T-code") as caught:
        parse_binding(code)
    assert caught.value.code == code and repr(code) in str(caught.value)


@pytest.mark.parametrize("value", [False, None, "", [], ()])
def test_no_bindings(value):
    assert parse_bindings(value) == ()


def test_parse_bindings_keeps_order_and_drops_duplicates():
    assert parse_bindings(["C_627", "D_1723", "C_627", "T88_3"]) == (
        CrmRef(3, 627),
        CrmRef(2, 1723),
        CrmRef(136, 3),
    )
    assert parse_bindings({"0": "D_1", "1": "L_2"}) == (CrmRef(2, 1), CrmRef(1, 2))
    assert parse_bindings("D_5") == (CrmRef(2, 5),)


@pytest.mark.parametrize("value", [True, 5, ["D_1", 7], ["D_1", "nope"]])
def test_parse_bindings_refuses_other_shapes(value):
    with pytest.raises(BindingCodeError):
        parse_bindings(value)


@pytest.mark.parametrize(("entity_type_id", "item_id"), [(7, 1), (0, 1), (2, 0), (200, -3)])
def test_a_ref_needs_a_bindable_type_and_a_positive_id(entity_type_id, item_id):
    with pytest.raises(BindingCodeError):
        CrmRef(entity_type_id, item_id)


refs = st.builds(
    CrmRef,
    entity_type_id=st.sampled_from([1, 2, 3, 4, 31]) | st.integers(128, 0xFFFF),
    id=st.integers(1, 10**12),
)


@settings(settings.get_profile("mappers"))
@given(refs)
def test_code_round_trips(ref):
    assert parse_binding(ref.code) == ref


@settings(settings.get_profile("mappers"))
@given(st.text(max_size=20))
def test_parse_binding_raises_only_its_own_error(text):
    try:
        parse_binding(text)
    except ValidationError as exc:
        assert isinstance(exc, BindingCodeError)
