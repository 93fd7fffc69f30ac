"""The Chinese font printed documents use, found through fontconfig (so WeasyPrint embeds a subset of it).

Noto Sans CJK (Debian ``fonts-noto-cjk``) is an OpenType/CFF collection; WeasyPrint subsets and embeds it
as CID-keyed CFF, with a ToUnicode map so the text stays searchable. WenQuanYi Zen Hei and AR PL UMing
are accepted fallbacks. Without any of them a PDF would show empty boxes, so printing refuses instead.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache

from geoapp.errors import Unavailable

CJK_FAMILIES = ("Noto Sans CJK SC", "WenQuanYi Zen Hei", "AR PL UMing CN")


class FontMissing(Unavailable):
    """No Chinese font is installed: the server cannot print (HTTP 503), whatever was asked."""


@cache
def installed_cjk_families() -> tuple[str, ...]:
    """The accepted CJK families fontconfig knows, in order of preference."""
    if not shutil.which("fc-list"):
        return ()
    listed = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, check=False).stdout
    known = {name.strip() for line in listed.splitlines() for name in line.split(",")}
    return tuple(f for f in CJK_FAMILIES if f in known)


def cjk_family() -> str:
    """The preferred installed CJK family; raises a GeoappError when none is installed."""
    families = installed_cjk_families()
    if not families:
        raise FontMissing(
            "未找到中文字体，无法生成 PDF：请运行 scripts/setup-system.sh 安装 fonts-noto-cjk / "
            "no Chinese font installed (fonts-noto-cjk, fonts-wqy-zenhei or fonts-arphic-uming): "
            "run scripts/setup-system.sh"
        )
    return families[0]


def css_family_list() -> str:
    """A CSS font-family value: the installed CJK family first, then the other accepted ones."""
    first = cjk_family()
    rest = [f for f in CJK_FAMILIES if f != first]
    return ", ".join(f"'{f}'" for f in (first, *rest)) + ", sans-serif"
