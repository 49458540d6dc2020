// Starts Swagger UI on /schema (feedhub/api/openapi.py): a file, since the pages' CSP
// allows no inline script. SwaggerUIBundle and the preset come from /schema/assets.
const root = document.getElementById("swagger-ui");
window.SwaggerUIBundle({
  url: root.dataset.spec,
  domNode: root,
  deepLinking: true,
  presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIStandalonePreset],
});
