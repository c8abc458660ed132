"""Charts drawn by Apache ECharts, shipped with the project (static/vendor/echarts/, no CDN).

`{% chart_assets %}` (once per page, in the head) loads ECharts and `js/charts.js`;
`{% chart spec "element-id" label %}` places the chart: its spec as JSON in a
`<script type="application/json">` (Django's `json_script`, escaped for HTML) and an empty
element that `charts.js` draws into. No data is ever written into JavaScript: the
Content-Security-Policy (script-src 'self') allows no inline script, and JSON read with
`JSON.parse` cannot run.

A spec is plain data (`charts.js` turns it into ECharts options):
    {"type": "bar" | "line" | "pie", "categories": [...],
     "series": [{"name": "...", "data": [numbers]}], "unit": "..." (optional)}
"""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html, json_script

register = template.Library()

#: The vendored release (static/vendor/echarts/<version>/, recorded in its VENDORED file).
ECHARTS_VERSION = "5.6.0"


@register.simple_tag
def chart_assets() -> str:
    return format_html(
        '<link rel="stylesheet" href="{}"><script src="{}" defer></script><script src="{}" defer></script>',
        static("css/charts.css"),
        static(f"vendor/echarts/{ECHARTS_VERSION}/echarts.min.js"),
        static("js/charts.js"),
    )


@register.simple_tag
def chart(spec: dict, element_id: str, label) -> str:
    data_id = f"{element_id}-data"
    return format_html(
        '{}<div id="{}" class="mp-chart" data-chart="{}" role="img" aria-label="{}"></div>',
        json_script(spec, data_id),
        element_id,
        data_id,
        label,
    )
