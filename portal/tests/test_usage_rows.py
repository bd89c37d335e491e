"""The usage table's rows are written in Python (portal.usage.bucket_rows_html), not by a
template loop: the same text as the loop with the `quantity` filter gave, in English and French."""
from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from portal.usage import UsageBucket, bucket_rows_html

# The template loop the function replaced, kept here as the reference.
LOOP = Template('{% load formats %}{% for b in buckets %}<tr><td>{{ b.label }}</td><td class="num">'
                '{{ b.actual|quantity:unit }}</td><td class="num">{{ b.estimated|quantity:unit }}</td></tr>{% endfor %}')

BUCKETS = [UsageBucket("2026-02-01 00:00 EST", 1234.56789, 0.0), UsageBucket("<b>&'\"", 0.1, 2.5),
           UsageBucket("2026-03", 0.0004, 1e-7), UsageBucket("2026-03-08", 12000.0, 0.3333)]


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("unit", ["kWh", "m3", "", "gal"])
def test_rows_are_what_the_template_loop_wrote(language, unit):
    with translation.override(language):
        expected = LOOP.render(Context({"buckets": BUCKETS, "unit": unit}))
        assert bucket_rows_html(BUCKETS, unit=unit) == expected
    assert "&lt;b&gt;&amp;" in expected  # the labels are escaped


def test_french_numbers():
    with translation.override("fr"):
        assert "1\u00a0234,568 kWh" in bucket_rows_html(BUCKETS[:1], unit="kWh")
