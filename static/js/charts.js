/*
 * THE chart renderer of the CLE tracker (no inline script anywhere, so a
 * strict Content-Security-Policy can be set).
 *
 * Convention: <div class="chart" data-figure-id="ID"></div> plus
 * {{ figure|json_script:"ID" }} — the figure ({data, layout[, config]}) travels
 * as JSON in a <script type="application/json">, never as code. Every such
 * div is drawn with window.Plotly on DOMContentLoaded and again after an htmx
 * swap (htmx:afterSettle), purging the previous plot first so a re-rendered
 * partial never leaks plots. Pages that chart load vendor/plotly.min.js
 * before this file; a page without Plotly is left untouched.
 *
 * Optional parts of a figure, beside data/layout/config:
 * - zoom: [{label, range}] time spans offered as buttons above the chart;
 * - narrow: {max_width, layout: {"a.b": value}} applied while the chart is that
 *   narrow (a phone), undone when it widens;
 * - a trace with meta "link": a click on its point opens customdata[0], a
 *   same-site address (the chart's table carries the same links for keyboards).
 */
(function () {
  "use strict";

  var CONFIG = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
    toImageButtonOptions: { format: "png", scale: 2 }
  };

  function readFigure(id) {
    var node = document.getElementById(id);
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch (err) {
      if (window.console) console.error("charts.js: figure " + id + " is not JSON", err);
      return null;
    }
  }

  // "a.b.c" paths as Plotly.relayout takes them, on a plain layout object.
  function keysOf(path) {
    return path.replace(/\[(\d+)\]/g, ".$1").split(".");  // "annotations[3].visible"
  }
  function getPath(obj, path) {
    return keysOf(path).reduce(function (o, k) { return o == null ? undefined : o[k]; }, obj);
  }
  function setPath(obj, path, value) {
    var keys = keysOf(path), last = keys.pop();
    keys.forEach(function (k) {
      if (obj[k] == null || typeof obj[k] !== "object") obj[k] = {};
      obj = obj[k];
    });
    obj[last] = value;
  }

  // figure.narrow = {max_width, layout: {path: value}}: what changes on a phone.
  function isNarrow(el, figure) {
    return !!(figure.narrow && el.clientWidth && el.clientWidth <= figure.narrow.max_width);
  }
  function narrowUpdate(figure, narrow) {
    var update = {};
    Object.keys(figure.narrow.layout).forEach(function (path) {
      var wide = getPath(figure.layout, path);
      update[path] = narrow ? figure.narrow.layout[path] : (wide === undefined ? null : wide);
    });
    return update;
  }

  // Every x axis of the figure (they are matched: one time axis on every row).
  function xRangeUpdate(layout, range) {
    var update = {};
    Object.keys(layout).forEach(function (key) {
      if (/^xaxis\d*$/.test(key)) update[key + ".range"] = range.slice();
    });
    return update;
  }

  // figure.zoom = [{label, range}]: plain buttons (keyboard-operable, unlike
  // plotly's SVG range selector) placed above the chart, the pressed one marked.
  function zoomBar(el, figure) {
    var id = el.getAttribute("data-figure-id");
    var old = el.parentNode && el.parentNode.querySelector('.chart-zoom[data-for="' + id + '"]');
    if (old) old.remove();
    if (!figure.zoom || !figure.zoom.length) return;
    var bar = document.createElement("div");
    bar.className = "chart-zoom";
    bar.setAttribute("data-for", id);
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Time span of the chart");
    figure.zoom.forEach(function (preset, i) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button small";
      button.textContent = preset.label;
      button.setAttribute("aria-pressed", i === 0 ? "true" : "false");
      button.addEventListener("click", function () {
        if (!el.data) return;
        el._cleZooming = true;
        window.Plotly.relayout(el, xRangeUpdate(figure.layout, preset.range)).then(function () {
          el._cleZooming = false;
          bar.querySelectorAll("button").forEach(function (b) {
            b.setAttribute("aria-pressed", b === button ? "true" : "false");
          });
        });
      });
      bar.appendChild(button);
    });
    el.parentNode.insertBefore(bar, el);
    return bar;
  }

  // A point of a trace with meta "link" opens the same-site address in its customdata.
  function followLinks(el) {
    el.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      if (!point || !point.data || point.data.meta !== "link") return;
      var url = point.customdata && point.customdata[0];
      if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") {
        window.location.assign(url);
      }
    });
  }

  function render(el) {
    if (!window.Plotly) return;
    var figure = readFigure(el.getAttribute("data-figure-id"));
    if (!figure) return;
    var config = Object.assign({}, CONFIG, figure.config || {});
    var layout = JSON.parse(JSON.stringify(figure.layout || {}));
    // The page decides the width (responsive), the figure only the height.
    delete layout.width;
    layout.autosize = true;
    var narrow = isNarrow(el, figure);
    if (narrow) {
      var update = narrowUpdate(figure, true);
      Object.keys(update).forEach(function (path) { setPath(layout, path, update[path]); });
    }
    if (el.data) window.Plotly.purge(el);
    var bar = zoomBar(el, figure);
    window.Plotly.newPlot(el, figure.data || [], layout, config).then(function () {
      el._cleNarrow = narrow;
      el._cleFigure = figure;
      followLinks(el);
      // A zoom by dragging or the mode bar: no preset button is pressed any more.
      el.on("plotly_relayout", function () {
        if (el._cleZooming || !bar) return;
        bar.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
      });
      el.setAttribute("data-rendered", "true");
    });
  }

  // Across the phone/tablet width: switch the narrow layout on or off.
  function adapt() {
    if (!window.Plotly) return;
    document.querySelectorAll(".chart[data-rendered]").forEach(function (el) {
      var figure = el._cleFigure;
      if (!figure || !figure.narrow) return;
      var narrow = isNarrow(el, figure);
      if (narrow === el._cleNarrow) return;
      el._cleNarrow = narrow;
      // A relayout of the height switches plotly's autosize off (the width would
      // stay frozen at this size): switch it back on so the chart fits the page again.
      window.Plotly.relayout(el, narrowUpdate(figure, narrow)).then(function () {
        return window.Plotly.relayout(el, { autosize: true });
      });
    });
  }

  function renderIn(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var charts = [];
    if (scope.matches && scope.matches(".chart[data-figure-id]")) charts.push(scope);
    scope.querySelectorAll(".chart[data-figure-id]").forEach(function (el) { charts.push(el); });
    charts.forEach(render);
  }

  // Before printing, fit every chart to the paper's width; after, back to the screen's.
  function resizeAll() {
    if (!window.Plotly) return;
    document.querySelectorAll(".chart[data-rendered]").forEach(function (el) {
      window.Plotly.Plots.resize(el);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { renderIn(document); });
  } else {
    renderIn(document);
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    renderIn(event.detail && event.detail.elt ? event.detail.elt : document);
  });
  // A chart removed by an htmx swap is purged, so Plotly drops its listeners.
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var el = event.detail && event.detail.elt;
    if (window.Plotly && el && el.classList && el.classList.contains("chart") && el.data) {
      window.Plotly.purge(el);
    }
  });
  var adaptTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(adaptTimer);
    adaptTimer = window.setTimeout(adapt, 150);
  });
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
})();
