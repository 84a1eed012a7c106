import pytest

from wacloud_integrations import PhoneNumberError, normalize_phone, to_chat_id


@pytest.mark.parametrize(
    "raw",
    [
        "0812-3456-7890",
        "+62 812 3456 7890",
        "6281234567890",
        "81234567890",
        "6281234567890@c.us",
        "(0812) 3456-7890",
        "0062 812 3456 7890",
        "+62 (0) 812-3456-7890",
        "6281234567890@s.whatsapp.net",
    ],
)
def test_indonesian_forms_normalise_to_international_digits(raw):
    assert normalize_phone(raw) == "6281234567890"


def test_too_short_international_digits_are_refused_not_reinterpreted():
    with pytest.raises(PhoneNumberError):
        normalize_phone("6281234567")


def test_country_code_prefix_is_not_read_as_an_area_code():
    # phonenumbers alone reads 62812345678 as +62 62812345678 (a 062x landline): our pre-parse avoids it.
    assert normalize_phone("62812345678") == "62812345678"


@pytest.mark.parametrize(
    "raw", ["+1 202 555 0143", "+44 20 7946 0958", "+62 812 3456 7890", "+33 1 23 45 67 89"]
)
def test_normalised_numbers_read_back_as_themselves(raw):
    once = normalize_phone(raw)
    assert normalize_phone(once) == once
    assert normalize_phone(once + "@c.us") == once


@pytest.mark.parametrize(
    ("raw", "region", "digits"),
    [("+421 2/212 345 67", "ID", "421221234567"), ("030/1234567", "DE", "49301234567")],
)
def test_a_slash_groups_digits_as_a_space_does(raw, region, digits):
    # Written this way in German-speaking countries, and phonenumbers 8.13.0 formats Slovak numbers so.
    assert normalize_phone(raw, region=region) == digits


def test_other_regions_and_international_numbers():
    assert normalize_phone("+44 20 7946 0958") == "442079460958"
    assert normalize_phone("020 7946 0958", region="GB") == "442079460958"
    assert to_chat_id("0812-3456-7890") == "6281234567890@c.us"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("120363025246125486@g.us", "group"),
        ("123456789@lid", "LID"),
        ("hello", "not digits"),
        ("08123", "not a valid"),
        ("", "empty"),
        ("123@newsletter", "channel"),
    ],
)
def test_refusals_name_the_field_and_why(raw, reason):
    with pytest.raises(PhoneNumberError) as info:
        normalize_phone(raw, field="recipient")
    assert info.value.field == "recipient"
    assert reason in str(info.value)
    assert str(info.value).startswith("recipient:")
    if raw:
        assert raw not in str(info.value) and raw not in repr(info.value.__dict__)


def test_bare_digits_starting_with_8_are_indonesian_mobiles_in_region_id():
    # Documented ambiguity: Japan's +81 must keep its "+" there; elsewhere the region decides.
    assert normalize_phone("81312345678") == "6281312345678"
    assert normalize_phone("+81 3-1234-5678") == "81312345678"
    assert normalize_phone("81312345678", region="JP") == "81312345678"
