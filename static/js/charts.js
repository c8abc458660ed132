// Draws the charts placed by the {% chart %} template tag (marketplace/templatetags/charts.py)
// with the vendored Apache ECharts. The data comes from a JSON <script> element, read with
// JSON.parse: no inline script, as the Content-Security-Policy requires. Tooltips are drawn
// as rich text on the canvas: an HTML tooltip would carry inline styles the policy refuses.
"use strict";

(() => {
  function option(spec) {
    const series = (spec.series || []).map((s) => ({
      name: s.name,
      type: spec.type || "bar",
      data: spec.type === "pie" ? s.data.map((value, i) => ({ name: spec.categories[i], value })) : s.data,
      label: { show: true, position: spec.type === "pie" ? "outside" : "top" },
    }));
    const base = {
      tooltip: { trigger: spec.type === "pie" ? "item" : "axis", renderMode: "richText" },
      legend: { show: series.length > 1 },
      series,
      aria: { enabled: true },
    };
    if (spec.type === "pie") {
      return base;
    }
    return {
      ...base,
      grid: { left: 48, right: 16, top: 32, bottom: 40, containLabel: true },
      xAxis: { type: "category", data: spec.categories || [] },
      yAxis: { type: "value", name: spec.unit || "", minInterval: 1 },
    };
  }

  function draw() {
    if (typeof echarts === "undefined") {
      return;
    }
    document.querySelectorAll("[data-chart]").forEach((element) => {
      const source = document.getElementById(element.dataset.chart);
      if (!source) {
        return;
      }
      const chart = echarts.init(element, null, { renderer: "canvas" });
      chart.setOption(option(JSON.parse(source.textContent)));
      window.addEventListener("resize", () => chart.resize());
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
