// The group page's countdown: counts down the <time data-countdown="unix seconds"> the server
// rendered (its text is the server's "time until" for pages without JavaScript).
(function () {
  "use strict";
  var nodes = document.querySelectorAll("time[data-countdown]");
  if (!nodes.length) return;
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    var now = Date.now() / 1000;
    nodes.forEach(function (node) {
      var left = Math.max(0, Math.floor(Number(node.dataset.countdown) - now));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      node.textContent = pad(h) + ":" + pad(m) + ":" + pad(s);
    });
  }
  tick();
  setInterval(tick, 1000);
})();
