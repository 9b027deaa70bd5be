// The /api/docs page (backend/templates/api_docs.html). A file, not an inline script: the page's
// Content-Security-Policy, like the app's, runs no inline script.

// The code samples call this page's own origin: the address the visitor reached the server by.
for (const span of document.querySelectorAll("[data-origin]")) span.textContent = window.location.origin;

const root = document.getElementById("swagger-ui");
// SwaggerUIBundle is the global of swagger-ui-bundle.js, loaded (deferred) before this file.
SwaggerUIBundle({ url: root.dataset.url, domNode: root, deepLinking: true });
