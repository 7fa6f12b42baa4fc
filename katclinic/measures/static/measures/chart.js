// Scores over time: one small SVG line chart per instrument, from the json_script data.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 560, H = 200, PAD = { left: 36, right: 12, top: 12, bottom: 28 };

  function el(name, attrs, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function draw(container, series) {
    var points = series.points;
    var times = points.map(function (p) { return Date.parse(p.at); });
    var t0 = Math.min.apply(null, times), t1 = Math.max.apply(null, times);
    var span = Math.max(t1 - t0, 1);
    var x = function (t) { return PAD.left + (W - PAD.left - PAD.right) * (points.length > 1 ? (t - t0) / span : 0.5); };
    // Positions (0 bottom, 1 top) come from the server, on an axis that holds every value.
    var y = function (position) { return H - PAD.bottom - (H - PAD.top - PAD.bottom) * position; };
    var axis = function (v) { return (v - series.min) / (series.max - series.min); };
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", width: "100%",
      "aria-label": series.title + ": " + points.length + " scores, latest " + points[points.length - 1].total });
    series.bands.forEach(function (band) {
      svg.appendChild(el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(band.position), y2: y(band.position), stroke: "#ddd" }));
      svg.appendChild(el("text", { x: W - PAD.right, y: y(band.position) - 2, "text-anchor": "end", "font-size": 9, fill: "#888" }, band.label));
    });
    [series.min, series.max].forEach(function (v) {
      svg.appendChild(el("text", { x: PAD.left - 4, y: y(axis(v)) + 3, "text-anchor": "end", "font-size": 10 }, String(v)));
    });
    var path = points.map(function (p, i) { return (i ? "L" : "M") + x(times[i]).toFixed(1) + " " + y(p.position).toFixed(1); });
    svg.appendChild(el("path", { d: path.join(" "), fill: "none", stroke: "#2563eb", "stroke-width": 2 }));
    points.forEach(function (p, i) {
      var dot = el("circle", { cx: x(times[i]), cy: y(p.position), r: 3, fill: "#2563eb" });
      dot.appendChild(el("title", {}, p.at.slice(0, 10) + ": " + p.total + (p.band ? " (" + p.band + ")" : "")));
      svg.appendChild(dot);
    });
    svg.appendChild(el("text", { x: PAD.left, y: H - 8, "font-size": 10 }, points[0].at.slice(0, 10)));
    svg.appendChild(el("text", { x: W - PAD.right, y: H - 8, "font-size": 10, "text-anchor": "end" }, points[points.length - 1].at.slice(0, 10)));
    var figure = document.createElement("figure");
    var caption = document.createElement("figcaption");
    caption.textContent = series.title;
    figure.appendChild(caption);
    figure.appendChild(svg);
    container.appendChild(figure);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("measures-chart");
    var data = document.getElementById("measures-series");
    if (!container || !data) { return; }
    var all = JSON.parse(data.textContent);
    Object.keys(all).forEach(function (key) { draw(container, all[key]); });
  });
})();
