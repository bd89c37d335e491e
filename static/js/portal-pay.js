// The portal's payment status page: while the card processor has not confirmed a payment,
// look again every few seconds (the page works without this: its "Check again" link).
(function () {
  "use strict";
  var box = document.querySelector("[data-pay-pending]");
  if (!box) { return; }
  var key = "utilis-pay-checks:" + box.getAttribute("data-pay-pending");
  var checks = parseInt(window.sessionStorage.getItem(key) || "0", 10);
  if (checks >= 40) { return; }  // about two minutes; then the link is there
  window.setTimeout(function () {
    window.sessionStorage.setItem(key, String(checks + 1));
    window.location.replace(box.getAttribute("data-pay-pending"));
  }, 3000);
})();
