// Keyboard shortcuts on the officer's pages. Each page marks its own targets with data-key and lists
// them under "Keyboard shortcuts"; without this script every action is a link or a button as usual.
(function () {
  'use strict';
  var typing = function (el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  };
  document.addEventListener('keydown', function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    var key = e.key;
    if (key === 'j' || key === 'k') {
      // Next / previous case of a list: focus moves along the case links.
      var links = Array.prototype.slice.call(document.querySelectorAll('[data-row-link]'));
      if (!links.length) return;
      var at = links.indexOf(document.activeElement);
      var next = key === 'j' ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
      links[next].focus();
      e.preventDefault();
      return;
    }
    var target = key === '/' ? document.querySelector('form.filters select') : document.querySelector('[data-key="' + (key === '?' ? 'help' : key) + '"]');
    if (!target) return;
    e.preventDefault();
    if (target.tagName === 'DETAILS') target.open = !target.open;
    else if (target.tagName === 'BUTTON' || target.tagName === 'A') target.click();
    else target.focus();
  });
})();
