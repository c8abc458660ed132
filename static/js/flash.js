// The flash-sale page's countdowns: each <time data-flash-until="ISO time"> shows the time
// left as h:mm:ss; at zero, the sale's button is enabled (it started) or disabled (it ended).
// The server decides admission anyway: a button pressed early or late gets the reason back.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const timers = Array.from(document.querySelectorAll("[data-flash-until]"));
  if (!timers.length) {
    return;
  }
  const pad = (n) => String(n).padStart(2, "0");
  const tick = () => {
    const now = Date.now();
    for (const timer of timers) {
      const left = Math.max(0, Date.parse(timer.dataset.flashUntil) - now);
      const seconds = Math.floor(left / 1000);
      timer.textContent = `${Math.floor(seconds / 3600)}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
      if (left === 0 && !timer.dataset.flashDone) {
        timer.dataset.flashDone = "1";
        const button = timer.closest(".flash-sale")?.querySelector("[data-flash-join]");
        if (button) {
          button.disabled = timer.dataset.flashThen === "disable";
        }
      }
    }
  };
  tick();
  window.setInterval(tick, 1000);
});
