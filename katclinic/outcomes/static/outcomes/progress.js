// Patient progress: scores per scale on one time axis with every dosing session marked,
// the response and remission levels drawn, and a tooltip on hover or keyboard focus.
// Data comes from the json_script block "progress-data"; no libraries, no inline code.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 640, H = 240, PAD = { left: 40, right: 16, top: 26, bottom: 30 };

  function el(name, attrs, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function day(iso) { return iso.slice(0, 10); }

  function timeRange(data) {
    var times = [];
    Object.keys(data.series).forEach(function (key) {
      data.series[key].points.forEach(function (p) { times.push(Date.parse(p.at)); });
    });
    data.sessions.forEach(function (s) { times.push(Date.parse(s.at)); });
    var t0 = Math.min.apply(null, times), t1 = Math.max.apply(null, times);
    return { t0: t0, span: Math.max(t1 - t0, 1) };
  }

  function tooltip(svg) {
    var group = el("g", { "class": "tooltip", visibility: "hidden", "pointer-events": "none" });
    var box = el("rect", { rx: 3, fill: "#1f2937", opacity: 0.92, height: 18 });
    var label = el("text", { fill: "#fff", "font-size": 11 });
    group.appendChild(box);
    group.appendChild(label);
    svg.appendChild(group);
    return {
      show: function (x, y, text) {
        label.textContent = text;
        var width = text.length * 6.2 + 10;
        var left = Math.min(Math.max(x - width / 2, 0), W - width);
        var top = Math.max(y - 26, 0);
        box.setAttribute("x", left); box.setAttribute("y", top); box.setAttribute("width", width);
        label.setAttribute("x", left + 5); label.setAttribute("y", top + 13);
        group.setAttribute("visibility", "visible");
      },
      hide: function () { group.setAttribute("visibility", "hidden"); }
    };
  }

  function hoverable(node, tip, x, y, text) {
    node.setAttribute("tabindex", "0");
    node.setAttribute("aria-label", text);
    node.addEventListener("mouseenter", function () { tip.show(x, y, text); });
    node.addEventListener("focus", function () { tip.show(x, y, text); });
    node.addEventListener("mouseleave", tip.hide);
    node.addEventListener("blur", tip.hide);
  }

  function drawSessions(svg, data, x, tip) {
    data.sessions.forEach(function (s) {
      var sx = x(Date.parse(s.at));
      var bar = el("rect", { x: sx - 2, y: PAD.top, width: 4, height: H - PAD.top - PAD.bottom, fill: "#9ca3af", opacity: 0.45 });
      var text = "Session " + s.number + ", " + day(s.at) + ": " + s.mg + " mg" + (s.bp ? ", peak BP " + s.bp : "") +
        (s.effects.length ? "; " + s.effects.join("; ") : "");
      hoverable(bar, tip, sx, PAD.top, text);
      svg.appendChild(bar);
      if (s.bp) { svg.appendChild(el("text", { x: sx, y: PAD.top - 4, "font-size": 8, "text-anchor": "middle", fill: "#6b7280" }, s.bp)); }
    });
  }

  function drawThresholds(svg, data, y) {
    [["response", "#d97706"], ["remission", "#15803d"]].forEach(function (pair) {
      var line = data.thresholds[pair[0]];
      if (!line) { return; }
      var ly = y(line.value);
      svg.appendChild(el("line", { x1: PAD.left, x2: W - PAD.right, y1: ly, y2: ly, stroke: pair[1], "stroke-dasharray": "5 4" }));
      svg.appendChild(el("text", { x: W - PAD.right, y: ly - 3, "text-anchor": "end", "font-size": 9, fill: pair[1] }, line.label));
    });
  }

  function draw(container, data, key, range) {
    var series = data.series[key];
    var x = function (t) { return PAD.left + (W - PAD.left - PAD.right) * (t - range.t0) / range.span; };
    // The axis holds the scale and every score, so no point is drawn outside the chart.
    var totals = series.points.map(function (p) { return p.total; });
    var lo = Math.min.apply(null, totals.concat([series.min]));
    var hi = Math.max.apply(null, totals.concat([series.max]));
    var y = function (v) { return H - PAD.bottom - (H - PAD.top - PAD.bottom) * (v - lo) / Math.max(hi - lo, 1); };
    var last = series.points[series.points.length - 1];
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", role: "group",
      "aria-label": series.title + ": " + series.points.length + " scores, latest " + last.total + " on " + day(last.at) });
    svg.appendChild(el("line", { x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: H - PAD.bottom, stroke: "#6b7280" }));
    svg.appendChild(el("line", { x1: PAD.left, x2: W - PAD.right, y1: H - PAD.bottom, y2: H - PAD.bottom, stroke: "#6b7280" }));
    [lo, hi].forEach(function (v) {
      svg.appendChild(el("text", { x: PAD.left - 5, y: y(v) + 3, "text-anchor": "end", "font-size": 10 }, String(v)));
    });
    var sessionsLayer = el("g", {});
    svg.appendChild(sessionsLayer);
    if (key === data.primary) { drawThresholds(svg, data, y); }
    var path = series.points.map(function (p, i) { return (i ? "L" : "M") + x(Date.parse(p.at)).toFixed(1) + " " + y(p.total).toFixed(1); });
    svg.appendChild(el("path", { d: path.join(" "), fill: "none", stroke: "#2563eb", "stroke-width": 2 }));
    var dots = el("g", {});
    svg.appendChild(dots);
    var tip = tooltip(svg);  // added last, so it is drawn above everything
    drawSessions(sessionsLayer, data, x, tip);
    series.points.forEach(function (p) {
      var px = x(Date.parse(p.at)), py = y(p.total);
      var dot = el("circle", { cx: px, cy: py, r: 4.5, fill: "#2563eb", stroke: "#fff", "stroke-width": 1.5 });
      hoverable(dot, tip, px, py, day(p.at) + ": " + p.total + (p.band ? " (" + p.band + ")" : ""));
      dots.appendChild(dot);
    });
    svg.appendChild(el("text", { x: PAD.left, y: H - 10, "font-size": 10 }, day(new Date(range.t0).toISOString())));
    svg.appendChild(el("text", { x: W - PAD.right, y: H - 10, "font-size": 10, "text-anchor": "end" }, day(new Date(range.t0 + range.span).toISOString())));
    var figure = document.createElement("figure");
    var caption = document.createElement("figcaption");
    caption.textContent = series.title;
    figure.appendChild(caption);
    figure.appendChild(svg);
    container.appendChild(figure);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("progress-chart");
    var source = document.getElementById("progress-data");
    if (!container || !source) { return; }
    var data = JSON.parse(source.textContent);
    var keys = Object.keys(data.series);
    if (!keys.length) { return; }
    var range = timeRange(data);
    keys.sort(function (a, b) { return (a === data.primary ? -1 : 0) - (b === data.primary ? -1 : 0); });
    keys.forEach(function (key) { draw(container, data, key, range); });
  });
})();
