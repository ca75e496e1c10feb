// A flat's story: per-room uPlot charts from the page's JSON chart endpoint.
(function () {
  "use strict";
  var box = document.getElementById("room-charts");
  if (!box || !window.uPlot) return;
  var palette = ["#1d70b8", "#d4351c", "#00703c", "#4c2c92", "#f47738", "#505a5f"];

  function chart(title, ts, series, opts) {
    var fig = document.createElement("figure");
    fig.className = "dw-chart";
    fig.setAttribute("role", "img");
    fig.setAttribute("aria-label", title);
    var cap = document.createElement("figcaption");
    cap.className = "govuk-body-s";
    cap.textContent = title;
    fig.appendChild(cap);
    var data = [ts];
    var defs = [{}];
    series.forEach(function (s, i) {
      data.push(s.values);
      defs.push({ label: s.label, stroke: palette[i % palette.length], width: 1.5, spanGaps: false });
    });
    var width = Math.max(280, Math.min(620, box.clientWidth - 20));
    var o = Object.assign({ width: width, height: 200, series: defs, scales: { x: { time: !(opts && opts.hours) } } }, opts || {});
    delete o.hours;
    new uPlot(o, data, fig);
    return fig;
  }

  fetch(box.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(function (d) {
      if (!d.rooms.length) {
        var p = document.createElement("p");
        p.className = "govuk-body";
        p.textContent = "No readings in this period.";
        box.appendChild(p);
        return;
      }
      d.rooms.forEach(function (room) {
        var sec = document.createElement("section");
        sec.className = "dw-room";
        var h = document.createElement("h3");
        h.className = "govuk-heading-s";
        h.textContent = room.room + " (" + room.devices.join(", ") + "; wall " + room.surface_source + ")";
        sec.appendChild(h);
        sec.appendChild(chart(room.room + ": temperature, dew point, wall and outdoor (°C)", d.ts, [
          { label: "air °C", values: room.temp_c },
          { label: "dew point °C", values: room.dew_point_c },
          { label: "wall °C", values: room.surface_c },
          { label: "outdoor °C", values: d.outdoor_c }
        ]));
        sec.appendChild(chart(room.room + ": relative humidity, air and wall (%)", d.ts, [
          { label: "air RH %", values: room.rh_pct },
          { label: "wall RH %", values: room.surface_rh_pct }
        ]));
        sec.appendChild(chart(room.room + ": mould index (0 to 6)", d.ts, [
          { label: "mould index", values: room.mould_index }
        ], { scales: { x: { time: true }, y: { range: [0, 6] } } }));
        sec.appendChild(chart(room.room + ": heating pattern, mean °C by hour of day", room.heating.hour, [
          { label: "mean °C", values: room.heating.temp_c }
        ], { hours: true }));
        box.appendChild(sec);
      });
      box.setAttribute("data-drawn", String(d.rooms.length));
    })
    .catch(function (e) {
      var p = document.createElement("p");
      p.className = "govuk-body notice";
      p.textContent = "The charts could not be loaded (" + e.message + "); reload the page.";
      box.appendChild(p);
    });
})();
