// The site's own behaviour, plain JS that works from disk (nothing is fetched: every page carries
// its data). On every page: a link to a folded block (a matrix cell's checks) opens it. On a
// platform page: Swagger UI renders the embedded spec (script#cc-spec) with operations folded;
// the filter hides operations by text (operationId, method, path, summary, tag, documented error
// names and statuses, check names) and by status; a link to `page.html?check=<id>#/<tag>/<op>`
// opens that operation and scrolls to that check's row in its results.
(function () {
  "use strict";

  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    if (!id || id.charAt(0) === "/") return;
    var target = document.getElementById(id);
    if (!target) return;
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    target.scrollIntoView({ block: "start" });
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();

  var specNode = document.getElementById("cc-spec");
  if (!specNode) return;
  var operations = JSON.parse(document.getElementById("cc-operations").textContent);

  var ui = window.ui = SwaggerUIBundle({
    spec: JSON.parse(specNode.textContent),
    domNode: document.getElementById("swagger-ui"),
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    docExpansion: "list",            // tags open, every operation folded: the page fits a screen
    defaultModelsExpandDepth: -1,    // schemas are shown inline at each operation
    displayOperationId: true,        // the ids the reports key on
    deepLinking: true,               // #/<tag>/<operationId> opens that operation
    supportedSubmitMethods: [],      // no "Try it out": the servers are the vendors' real hosts
    validatorUrl: null,              // no badge fetched from the online validator
    useUnsafeMarkdown: true,         // keep the classes of the site's own (escaped) result tables
    showExtensions: false,
    onComplete: openTarget           // #decisions lives in the rendered spec: open it once it is there
  });

  // ------------------------------------------------------------------ the check a link points at
  function wantedCheck() {
    var query = new URLSearchParams(window.location.search);
    return query.get("check");
  }

  function rowOf(checkId) {
    var rows = document.querySelectorAll("#swagger-ui [data-check-id]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-check-id") === checkId) return rows[i];
    }
    return null;
  }

  // Swagger UI renders an opened operation asynchronously and may still be scrolling to it: wait
  // for the row, then for the page to stop moving, then bring the row to the middle of the view.
  function showCheck(checkId) {
    var tries = 0, still = 0, lastY = -1;
    (function look() {
      var row = rowOf(checkId);
      if (row) {
        still = window.scrollY === lastY ? still + 1 : 0;
        lastY = window.scrollY;
        if (still >= 3 || tries > 80) {
          var old = document.querySelector(".cc-wanted");
          if (old) old.classList.remove("cc-wanted");
          row.classList.add("cc-wanted");
          row.scrollIntoView({ block: "center" });
          return;
        }
      }
      if (++tries < 120) window.setTimeout(look, 60);
    })();
  }

  function openOperation(hash, scroll) {
    var parts = decodeURIComponent(hash.replace(/^#\/?/, "")).split("/");
    if (parts.length < 2) return;
    ui.layoutActions.show(["operations-tag", parts[0]], true);
    ui.layoutActions.show(["operations", parts[0], parts[1]], true);
    if (scroll) ui.layoutActions.parseDeepLinkHash("#/" + parts[0] + "/" + parts[1]);
  }

  // The site's own link to this same page's operation would reload it: open the operation in
  // place instead. Swagger UI's links (inside #swagger-ui) keep their own behaviour.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || link.closest("#swagger-ui") || event.button !== 0 || event.metaKey || event.ctrlKey ||
        event.shiftKey) return;
    var url = new URL(link.href, window.location.href);
    if (url.pathname !== window.location.pathname || url.hash.indexOf("#/") !== 0) return;
    event.preventDefault();
    history.pushState(null, "", url.search + url.hash);
    var checkId = url.searchParams.get("check");
    openOperation(url.hash, !checkId);
    if (checkId) showCheck(checkId);
  });
  window.addEventListener("hashchange", function () {
    if (window.location.hash.indexOf("#/") === 0) openOperation(window.location.hash, true);
  });
  if (wantedCheck() && window.location.hash.indexOf("#/") === 0) showCheck(wantedCheck());

  // ------------------------------------------------------------------ the filter
  var text = document.getElementById("cc-filter-text");
  var choice = document.getElementById("cc-filter-status");
  var count = document.getElementById("cc-filter-count");
  var rules = document.createElement("style");
  document.head.appendChild(rules);

  function statusMatches(op, wanted) {
    var has = function (k) { return op.outcomes.indexOf(k) >= 0; };
    if (!wanted) return true;
    if (wanted === "failing") return has("fail") || has("error");
    if (wanted === "skipped") return has("skip") || has("disabled");
    if (wanted === "passing") return op.outcomes.length > 0 && op.outcomes.every(function (k) { return k === "pass"; });
    if (wanted === "unchecked") return op.outcomes.length === 0;
    return true;
  }

  function textMatches(op, words) {
    var haystack = [op.operationId, op.method, op.path, op.summary, op.tag].concat(op.errors, op.checks)
      .join("\n").toLowerCase();
    return words.every(function (w) { return haystack.indexOf(w) >= 0; });
  }

  // Swagger UI's block of an operation has the id "operations-<tag>-<operationId>" (spaces as _).
  function blockId(op) {
    return "operations-" + op.tag.replace(/\s/g, "_") + "-" + op.operationId.replace(/\s/g, "_");
  }

  function applyFilter() {
    var words = text.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = operations.filter(function (op) { return statusMatches(op, choice.value) && textMatches(op, words); });
    var hidden = operations.filter(function (op) { return shown.indexOf(op) < 0; });
    var css = hidden.map(function (op) { return '#swagger-ui [id="' + CSS.escape(blockId(op)) + '"]'; });
    var out = css.length ? css.join(",\n") + " { display: none; }\n" : "";
    if (hidden.length) {
      var keep = shown.map(function (op) { return '[id="' + CSS.escape(blockId(op)) + '"]'; });
      out += "#swagger-ui .opblock-tag-section" + (keep.length ? ":not(:has(" + keep.join(", ") + "))" : "") +
        " { display: none; }\n";
    }
    rules.textContent = out;
    count.textContent = hidden.length ? shown.length + " of " + operations.length + " operations match"
      : operations.length + " operations";
  }

  text.addEventListener("input", applyFilter);
  choice.addEventListener("change", applyFilter);
  document.getElementById("cc-filter").addEventListener("submit", function (event) { event.preventDefault(); });
  applyFilter();
})();
