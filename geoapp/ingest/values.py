"""Cell values as people type them → stored values; each parser raises ValueError(zh, en) with a reason."""

from __future__ import annotations

import math
import re
from datetime import date, datetime

MIN_YEAR, MAX_YEAR = 1949, 2100
MAX_MONEY = 999_999_999_999.99  # numeric(14, 2), in 万元

# A year, perhaps with month and day, matched whole against the stripped text. Each optional part carries its own
# leading blanks, so no two optional runs of whitespace meet: they did, and "2025-" + 200 blanks + "x" took seconds
# (the fourth power of the blanks).
_YEAR = re.compile(r"(\d{4})(?:\s*[年\-./](?:\s*\d{1,2})?(?:\s*月)?(?:\s*(?:[-./]\s*)?\d{1,2}(?:\s*日)?)?)?(?:\s*年)?")
MAX_YEAR_CHARS = 32
"""The longest year cell read ("2025 年 03 月 15 日" has 17 characters); longer is refused before it is parsed."""
_MONEY_SUFFIX = (("亿元", 10000), ("亿", 10000), ("万元", 1), ("万", 1), ("元", 0.0001))


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet (Excel, WPS, LibreOffice) read a text cell as a formula (OWASP, CSV
injection): an exported text starting with one gets a leading apostrophe, which the import takes off again."""
SPREADSHEET_FORMATS = ("csv", "xlsx")
"""The formats whose exports are neutralised, so the only ones whose import takes the apostrophe off."""


def neutralise_formula(value: str) -> str:
    """A text for a CSV/XLSX cell that no spreadsheet runs: '=1+1 for =1+1, '+86 … for +86 …, '-12 for the text -12.

    Every text that starts with one of FORMULA_STARTS gets the apostrophe, also one that looks like a negative
    number: it is text in geoapp (a code, a scope), an export keeps it text, and numbers are written as numbers,
    never as text. Texts that already start with apostrophes before such a character get one more, so
    :func:`unquote_formula` restores every text exactly.
    """
    return "'" + value if _formula_like(value) else value


def unquote_formula(value: str) -> str:
    """The inverse of :func:`neutralise_formula` for a text read from a CSV or XLSX cell: exactly one leading
    apostrophe comes off when apostrophes are followed by one of FORMULA_STARTS ('=1+1 → =1+1, ''=x → '=x)."""
    return value[1:] if value[:1] == "'" and _formula_like(value) else value


def _formula_like(value: str) -> bool:
    """Whether a text starts with a formula character, behind any apostrophes."""
    return value.lstrip("'")[:1] in FORMULA_STARTS


class CellError(ValueError):
    """A value that cannot be used, with the reason in Chinese and English."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and math.isnan(value))


def show(value: object) -> str:
    """A value as the report prints it."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value).strip()


def text(value: object) -> str | None:
    if blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def code(value: object) -> str:
    out = text(value)
    if out is None:
        raise CellError("项目编号不能为空", "the project code is required")
    out = out.replace("\n", " ")
    if len(out) > 40:
        raise CellError("项目编号超过 40 个字符", "the project code is longer than 40 characters")
    return out


def number(value: object) -> float:
    if isinstance(value, bool):
        raise CellError("不是数字", "not a number")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise CellError("不是有限的数字", "not a finite number")
        return float(value)
    raw = str(value).strip().replace(",", "").replace("，", "").replace(" ", "")
    try:
        out = float(raw)
    except ValueError:
        raise CellError("不是数字", "not a number") from None
    if not math.isfinite(out):
        raise CellError("不是有限的数字", "not a finite number")
    return out


def money(value: object, factor: float) -> float:
    """An amount in the header's unit (factor to 万元); a unit written in the cell (3.5亿元) wins."""
    if isinstance(value, str):
        raw = value.strip().replace(",", "").replace("，", "")
        for suffix, cell_factor in _MONEY_SUFFIX:
            if raw.endswith(suffix):
                value, factor = raw[: -len(suffix)], cell_factor
                break
    amount = number(value) * factor
    if amount < 0:
        raise CellError("金额不能为负数", "an amount cannot be negative")
    out = round(amount, 2)
    if out > MAX_MONEY:
        raise CellError("金额过大（超过 9999 亿万元）", "the amount is too large")
    return out


def year(value: object) -> int:
    """2025, 2025.0, 2025.03, '2025年', '2025年3月', '2025-03', '2025/3', a date cell → 2025."""
    if isinstance(value, datetime | date):
        out = value.year
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out = _numeric_year(value)
    else:
        raw = str(value).strip()
        if len(raw) > MAX_YEAR_CHARS:
            raise CellError(f"年份单元格太长（{len(raw)} 个字符，最多 {MAX_YEAR_CHARS} 个）",
                            f"the year cell is too long ({len(raw)} characters, at most {MAX_YEAR_CHARS})")
        match = _YEAR.fullmatch(raw)
        if not match:
            raise CellError("不是年份（应为如 2025 或 2025年3月）", "not a year (write e.g. 2025 or 2025-03)")
        out = int(match.group(1))
    if not MIN_YEAR <= out <= MAX_YEAR:
        raise CellError(f"年份应在 {MIN_YEAR}–{MAX_YEAR} 之间", f"a year must lie between {MIN_YEAR} and {MAX_YEAR}")
    return out


def _numeric_year(value: int | float) -> int:
    """A number cell: 2025, or year.month as Excel users type it (2025.3 or 2025.03 = 2025年3月)."""
    if float(value).is_integer():
        return int(value)
    whole, _, fraction = repr(float(value)).partition(".")
    if "e" in fraction or len(fraction) > 2 or not 1 <= int(fraction) <= 12:
        raise CellError("年份应为四位整数或“年.月”（如 2025 或 2025.03）",
                        "a year must be a four-digit whole number or year.month (e.g. 2025 or 2025.03)")
    return int(whole)


COORD_SOURCES = {"wgs84": "wgs84", "wgs-84": "wgs84", "gps": "wgs84", "cgcs2000": "cgcs2000", "gcj02": "gcj02",
                 "gcj-02": "gcj02", "高德": "gcj02", "bd09": "bd09", "bd-09": "bd09", "百度": "bd09",
                 "seat": "seat", "驻地": "seat", "政府驻地": "seat", "park": "park", "园区": "park"}
PRECISIONS = {"exact": "exact", "精确": "exact", "准确": "exact", "approximate": "approximate", "近似": "approximate",
              "大致": "approximate", "约": "approximate"}


def choice(value: object, table: dict[str, str], zh_name: str, en_name: str) -> str:
    key = "".join(str(value).split()).casefold()
    if key in table:
        return table[key]
    allowed = ", ".join(sorted(set(table.values())))
    raise CellError(f"未知的{zh_name}；可用：{allowed}", f"unknown {en_name}; allowed: {allowed}")
