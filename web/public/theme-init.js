// Applies the cached colour theme before the first paint, so a user who chose
// dark on a light system (or the reverse) sees no flash. A classic script in
// <head>, from this origin (the CSP allows no inline script). The app
// (src/theme/theme.ts) takes over when it starts; the key is its
// THEME_STORAGE_KEY.
(function () {
  var choice = 'system';
  try {
    choice = localStorage.getItem('ccweb.theme') || 'system';
  } catch (e) {
    // Storage disabled: follow the system.
  }
  var dark = choice === 'dark' || (choice !== 'light' && window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.setAttribute('data-theme', dark ? 'dark' : 'light');
})();
