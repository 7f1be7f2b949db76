/* Close an open menu group when another one opens or the user clicks elsewhere. */
(function () {
  "use strict";
  var groups = document.querySelectorAll("details.navgroup");
  groups.forEach(function (group) {
    group.addEventListener("toggle", function () {
      if (!group.open) { return; }
      groups.forEach(function (other) { if (other !== group) { other.open = false; } });
    });
  });
  document.addEventListener("click", function (event) {
    groups.forEach(function (group) {
      if (group.open && !group.contains(event.target)) { group.open = false; }
    });
  });
})();

/* On a phone a list's filter form folds under one "Filters" line, so the list itself is on
 * the first screen; it stays open when a filter is in use. Every list page at once: any
 * GET form holding a .filters grid. */
(function () {
  "use strict";
  if (!window.matchMedia("(max-width: 639px)").matches) { return; }
  var label = document.body.getAttribute("data-filters-label");
  document.querySelectorAll("form[method=get] .filters").forEach(function (grid) {
    var form = grid.closest("form");
    if (form.querySelector(":scope > details.filter-fold")) { return; }
    var used = Array.prototype.some.call(form.elements, function (element) {
      if (!element.name || element.type === "hidden" || element.type === "submit") { return false; }
      if (element.type === "checkbox" || element.type === "radio") { return element.checked; }
      return element.value !== "";
    });
    var fold = document.createElement("details");
    fold.className = "filter-fold";
    fold.open = used;
    var summary = document.createElement("summary");
    summary.textContent = label;
    fold.appendChild(summary);
    Array.prototype.slice.call(form.childNodes).forEach(function (node) {
      if (node.nodeType === 1 && node.tagName === "INPUT" && node.type === "hidden") { return; }
      fold.appendChild(node);
    });
    form.appendChild(fold);
  });
})();
