import pytest

from geoapp.vocab import normalize, vocabularies
from tests.conftest import LAYERS


@pytest.mark.parametrize(
    ("written", "code"),
    [("风电装备制造", "wind_equipment"), ("新能源装备制造", "wind_equipment"), ("绿电铝", "green_aluminium"),
     ("电解铝", "green_aluminium"), ("天然气液化（LNG）", "lng"), ("LNG", "lng"), ("lng", "lng"),
     ("新能源(光伏)", "renewable_energy"), ("农畜产品精深加工", "agri_food"), ("Coal", "coal")],
)
def test_sector_forms_from_spreadsheets_resolve_to_one_code(written, code):
    assert vocabularies(LAYERS)["sector"].resolve(written) == code


def test_tiers_and_statuses_speak_chinese_and_english():
    vocab = vocabularies(LAYERS)
    assert [vocab["tier"].get(c).zh for c in vocab["tier"].codes] == ["策划", "储备", "实施"]
    assert vocab["status"].resolve("在建") == "construction"
    assert vocab["status"].get("construction").label("en") == "Under construction"


def test_an_unknown_value_resolves_to_nothing_and_the_allowed_ones_can_be_listed():
    sectors = vocabularies(LAYERS)["sector"]
    assert sectors.resolve("造船") is None
    assert "绿色铝基新材料(green_aluminium)" in sectors.allowed()


def test_no_two_terms_of_a_vocabulary_share_a_form():
    for vocab in vocabularies(LAYERS).values():
        per_term = [{normalize(f) for f in (t.code, t.zh, t.en, *t.aliases)} for t in vocab.terms]
        all_forms = [form for forms in per_term for form in forms]
        assert len(all_forms) == len(set(all_forms)), vocab.name
