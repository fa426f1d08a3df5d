// The dashboard's only script besides htmx: copy buttons, filter forms that apply on
// change, and a banner when the server stops answering. No inline script anywhere (the
// Content-Security-Policy allows scripts from /ui/static only).
(function () {
  "use strict";

  function showCopyResult(status, ok, length) {
    if (!status) return;
    status.textContent = ok
      ? "Copied " + length + " characters to the clipboard ✓"
      : "Could not reach the clipboard: the text is selected, press Ctrl+C (⌘C) to copy it";
    status.classList.toggle("copy-failed", !ok);
    status.classList.add("copy-shown");
  }

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copyFrom(button) {
    var source = document.getElementById(button.getAttribute("data-copy-from"));
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!source) return;
    var text = source.textContent;
    function fallback() {
      // Outside a secure context (plain http to a host other than localhost) the
      // Clipboard API is missing: select the text and try the old copy command.
      selectText(source);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      showCopyResult(status, ok, text.length);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        showCopyResult(status, true, text.length);
      }, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-from]");
    if (button) copyFrom(button);
  });

  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit]");
    if (form && event.target.tagName === "SELECT") {
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    }
  });

  function banner(text) {
    var element = document.getElementById("connection-trouble");
    if (!element) return;
    if (text) {
      element.textContent = text;
      element.hidden = false;
    } else {
      element.hidden = true;
    }
  }

  function clock() {
    return new Date().toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  document.addEventListener("htmx:sendError", function () {
    banner("Lost contact with the Onset server at " + clock() + ": what you see may be out of date. Retrying…");
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail && event.detail.xhr ? event.detail.xhr.status : 0;
    // A 503 is drawn in place (database trouble, in red); other errors get the banner.
    if (status !== 503) banner("The Onset server answered " + status + " at " + clock() + ". Retrying…");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && ((xhr.status >= 200 && xhr.status < 400) || xhr.status === 503)) banner(null);
  });
})();
