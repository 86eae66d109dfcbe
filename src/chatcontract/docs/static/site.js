// Renders the platform page's embedded spec with Swagger UI. The spec is in the page itself
// (script#cc-spec), so nothing is fetched: the site works from disk and with no network.
(function () {
  "use strict";
  var spec = JSON.parse(document.getElementById("cc-spec").textContent);
  window.ui = SwaggerUIBundle({
    spec: spec,
    domNode: document.getElementById("swagger-ui"),
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    docExpansion: "full",            // every operation open: its results and decisions in view
    defaultModelsExpandDepth: -1,    // schemas are shown inline at each operation
    displayOperationId: true,        // the ids the reports key on
    deepLinking: true,               // index.html links to #/<tag>/<operationId>
    supportedSubmitMethods: [],      // no "Try it out": the servers are the vendors' real hosts
    validatorUrl: null,              // no badge fetched from the online validator
    useUnsafeMarkdown: true,         // keep the classes of the site's own (escaped) result tables
    showExtensions: false
  });
})();
