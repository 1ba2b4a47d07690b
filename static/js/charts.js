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

  function render(el) {
    if (!window.Plotly) return;
    var figure = readFigure(el.getAttribute("data-figure-id"));
    if (!figure) return;
    var config = Object.assign({}, CONFIG, figure.config || {});
    var layout = Object.assign({}, figure.layout || {});
    // The page decides the width (responsive), the figure only the height.
    delete layout.width;
    layout.autosize = true;
    if (el.data) window.Plotly.purge(el);
    window.Plotly.newPlot(el, figure.data || [], layout, config).then(function () {
      el.setAttribute("data-rendered", "true");
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
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
})();
