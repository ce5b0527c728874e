// Small improvements on top of pages that work without scripts.
(function () {
  'use strict';
  // A page restored from the back/forward cache is fetched again, so it shows only what the server
  // allows now (a kiosk never pages back into the previous resident's data).
  window.addEventListener('pageshow', function (e) {
    if (e.persisted) window.location.reload();
  });

  document.addEventListener('DOMContentLoaded', function () {
    // Errors: move focus to the summary so screen readers announce it.
    var summary = document.querySelector('.error-summary');
    if (summary) summary.focus();

    // Kiosk receipt: a print button.
    var print = document.querySelector('[data-print]');
    if (print) {
      print.hidden = false;
      print.addEventListener('click', function () { window.print(); });
    }

    // Kiosk: after the idle limit without a touch, clear the resident and start again. Without
    // scripts a <noscript> refresh does the same, and the server enforces it on the next request.
    var idle = Number(document.body.getAttribute('data-idle-seconds'));
    if (idle > 0) {
      var timer;
      var reset = function () {
        clearTimeout(timer);
        timer = setTimeout(function () { window.location.replace('/kiosk/idle'); }, idle * 1000);
      };
      ['pointerdown', 'keydown', 'input', 'touchstart', 'scroll'].forEach(function (type) {
        document.addEventListener(type, reset, { passive: true, capture: true });
      });
      reset();
    }

    // Uploads: say that something is happening on a slow connection.
    Array.prototype.forEach.call(document.querySelectorAll('form.upload'), function (form) {
      form.addEventListener('submit', function () {
        var button = form.querySelector('button[type=submit]');
        if (button) {
          button.disabled = true;
          button.textContent = document.documentElement.lang === 'en' ? 'Uploading…' : '正在上传…';
        }
      });
    });
  });
})();
