/* The visit form, keyboard first.  Everything works without this file; it
   only makes a digit replace the cell's value however the cell was reached
   (Tab already selects the text; a click does not), and lets a click on a
   body-map region jump to that area's first cell.  No inline script: a
   strict Content-Security-Policy stays possible. */
(function () {
  "use strict";

  function selectOnFocus(event) {
    var el = event.target;
    if (el && el.classList && el.classList.contains("cell")) {
      // After the click has placed the caret, select the whole value.
      window.setTimeout(function () { if (document.activeElement === el) { el.select(); } }, 0);
    }
  }

  function jumpToArea(event) {
    var region = event.target.closest && event.target.closest(".region[data-area]");
    if (!region) { return; }
    var form = document.getElementById("visit-form");
    if (!form) { return; }
    var first = form.querySelector('tr[data-area="' + region.getAttribute("data-area") + '"] input.cell');
    if (first) { first.focus(); }
  }

  document.addEventListener("focusin", selectOnFocus);
  document.addEventListener("click", jumpToArea);
})();
