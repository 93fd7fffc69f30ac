"""Vocabularies (sectors, tiers, statuses) loaded from ``layers/vocabularies/*.yaml``.

Python never spells a sector name: it asks a Vocabulary to turn what a person wrote (a code, the
Chinese or English label, or a common alias) into the stored code.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml


def normalize(text: str) -> str:
    """Fold full-width forms, case and spaces so 天然气液化（LNG） matches 天然气液化(LNG)."""
    return "".join(unicodedata.normalize("NFKC", str(text)).split()).casefold()


@dataclass(frozen=True)
class Term:
    code: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


@dataclass
class Vocabulary:
    name: str
    title: dict[str, str]
    terms: list[Term]

    def __post_init__(self) -> None:
        self._index: dict[str, str] = {}
        for term in self.terms:
            for form in (term.code, term.zh, term.en, *term.aliases):
                self._index.setdefault(normalize(form), term.code)

    @property
    def codes(self) -> list[str]:
        return [t.code for t in self.terms]

    def get(self, code: str) -> Term:
        return next(t for t in self.terms if t.code == code)

    def resolve(self, value: str) -> str | None:
        """The stored code for any accepted form of a value, or None."""
        return self._index.get(normalize(value))

    def allowed(self, lang: str = "zh") -> str:
        return "、".join(f"{t.label(lang)}({t.code})" for t in self.terms)


def load_vocabularies(directory: Path) -> dict[str, Vocabulary]:
    vocabularies: dict[str, Vocabulary] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "vocabulary" not in doc:
            continue
        terms = [
            Term(
                code=v["code"], zh=v["zh"], en=v["en"], aliases=tuple(v.get("aliases") or ()),
                extra={k: val for k, val in v.items() if k not in {"code", "zh", "en", "aliases"}},
            )
            for v in doc["values"]
        ]
        vocabularies[doc["vocabulary"]] = Vocabulary(doc["vocabulary"], doc.get("title", {}), terms)
    return vocabularies


@cache
def vocabularies(layers_dir: Path) -> dict[str, Vocabulary]:
    """The vocabularies of a layers directory, read once per process."""
    return load_vocabularies(Path(layers_dir) / "vocabularies")


def division_config(layers_dir: Path) -> dict:
    return yaml.safe_load((Path(layers_dir) / "vocabularies" / "divisions.yaml").read_text(encoding="utf-8"))
