// Every chart on the staff pages. A page places <div data-chart="ID"> and a json_script
// block ID holding a list of chart specs (katclinic/lib/charts.py describes them); each
// spec becomes one <figure> with an SVG: lines or steps on a time or number axis, levels,
// upright markers, a tooltip on hover or keyboard focus, and a table of the figures when
// the page has none. The value axis always holds every value: nothing is clamped.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 640, H = 230, PAD = { left: 46, right: 16, top: 26, bottom: 30 };
  var LEVEL_KINDS = ["threshold", "response", "remission", "band", "reference"];

  function el(name, attrs, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function html(name, text) {
    var node = document.createElement(name);
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function xNumber(axis, value) { return axis.kind === "time" ? Date.parse(value) : Number(value); }

  function xText(axis, value) {
    if (axis.kind === "time") {
      return typeof value === "string" ? value.slice(0, 10) : new Date(value).toISOString().slice(0, 10);
    }
    return String(Math.round(Number(value) * 10) / 10) + (axis.unit ? " " + axis.unit : "");
  }

  function yText(axis, value) {
    if (axis.percent) { return Math.round(value * 100) + "%"; }
    return String(Math.round(value * 100) / 100);
  }

  function allX(spec) {
    var xs = [];
    spec.series.forEach(function (s) { s.points.forEach(function (p) { xs.push(xNumber(spec.x, p.x)); }); });
    (spec.markers || []).forEach(function (m) { xs.push(xNumber(spec.x, m.x)); });
    if (spec.x.min !== undefined) { xs.push(xNumber(spec.x, spec.x.min)); }
    if (spec.x.max !== undefined) { xs.push(xNumber(spec.x, spec.x.max)); }
    return xs;
  }

  function xScale(spec) {
    var xs = allX(spec);
    var lo = Math.min.apply(null, xs), hi = Math.max.apply(null, xs);
    var place = function (v) {
      if (hi === lo) { return (W + PAD.left - PAD.right) / 2; }
      return PAD.left + (W - PAD.left - PAD.right) * (xNumber(spec.x, v) - lo) / (hi - lo);
    };
    return { place: place, lo: lo, hi: hi };
  }

  // Up to a round figure: 23.1 on a range of 21 becomes 25, 2200 on 2000 becomes 2500.
  function roundUp(value, range) {
    if (range <= 0) { return value; }
    var unit = Math.pow(10, Math.floor(Math.log(range) / Math.LN10) - 1) * 5;
    return Math.ceil(value / unit) * unit;
  }

  // The axis starts from the spec's range and grows to hold every point and level.
  function yScale(spec) {
    var axis = spec.y, values = [axis.min, axis.max];
    spec.series.forEach(function (s) { s.points.forEach(function (p) { values.push(Number(p.y)); }); });
    (spec.levels || []).forEach(function (l) { values.push(Number(l.y)); });
    var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
    if (axis.headroom) { hi = roundUp(hi + (hi - lo) * axis.headroom, hi - lo); }
    if (axis.step) {
      lo = Math.floor(lo / axis.step) * axis.step;
      hi = Math.ceil(hi / axis.step) * axis.step;
    }
    if (hi <= lo) { hi = lo + 1; }
    var place = function (v) { return H - PAD.bottom - (H - PAD.top - PAD.bottom) * (v - lo) / (hi - lo); };
    return { place: place, lo: lo, hi: hi };
  }

  function tooltip() {
    var group = el("g", { "class": "chart-tooltip", visibility: "hidden", "pointer-events": "none" });
    var box = el("rect", { rx: 3, height: 18 });
    var label = el("text", {});
    group.appendChild(box);
    group.appendChild(label);
    var hide = function () { group.setAttribute("visibility", "hidden"); };
    return {
      node: group,
      show: function (x, y, text) {
        label.textContent = text;
        var width = text.length * 6.2 + 10;
        var left = Math.min(Math.max(x - width / 2, 0), W - width);
        var top = Math.max(y - 26, 0);
        box.setAttribute("x", left); box.setAttribute("y", top); box.setAttribute("width", width);
        label.setAttribute("x", left + 5); label.setAttribute("y", top + 13);
        group.setAttribute("visibility", "visible");
      },
      hide: hide,
      hideOnEscape: function (event) { if (event.key === "Escape") { hide(); } }
    };
  }

  function focusable(node, tip, x, y, text) {
    node.setAttribute("tabindex", "0");
    node.setAttribute("role", "img");  // a shape named by its value, so that the name is read
    node.setAttribute("aria-label", text);
    node.setAttribute("class", (node.getAttribute("class") || "") + " chart-focusable");
    var show = function () { tip.show(x, y, text); };
    node.addEventListener("mouseenter", show);
    node.addEventListener("focus", show);
    node.addEventListener("mouseleave", tip.hide);
    node.addEventListener("blur", tip.hide);
    node.addEventListener("keydown", tip.hideOnEscape);
    return node;
  }

  function drawAxes(svg, spec, xs, ys) {
    var left = PAD.left, right = W - PAD.right, bottom = H - PAD.bottom;
    svg.appendChild(el("line", { x1: left, x2: left, y1: PAD.top, y2: bottom, "class": "chart-axis" }));
    svg.appendChild(el("line", { x1: left, x2: right, y1: bottom, y2: bottom, "class": "chart-axis" }));
    var labels = [ys.lo, ys.hi];
    if (spec.y.tick) {
      for (var v = ys.lo + spec.y.tick; v < ys.hi - spec.y.tick / 4; v += spec.y.tick) { labels.push(v); }
    }
    labels.forEach(function (value) {
      svg.appendChild(el("text", { x: left - 5, y: ys.place(value) + 3, "text-anchor": "end", "class": "chart-value" }, yText(spec.y, value)));
    });
    svg.appendChild(el("text", { x: left, y: H - 10, "class": "chart-value" }, xText(spec.x, xs.lo)));
    svg.appendChild(el("text", { x: right, y: H - 10, "text-anchor": "end", "class": "chart-value" }, xText(spec.x, xs.hi)));
    if (spec.y.unit) {
      svg.appendChild(el("text", { x: left - 5, y: ys.place(ys.hi) + 14, "text-anchor": "end", "class": "chart-value" }, spec.y.unit));
    }
  }

  function drawLevels(svg, spec, ys) {
    (spec.levels || []).forEach(function (level) {
      var kind = LEVEL_KINDS.indexOf(level.kind) >= 0 ? level.kind : "threshold";
      var y = ys.place(level.y);
      var line = el("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, "class": "chart-level level-" + kind });
      if (level.label) { line.appendChild(el("title", {}, level.label)); }
      svg.appendChild(line);
      if (level.label) {
        svg.appendChild(el("text", { x: PAD.left + 6, y: y - 3, "class": "chart-level-label level-" + kind }, level.label));
      }
    });
  }

  function drawMarkers(layer, spec, xs, tip) {
    (spec.markers || []).forEach(function (marker) {
      var x = xs.place(marker.x);
      var bar = el("rect", { x: x - 2, y: PAD.top, width: 4, height: H - PAD.top - PAD.bottom, "class": "chart-marker" });
      layer.appendChild(focusable(bar, tip, x, PAD.top, marker.note));
      if (marker.label) {
        layer.appendChild(el("text", { x: x, y: PAD.top - 4, "text-anchor": "middle", "class": "chart-marker-label" }, marker.label));
      }
    });
  }

  function pathOf(series, xs, ys) {
    var parts = [], lastY = null;
    series.points.forEach(function (p, i) {
      var x = xs.place(p.x).toFixed(1), y = ys.place(p.y).toFixed(1);
      if (i === 0) { parts.push("M" + x + " " + y); }
      else if (series.shape === "step") { parts.push("H" + x + (y !== lastY ? "V" + y : "")); }
      else { parts.push("L" + x + " " + y); }
      lastY = y;
    });
    return parts.join(" ");
  }

  function valueText(spec, series, p) {
    var unit = series.unit || spec.y.unit;
    return yText(spec.y, p.y) + (unit && !spec.y.percent ? " " + unit : "") + (p.note ? " (" + p.note + ")" : "");
  }

  function pointText(spec, series, p) {
    return xText(spec.x, p.x) + ": " + (series.label ? series.label + " " : "") + valueText(spec, series, p);
  }

  function drawMarks(layer, spec, series, xs, ys, tip) {
    series.points.forEach(function (p) {
      var x = xs.place(p.x), y = ys.place(p.y), tone = "tone-" + series.tone;
      var mark = p.tick
        ? el("path", { d: "M" + x.toFixed(1) + " " + (y - 5).toFixed(1) + "v10", "class": "chart-tick " + tone })
        : el("circle", { cx: x, cy: y, r: 4.5, "class": "chart-dot " + tone });
      layer.appendChild(focusable(mark, tip, x, y, pointText(spec, series, p)));
    });
  }

  // With several series, their names in their tones along the top, left to right.
  function drawKey(svg, spec) {
    if (spec.series.length < 2) { return; }
    var x = PAD.left;
    spec.series.forEach(function (series) {
      svg.appendChild(el("text", { x: x, y: PAD.top - 10, "class": "chart-key tone-" + series.tone }, series.label));
      x += series.label.length * 6.5 + 16;
    });
  }

  function drawSeries(svg, spec, xs, ys, tip) {
    var marks = el("g", { "class": "chart-marks" });
    spec.series.forEach(function (series) {
      if (!series.points.length) { return; }
      svg.appendChild(el("path", { d: pathOf(series, xs, ys), "data-points": series.points.length,
        "class": "chart-line tone-" + series.tone }));
      if (series.marks) { drawMarks(marks, spec, series, xs, ys, tip); }
    });
    drawKey(svg, spec);
    svg.appendChild(marks);
  }

  function interactive(spec) {
    return (spec.markers || []).length > 0 || spec.series.some(function (s) { return s.marks && s.points.length; });
  }

  function drawSvg(spec) {
    var xs = xScale(spec), ys = yScale(spec);
    // Focusable parts inside role=img would be hidden from assistive technology.
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", "class": "chart-svg",
      role: interactive(spec) ? "group" : "img", "aria-label": spec.summary });
    drawAxes(svg, spec, xs, ys);
    var markers = el("g", { "class": "chart-markers" });
    svg.appendChild(markers);
    drawLevels(svg, spec, ys);
    var tip = tooltip();
    drawSeries(svg, spec, xs, ys, tip);
    drawMarkers(markers, spec, xs, tip);
    svg.appendChild(tip.node);  // last, so it is drawn above everything
    return svg;
  }

  // One row per point; with table "changes", only where the value changes (daily totals).
  function tableRows(spec, series, named) {
    var keep = series.points.filter(function (p, i, all) {
      return spec.table !== "changes" || i === 0 || i === all.length - 1 || p.y !== all[i - 1].y;
    });
    return keep.map(function (p) {
      var cells = [xText(spec.x, p.x)];
      if (named) { cells.push(series.label); }
      return cells.concat([valueText(spec, series, p)]);
    });
  }

  function row(cells, tag) {
    var tr = html("tr");
    cells.forEach(function (cell) {
      var node = html(tag, cell);
      if (tag === "th") { node.setAttribute("scope", "col"); }
      tr.appendChild(node);
    });
    return tr;
  }

  function drawTable(spec) {
    var named = spec.series.length > 1;
    var details = html("details");
    details.appendChild(html("summary", "Figures" + (spec.title ? ": " + spec.title : "")));
    var table = html("table"), thead = html("thead"), body = html("tbody");
    var names = [spec.x.kind === "time" ? "When" : "At"].concat(named ? ["Series"] : []).concat(["Value"]);
    thead.appendChild(row(names, "th"));
    spec.series.forEach(function (series) {
      tableRows(spec, series, named).forEach(function (cells) { body.appendChild(row(cells, "td")); });
    });
    table.appendChild(thead);
    table.appendChild(body);
    details.appendChild(table);
    return details;
  }

  function drawFigure(container, spec) {
    var figure = html("figure");
    figure.setAttribute("class", "chart-figure");
    if (spec.title) { figure.appendChild(html("figcaption", spec.title)); }
    figure.appendChild(drawSvg(spec));
    if (spec.table) { figure.appendChild(drawTable(spec)); }
    container.appendChild(figure);
  }

  function drawAll() {
    var containers = document.querySelectorAll("[data-chart]:not([data-drawn])");
    Array.prototype.forEach.call(containers, function (container) {
      var source = document.getElementById(container.getAttribute("data-chart"));
      if (!source) { return; }
      container.setAttribute("data-drawn", "");
      JSON.parse(source.textContent).forEach(function (spec) { drawFigure(container, spec); });
    });
  }

  document.addEventListener("DOMContentLoaded", drawAll);
  document.addEventListener("htmx:afterSettle", drawAll);
})();
