// Accessibility fixes for markup we do not write (axe-core checks them in the browser tests). Dash 4's Dropdown
// keeps a read-only input marked aria-hidden in the tab order; a hidden element must not take focus (the
// dropdown's own button does).
// Dash 4's Slider thumb and dbc.Progress's bar take no name either: name them from the page's own words.
function fixMarkup() {
  document.querySelectorAll(".dash-dropdown-focus-target:not([tabindex='-1'])").forEach(function (input) {
    input.setAttribute("tabindex", "-1");
  });
  document.querySelectorAll("[data-thumb-label] [role=slider]:not([aria-label])").forEach(function (thumb) {
    thumb.setAttribute("aria-label", thumb.closest("[data-thumb-label]").dataset.thumbLabel);
  });
  document.querySelectorAll(".card [role=progressbar]:not([aria-label])").forEach(function (bar) {
    var title = bar.closest(".card").querySelector("h6");
    bar.setAttribute("aria-label", "Progress" + (title ? " of " + title.textContent : ""));
  });
}
new MutationObserver(fixMarkup).observe(document.documentElement, {childList: true, subtree: true});
// Dash's index page has no language; screen readers need it to pick a voice.
document.documentElement.lang = document.documentElement.lang || "en";
