/* Draw the dashboard's charts from the JSON next to each canvas (Chart.js, served by us).
   Every bar or slice is a link to the list of names behind it. */
(function () {
  "use strict";
  var palette = ["#b22222", "#0b57a4", "#9a6700", "#1a7f37", "#6f42c1", "#5b636b"];

  function draw(canvas) {
    var source = document.getElementById(canvas.id + "-data");
    if (!source || typeof Chart === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var doughnut = spec.type === "doughnut";
    var chart = new Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (series, index) {
          return {
            label: series.label,
            data: series.data,
            backgroundColor: doughnut ? palette.slice(0, series.data.length) : palette[index % palette.length]
          };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { position: "bottom" } },
        scales: doughnut ? {} : {
          x: { stacked: !!spec.stacked, ticks: { autoSkip: false, maxRotation: 60 } },
          y: { stacked: !!spec.stacked, beginAtZero: true, max: spec.percent ? 100 : undefined }
        },
        onClick: function (event, elements) {
          if (!elements.length) { return; }
          var hit = elements[0];
          var url = spec.series[hit.datasetIndex].links[hit.index];
          if (url) { window.location.href = url; }
        }
      }
    });
    canvas.dataset.ready = "true";
    return chart;
  }

  var charts = [];
  document.querySelectorAll(".chart-box canvas").forEach(function (canvas) {
    var chart = draw(canvas);
    if (chart) { charts.push(chart); }
  });
  // Redraw at the size of the printed page, and back afterwards.
  function resizeAll() { charts.forEach(function (chart) { chart.resize(); }); }
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
