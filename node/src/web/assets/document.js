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
  if (document.querySelector("[data-arriving]")) setTimeout(() => window.location.reload(), 2500);
})();
