/* A background job's page: ask for its state every second and show it, until it is
   ready (the download button, or the link to what it worked on, appears) or failed (the
   reason appears). No reload. A job that cannot count its rows shows a moving bar. */
(function () {
  "use strict";
  var card = document.getElementById("job");
  if (!card) { return; }
  var messages = JSON.parse(document.getElementById("job-messages").textContent);
  var bar = document.getElementById("job-progress");
  var status = document.getElementById("job-status");
  var rows = document.getElementById("job-rows");
  var left = document.getElementById("job-left");
  var error = document.getElementById("job-error");
  var download = document.getElementById("job-download");
  var result = document.getElementById("job-result");
  var stage = document.getElementById("job-stage");

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_match, name) { return values[name]; });
  }

  function show(state) {
    var finished = state.status === "done" || state.status === "failed";
    if (state.rows_total || state.status === "done") {
      bar.value = state.percent;
    } else {
      bar.removeAttribute("value");  /* indeterminate */
    }
    bar.textContent = state.percent + "%";
    stage.textContent = state.stage;
    stage.hidden = !state.stage || finished;
    status.textContent = state.status_label;
    status.className = "badge" + (state.status === "done" ? " ok" : state.status === "failed" ? " bad" : "");
    if (state.rows_total) {
      rows.textContent = fill(messages.rows, {
        done: state.rows_done.toLocaleString(), total: state.rows_total.toLocaleString()
      });
    }
    left.textContent = state.seconds_left === null ? "" : fill(messages.left, { seconds: state.seconds_left });
    if (state.error) { error.textContent = state.error; error.hidden = false; }
    if (state.download_url && download) {
      download.href = state.download_url;
      download.hidden = false;
    }
    if (state.result_url && result && finished) { result.hidden = false; }
    if (state.status === "done") { document.getElementById("job-intro").hidden = true; }
  }

  function poll() {
    fetch(card.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        show(state);
        if (state.status === "queued" || state.status === "running") { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });  /* weak signal: try again */
  }

  if (card.dataset.status === "queued" || card.dataset.status === "running") { poll(); }
}());
