// Behaviour of the storefront and portal pages. A static file, not inline handlers: the
// Content-Security-Policy (script-src 'self') refuses inline scripts and on* attributes.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // The language menu applies on change; without JavaScript its <noscript> button does.
  const language = document.getElementById("lang-select");
  if (language) {
    language.addEventListener("change", () => language.form.submit());
  }
});
