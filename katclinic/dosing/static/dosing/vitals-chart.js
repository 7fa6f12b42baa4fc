// Draws the session's vital signs as small SVG lines from the json_script data.
(function () {
  "use strict";
  var source = document.getElementById("vitals-data");
  var target = document.getElementById("vitals-chart");
  if (!source || !target) { return; }
  var points = JSON.parse(source.textContent);
  if (!points.length) { return; }
  var NS = "http://www.w3.org/2000/svg";
  var W = 600, H = 220, PAD = 30;
  var series = ["systolic", "diastolic", "heart_rate", "spo2"];
  var minutes = points.map(function (p) { return p.minute; });
  var minX = Math.min.apply(null, minutes), maxX = Math.max.apply(null, minutes.concat([minX + 1]));
  // The usual 40-200 axis grows (in steps of 20) to hold every reading: nothing is clamped,
  // so a systolic of 230 is drawn at 230.
  var values = [];
  points.forEach(function (p) {
    series.forEach(function (name) { if (p[name] !== null && p[name] !== undefined) { values.push(Number(p[name])); } });
  });
  var minY = Math.min(40, Math.floor(Math.min.apply(null, values.concat([40])) / 20) * 20);
  var maxY = Math.max(200, Math.ceil(Math.max.apply(null, values.concat([200])) / 20) * 20);
  function x(m) { return PAD + (m - minX) / (maxX - minX) * (W - 2 * PAD); }
  function y(v) { return H - PAD - (v - minY) / (maxY - minY) * (H - 2 * PAD); }
  var ticks = [];
  for (var tick = minY + 20; tick < maxY; tick += 40) { ticks.push(tick); }
  function el(name, attrs) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  var svg = el("svg", { viewBox: "0 0 " + W + " " + H, "aria-hidden": "true" });
  svg.appendChild(el("line", { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, "class": "axis" }));
  svg.appendChild(el("line", { x1: PAD, y1: PAD, x2: PAD, y2: H - PAD, "class": "axis" }));
  ticks.forEach(function (v) {
    var label = el("text", { x: 2, y: y(v) + 4 });
    label.textContent = v;
    svg.appendChild(label);
  });
  series.forEach(function (name, index) {
    var coords = points.filter(function (p) { return p[name] !== null; })
      .map(function (p) { return x(p.minute).toFixed(1) + "," + y(p[name]).toFixed(1); });
    if (!coords.length) { return; }
    svg.appendChild(el("polyline", { points: coords.join(" "), "class": "line " + name }));
    var key = el("text", { x: W - PAD - 90, y: PAD + 12 * index, "class": name });
    key.textContent = name.replace("_", " ");
    svg.appendChild(key);
  });
  var end = el("text", { x: W - PAD - 20, y: H - 8 });
  end.textContent = Math.round(maxX) + " min";
  svg.appendChild(end);
  target.appendChild(svg);
}());
