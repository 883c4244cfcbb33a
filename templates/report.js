// Filters and deep links. Without scripts the page reads the same: the filters stay hidden
// and failing requirements are open.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var requirements = Array.prototype.slice.call(document.querySelectorAll("details.req"));
  var total = document.querySelectorAll("article.scenario").length;

  function apply() {
    var verdicts = {};
    form.querySelectorAll("input[name=verdict]").forEach(function (c) { verdicts[c.value] = c.checked; });
    var area = form.elements.area.value;
    var level = form.elements.level.value;
    var query = form.elements.q.value.trim().toLowerCase();
    var shown = 0;
    requirements.forEach(function (req) {
      var named = !query || req.dataset.search.indexOf(query) >= 0;
      var any = false;
      req.querySelectorAll("[data-verdict]").forEach(function (s) {
        var ok = (!area || req.dataset.area === area) && verdicts[s.dataset.verdict] &&
          (!level || s.dataset.level === level) && (named || s.dataset.search.indexOf(query) >= 0);
        s.hidden = !ok;
        if (ok) { any = true; if (s.tagName === "ARTICLE") { shown++; } }
      });
      req.hidden = !any;
      if (any && query) { req.open = true; }
    });
    document.querySelectorAll("section.area").forEach(function (a) {
      a.hidden = !a.querySelector("details.req:not([hidden])");
    });
    document.getElementById("shown").textContent = shown + " of " + total + " scenarios shown";
  }

  // report.html#PKCE-06 opens that requirement (and #s-… the scenario) and scrolls to it.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (!el) { return; }
    for (var e = el; e; e = e.parentElement) {
      if (e.tagName === "DETAILS") { e.open = true; }
      if (e.hidden) { e.hidden = false; }
    }
    el.scrollIntoView();
  }

  form.hidden = false;
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  window.addEventListener("hashchange", openTarget);
  apply();
  openTarget();
})();
