// The bell's menu: the latest unread notifications, fetched the first time it is opened (pages pay nothing for it).
(function () {
  var menu = document.getElementById("bell-menu");
  if (!menu) return;
  var loaded = false;
  menu.addEventListener("toggle", function () {
    if (!menu.open || loaded) return;
    loaded = true;
    fetch(menu.getAttribute("data-src"), {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (html) document.getElementById("bell-panel").insertAdjacentHTML("afterbegin", html);
      })
      .catch(function () { loaded = false; });
  });
  document.addEventListener("click", function (e) {
    if (menu.open && !menu.contains(e.target)) menu.open = false;
  });
})();
