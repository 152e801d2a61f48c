/* 流程跟踪: draw the case's diagram with the vendored bpmn-js NavigatedViewer (global BpmnJS) and mark the
   activities the server computed (JSON in #ow-highlights: completed, active, warning, overdue, overlays). */
(function () {
  "use strict";
  var container = document.getElementById("ow-canvas");
  var data = document.getElementById("ow-highlights");
  if (!container || !data || typeof window.BpmnJS === "undefined") { return; }
  var marks = JSON.parse(data.textContent || "{}");
  function message(text) {
    var p = document.createElement("p");
    p.className = "ow-canvas-message";
    p.textContent = text;
    container.appendChild(p);
  }
  var viewer = new window.BpmnJS({ container: container });
  fetch(container.getAttribute("data-diagram-url"), { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      var overlays = viewer.get("overlays");
      if (!registry.getAll().some(function (e) { return e.type !== "bpmn:Process" && e.type !== "label"; })) {
        message(container.getAttribute("data-no-di"));
        return;
      }
      canvas.zoom("fit-viewport");
      [["completed", "ow-completed"], ["active", "ow-active"], ["warning", "ow-warning"], ["overdue", "ow-overdue"]]
        .forEach(function (pair) {
          (marks[pair[0]] || []).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, pair[1]); } });
        });
      var seen = {};
      (marks.overlays || []).forEach(function (o) {
        if (!registry.get(o.element)) { return; }
        var n = seen[o.element] = (seen[o.element] || 0) + 1;
        var badge = document.createElement("span");
        badge.className = "ow-badge " + o.signal;
        badge.textContent = o.label;
        overlays.add(o.element, { position: { bottom: 4 + 16 * (n - 1), left: 0 }, html: badge });
      });
    })
    .catch(function () { message(container.getAttribute("data-error")); });
})();
