"""Money as planners write it, one rule for the web map, exports' display text and prints.

Amounts are stored in 万元 (10,000 yuan). From 1亿 (10,000万) up they read in 亿元 (336亿元, 67.2亿元), below that
in 万元 (500万元), with at most two decimals and thousands separators, the way Chinese planning documents and the
city's project lists write them; nobody reads "3,360,000 万元". English keeps the Chinese unit (the reader compares
with Chinese lists) and adds the yuan amount: "67.2 亿 (6.72 bn yuan)", "500 万 (5 M yuan)".

``static/js/format.js`` applies the same rule in the browser (tests/test_money.py runs both on the same amounts).
Exports keep amounts as numbers; only text meant for reading goes through here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

WAN_PER_YI = Decimal(10000)
UNKNOWN = "—"


def _fixed(value: Decimal, digits: int) -> str:
    """Thousands separators and at most ``digits`` decimals, trailing zeros dropped (as toLocaleString does)."""
    rounded = value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _decimal(wan: Decimal | float | int | str) -> Decimal:
    return wan if isinstance(wan, Decimal) else Decimal(str(wan))


def money(wan: Decimal | float | int | str | None, lang: str = "zh") -> str:
    """672000 (万元) → "67.2亿元"; 500 → "500万元"; None → "—" (English: "67.2 亿 (6.72 bn yuan)")."""
    if wan is None or wan == "":
        return UNKNOWN
    v = _decimal(wan)
    if lang == "en":
        if v >= WAN_PER_YI:
            return f"{_fixed(v / WAN_PER_YI, 2)} 亿 ({_fixed(v / 100000, 3)} bn yuan)"
        return f"{_fixed(v, 2)} 万 ({_fixed(v / 100, 2)} M yuan)"
    if v >= WAN_PER_YI:
        return f"{_fixed(v / WAN_PER_YI, 2)}亿元"
    return f"{_fixed(v, 2)}万元"


def percent(part: Decimal | float | None, whole: Decimal | float | None) -> str:
    """A completion rate such as 投资完成率 (累计完成 ÷ 总投资): "45.2%"; "—" when either is unknown or whole is 0."""
    if part is None or whole is None or _decimal(whole) == 0:
        return UNKNOWN
    return f"{_fixed(_decimal(part) / _decimal(whole) * 100, 1)}%"
