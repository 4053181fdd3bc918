// The referral section of /account/loyalty/: a "Copy link" button for the invitation link. Without this
// script (or without clipboard access) the button stays hidden and the link is selectable text.
(function () {
  "use strict";
  var share = document.querySelector("[data-referral-share]");
  if (!share || !navigator.clipboard) {
    return;
  }
  var button = share.querySelector("[data-copy-target]");
  var status = share.querySelector("[data-copy-status]");
  var input = document.getElementById(button ? button.getAttribute("data-copy-target") : "");
  if (!button || !input) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(input.value).then(
      function () {
        button.textContent = "Copied";
        if (status) {
          status.textContent = "Invitation link copied.";
        }
      },
      function () {
        input.select();
        if (status) {
          status.textContent = "Select the link and copy it.";
        }
      }
    );
  });
})();
