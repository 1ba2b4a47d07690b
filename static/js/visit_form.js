/* The visit form, keyboard first.  Everything works without this file (the
   server validates, scores and refuses what would lose data); it only makes
   entry faster and safer:
   - a digit replaces the cell's value however the cell was reached, and (a
     setting, remembered in this browser) moves the cursor to the next cell;
   - Space marks the rest of an area clear and jumps to the next area;
     ArrowUp / ArrowDown move between areas in the same column;
   - Enter moves to the next field and never saves by accident; Ctrl+Enter
     (Cmd+Enter) saves from anywhere, Enter in the last field saves;
   - unit fields left at their default are out of the Tab order ("change
     units" puts them back);
   - a CTCAE term is completed by Tab or Enter once what is typed names one term;
   - ticking "No CLASI examination" over typed scores asks first;
   - a cell copied from the last visit stays marked until it is changed;
   - a click on a body-map region jumps to that area's first cell.
   No inline script: a strict Content-Security-Policy stays possible. */
(function () {
  "use strict";

  var STORAGE_KEY = "cle.visit.autoAdvance";
  var form = document.getElementById("visit-form");
  if (!form) { return; }
  var main = form.querySelector(".visit-main");
  var saveButton = document.getElementById("save-visit");

  // -- settings ---------------------------------------------------------------

  function readSetting() {
    try { return window.localStorage.getItem(STORAGE_KEY) !== "off"; } catch (e) { return true; }
  }

  function writeSetting(on) {
    try { window.localStorage.setItem(STORAGE_KEY, on ? "on" : "off"); } catch (e) { /* private mode */ }
  }

  var autoAdvance = readSetting();
  var setting = document.getElementById("auto-advance");
  if (setting) {
    setting.checked = autoAdvance;
    setting.closest("label").hidden = false;
    setting.addEventListener("change", function () {
      autoAdvance = setting.checked;
      writeSetting(autoAdvance);
    });
  }
  // The key hints and the unit switch only mean something with this script.
  Array.prototype.forEach.call(form.querySelectorAll(".keys-help, .unit-edit"), function (el) {
    el.hidden = false;
  });

  // -- fields in order ----------------------------------------------------------

  function cells() {
    return Array.prototype.slice.call(form.querySelectorAll("input.cell"));
  }

  function isCell(el) {
    return el && el.classList && el.classList.contains("cell");
  }

  function fields() {
    // The focusable fields of the form's main column, in page order.
    return Array.prototype.filter.call(main.querySelectorAll("input, select, textarea"), function (el) {
      return el.type !== "hidden" && !el.disabled && el.tabIndex >= 0 && el.offsetParent !== null;
    });
  }

  function nextField(el) {
    var list = fields();
    var i = list.indexOf(el);
    return i >= 0 && i + 1 < list.length ? list[i + 1] : null;
  }

  function focusField(el) {
    if (!el) { return; }
    el.focus();
    if (el.select && el.tagName === "INPUT" && el.type === "text") { el.select(); }
  }

  function valid(cell) {
    var pattern = cell.getAttribute("pattern");
    return cell.value.length === 1 && (!pattern || new RegExp("^(?:" + pattern + ")$").test(cell.value));
  }

  function unmarkCopied(cell) {
    var holder = cell.closest(".copied");
    if (holder) { holder.classList.remove("copied"); }
  }

  function notify() {
    // One input event after a change made here: the live score panel follows.
    form.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // -- the grid -------------------------------------------------------------------

  function selectOnFocus(event) {
    var el = event.target;
    if (isCell(el)) {
      // After the click has placed the caret, select the whole value.
      window.setTimeout(function () { if (document.activeElement === el) { el.select(); } }, 0);
    }
  }

  function rowOf(cell) {
    var tr = cell.closest("tr[data-area]");
    if (tr) { return Array.prototype.slice.call(tr.querySelectorAll("input.cell")); }
    var items = cell.closest(".exam-items");
    return items ? Array.prototype.slice.call(items.querySelectorAll("input.cell")) : [cell];
  }

  function clearRestOfRow(cell) {
    var row = rowOf(cell);
    var changed = false;
    row.slice(row.indexOf(cell)).forEach(function (c) {
      if (c.value !== "") { c.value = ""; changed = true; }
      unmarkCopied(c);
    });
    if (changed) { notify(); }
    // The next area's first cell; after the last area, the items scored once;
    // after those, the field that follows them.
    var all = cells();
    var last = row[row.length - 1];
    var after = all[all.indexOf(last) + 1];
    focusField(after || nextField(last));
  }

  function moveVertically(cell, step) {
    var tr = cell.closest("tr[data-area]");
    if (!tr) { return false; }
    var column = Array.prototype.indexOf.call(tr.children, cell.closest("td"));
    var target = step > 0 ? tr.nextElementSibling : tr.previousElementSibling;
    while (target) {
      var input = target.children[column] && target.children[column].querySelector("input.cell");
      if (input) { focusField(input); return true; }
      target = step > 0 ? target.nextElementSibling : target.previousElementSibling;
    }
    return false;
  }

  function onCellInput(event) {
    var cell = event.target;
    unmarkCopied(cell);
    if (autoAdvance && event.inputType && event.inputType.indexOf("insert") === 0 && valid(cell)) {
      focusField(nextField(cell));
    }
  }

  // -- units, terms ------------------------------------------------------------------

  function unitsOutOfTabOrder() {
    Array.prototype.forEach.call(form.querySelectorAll(".unit"), function (unit) {
      if (unit.value === unit.getAttribute("data-default")) { unit.tabIndex = -1; }
    });
  }

  function unitsInTabOrder() {
    var units = form.querySelectorAll(".unit");
    Array.prototype.forEach.call(units, function (unit) { unit.removeAttribute("tabindex"); });
    if (units.length) { focusField(units[0]); }
  }

  function completeTerm(input) {
    var text = input.value.trim().toLowerCase();
    var list = input.list;
    if (!text || !list) { return; }
    var matches = Array.prototype.map.call(list.options, function (o) { return o.value; })
      .filter(function (term) { return term.toLowerCase().indexOf(text) === 0; });
    var exact = matches.some(function (term) { return term.toLowerCase() === text; });
    if (matches.length === 1 && !exact) {
      input.value = matches[0];
      notify();
    }
  }

  // -- keys ---------------------------------------------------------------------------

  function onKeydown(event) {
    var el = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (el.classList && el.classList.contains("ae-term")) { completeTerm(el); }
      form.requestSubmit(saveButton);
      return;
    }
    if (el.classList && el.classList.contains("ae-term") && (event.key === "Tab" && !event.shiftKey || event.key === "Enter")) {
      completeTerm(el);
    }
    if (isCell(el)) {
      if (event.key === " ") { event.preventDefault(); clearRestOfRow(el); return; }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (moveVertically(el, event.key === "ArrowDown" ? 1 : -1)) { event.preventDefault(); }
        return;
      }
    }
    if (event.key === "ArrowRight" && el.tagName === "INPUT" && el.name && /^lab-.*-value$/.test(el.name) &&
        el.selectionStart === el.value.length) {
      // The end of a lab result: on to its unit, even when Tab skips it.
      var unit = form.querySelector("[name='" + el.name.replace(/-value$/, "-unit") + "']");
      if (unit) { event.preventDefault(); focusField(unit); }
      return;
    }
    if (event.key === "Enter" && !event.altKey && !event.shiftKey &&
        (el.tagName === "INPUT" && el.type !== "submit" && el.type !== "button" || el.tagName === "SELECT")) {
      // Enter moves on like Tab; only the last field saves with it.
      event.preventDefault();
      var next = nextField(el);
      if (next) { focusField(next); } else { form.requestSubmit(saveButton); }
    }
  }

  // -- "No CLASI examination" over typed scores --------------------------------------

  var dialog = document.getElementById("skip-dialog");

  function filledCells() {
    return cells().filter(function (c) { return c.value.trim() !== ""; });
  }

  function onSkipClick(event) {
    var box = event.target;
    if (box.name !== "clasi-skip" || !box.checked) { return; }
    var filled = filledCells();
    if (!filled.length) { return; }
    event.preventDefault(); // the box stays unticked until the clinician decides
    if (!dialog || !dialog.showModal) {
      if (window.confirm("Discard the " + filled.length + " scores typed?")) { clearAndSkip(box); }
      return;
    }
    dialog.querySelector("[data-slot=count]").textContent =
      filled.length + (filled.length === 1 ? " cell" : " cells");
    dialog.returnValue = "";
    dialog.showModal();
  }

  function clearAndSkip(box) {
    cells().forEach(function (c) { c.value = ""; unmarkCopied(c); });
    box.checked = true;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }

  if (dialog) {
    dialog.addEventListener("click", function (event) {
      var choice = event.target.getAttribute && event.target.getAttribute("data-choice");
      if (choice) { dialog.close(choice); }
    });
    dialog.addEventListener("close", function () {
      var box = form.querySelector("input[name='clasi-skip']");
      if (dialog.returnValue === "clear") { clearAndSkip(box); }
      box.focus();
    });
  }

  // -- wiring --------------------------------------------------------------------------

  function jumpToArea(event) {
    var region = event.target.closest && event.target.closest(".region[data-area]");
    if (!region) { return; }
    var first = form.querySelector('tr[data-area="' + region.getAttribute("data-area") + '"] input.cell');
    if (first) { first.focus(); }
  }

  function focusErrorTarget(event) {
    var link = event.target.closest && event.target.closest(".error-links a[href^='#']");
    if (!link) { return; }
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (target) {
      event.preventDefault();
      target.scrollIntoView({ block: "center" });
      target.focus();
    }
  }

  unitsOutOfTabOrder();
  form.addEventListener("focusin", selectOnFocus);
  form.addEventListener("keydown", onKeydown);
  form.addEventListener("input", function (event) {
    if (isCell(event.target)) { onCellInput(event); }
    if (event.target.classList && event.target.classList.contains("unit")) { event.target.removeAttribute("tabindex"); }
  });
  // A unit <select> changed: back in the Tab order (some browsers send only "change").
  form.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("unit")) { event.target.removeAttribute("tabindex"); }
  });
  form.addEventListener("click", function (event) {
    if (event.target.classList && event.target.classList.contains("unit-edit")) { unitsInTabOrder(); return; }
    onSkipClick(event);
    focusErrorTarget(event);
  });
  document.addEventListener("click", jumpToArea);
  var banner = document.getElementById("form-errors");
  if (banner) { banner.focus(); }
})();
