/* Clinical photographs: area picking on the body map, the timeline's selected
   area, the before/after slider. No inline script anywhere (strict CSP); every
   page works without this file (checkbox list, plain links, side-by-side view). */
(function () {
  "use strict";

  // Upload: a click on a region of a row's map ticks that row's checkbox.
  function initPicker(row) {
    var prefix = row.getAttribute("data-prefix");
    var boxes = row.querySelectorAll('input[type="checkbox"][name="' + prefix + '-areas"]');
    function sync() {
      boxes.forEach(function (box) {
        row.querySelectorAll('.region.pick[data-area="' + box.value + '"]').forEach(function (g) {
          g.classList.toggle("picked", box.checked);
        });
      });
    }
    row.querySelectorAll(".region.pick").forEach(function (g) {
      g.addEventListener("click", function () {
        boxes.forEach(function (box) {
          if (box.value === g.getAttribute("data-area")) { box.checked = !box.checked; }
        });
        sync();
      });
    });
    boxes.forEach(function (box) { box.addEventListener("change", sync); });
    sync();
  }
  document.querySelectorAll("fieldset.photo-row").forEach(initPicker);

  // Timeline: keep the map's selected area in step with the panel htmx swaps in.
  function markSelected() {
    var panel = document.getElementById("area-panel");
    if (!panel) { return; }
    var area = panel.getAttribute("data-area");
    document.querySelectorAll(".index-map .region").forEach(function (g) {
      g.classList.toggle("selected", g.getAttribute("data-area") === area);
    });
    document.querySelectorAll(".area-index a").forEach(function (a) {
      if (a.getAttribute("data-area") === area) { a.setAttribute("aria-current", "true"); }
      else { a.removeAttribute("aria-current"); }
    });
  }
  document.body.addEventListener("htmx:afterSwap", markSelected);

  // Compare: the after photograph drawn over the before one, revealed from the left.
  var slider = document.getElementById("compare-slider");
  var view = document.getElementById("slider-view");
  var top = document.getElementById("slider-after");
  if (slider && view && top) {
    view.hidden = false;
    document.getElementById("compare").classList.add("with-slider");
    var update = function () {
      var shown = Number(slider.value);
      top.style.clipPath = "inset(0 " + (100 - shown) + "% 0 0)";
      slider.setAttribute("aria-valuetext", shown + "% after (" + slider.dataset.after + "), " +
        (100 - shown) + "% before (" + slider.dataset.before + ")");
      view.setAttribute("data-shown", String(shown));
    };
    slider.addEventListener("input", update);
    update();
  }
})();
