// KPIs over time: cases opened (from sensors and in all) and resolved per month, and the
// median days to investigate, from the page's own data (no request).
(function () {
  "use strict";
  var box = document.getElementById("kpi-charts");
  if (!box || !window.uPlot) return;
  var d = JSON.parse(box.getAttribute("data-chart"));
  if (!d.months.length) return;
  var x = d.months.map(function (m) { return Date.UTC(+m.slice(0, 4), +m.slice(5, 7) - 1, 1) / 1000; });
  function chart(title, series) {
    var fig = document.createElement("figure");
    fig.className = "dw-chart";
    fig.setAttribute("role", "img");
    fig.setAttribute("aria-label", title + " (the table below has the figures)");
    var cap = document.createElement("figcaption");
    cap.className = "govuk-body-s";
    cap.textContent = title;
    fig.appendChild(cap);
    var colours = ["#1d70b8", "#00703c", "#d4351c"];
    var defs = [{}].concat(series.map(function (s, i) { return { label: s[0], stroke: colours[i], width: 2 }; }));
    new uPlot({ width: Math.max(280, Math.min(620, box.clientWidth - 20)), height: 220, series: defs },
      [x].concat(series.map(function (s) { return s[1]; })), fig);
    box.appendChild(fig);
  }
  chart("Cases per month", [["opened", d.opened], ["from sensors", d.sensor], ["resolved", d.resolved]]);
  chart("Median days to investigate, by month of awareness", [["days", d.median_investigate_days]]);
  box.setAttribute("data-drawn", "2");
})();
