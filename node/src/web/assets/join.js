// Fills the invitation link from the address's fragment (#countersign://…),
// which browsers never send to a server.
(function () {
  "use strict";
  const fragment = decodeURIComponent(window.location.hash.slice(1));
  const field = document.getElementById("link");
  if (field && fragment && !field.value) field.value = fragment;
})();
