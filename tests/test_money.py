"""One money rule for prints, exports' display text and the web map: geoapp.money and static/js/format.js agree."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal

import pytest

from geoapp.money import money, percent
from geoapp.settings import REPO_ROOT

AMOUNTS = [3360000, 672000, 10000, 9999.99, 9999.5, 500, 0.25, 0, 12345678.9]


def test_money_reads_in_yi_yuan_from_1_yi_up_and_in_wan_yuan_below():
    assert money(3360000) == "336亿元" and money(Decimal("672000.00")) == "67.2亿元"
    assert money(500) == "500万元" and money(None) == "—"
    assert all(money(x).endswith("亿元") == (x >= 10000) for x in AMOUNTS)
    assert "3,360,000" not in money(3360000)
    assert money(3360000, "en") == "336 亿 (33.6 bn yuan)" and money(500, "en") == "500 万 (5 M yuan)"


def test_the_completion_rate_is_completed_over_total():
    assert percent(12345, 672000) == "1.8%" and percent(1, 4) == "25%"
    assert percent(None, 5) == percent(5, None) == percent(5, 0) == "—"


def _js(lang: str) -> list:
    script = f"""
        globalThis.document = {{ documentElement: {{}} }};
        const i18n = await import('file://{REPO_ROOT}/static/js/i18n.js');
        const f = await import('file://{REPO_ROOT}/static/js/format.js');
        i18n.setLang('{lang}');
        const xs = {json.dumps(AMOUNTS)};
        console.log(JSON.stringify([xs.map((x) => f.money(x)), f.money(null), f.completionRate(12345, 672000),
                                    f.completionRate(1, 0)]));
    """
    done = subprocess.run(["node", "--no-warnings", "--input-type=module", "-e", script], capture_output=True,
                          text=True, check=True, timeout=60)
    return json.loads(done.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed with the web map's npm packages")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_web_map_writes_money_and_rates_as_the_prints_do(lang):
    assert _js(lang) == [[money(x, lang) for x in AMOUNTS], money(None, lang), percent(12345, 672000),
                         percent(1, 0)]
