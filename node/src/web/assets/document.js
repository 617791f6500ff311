// The document page: "Copy link" buttons for the invitations.
(function () {
  "use strict";
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const input = document.getElementById(button.dataset.copy);
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
      } catch (_) {
        document.execCommand("copy");
      }
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy link"; }, 1500);
    });
  }
})();

// While the PDF or images are still arriving from the other nodes, reload
// every few seconds so the pages show as soon as they are here.
(function () {
  "use strict";
  // Not forever: after about two minutes the page says so and stops.
  const key = "countersign-reloads:" + window.location.pathname;
  const notice = document.querySelector("[data-arriving]");
  if (!notice) { sessionStorage.removeItem(key); return; }
  const reloads = Number(sessionStorage.getItem(key) || 0);
  if (reloads < 48) {
    sessionStorage.setItem(key, String(reloads + 1));
    setTimeout(() => window.location.reload(), 2500);
  } else {
    notice.append(" The other nodes have not sent everything yet: reload this page later.");
  }
})();
