/* The dashboards' charts (api/pages/dashboards.py): Chart.js from /static/chartjs/, the data
   from the page's <script type="application/json" id="dashboard-data">, never from HTML text.
   "Download PNG" saves a chart as drawn (white background); "Save as PDF" prints the page (the
   print style sheet lays it out on A4 landscape without buttons or navigation). */
(function () {
  "use strict";

  // A white background under every chart, so that a downloaded PNG reads as on the page.
  var whiteBackground = {
    id: "whiteBackground",
    beforeDraw: function (chart) {
      var ctx = chart.ctx;
      ctx.save();
      ctx.globalCompositeOperation = "destination-over";
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, chart.width, chart.height);
      ctx.restore();
    }
  };

  function axisTitle(text) {
    return { display: !!text, text: text || "", font: { weight: "bold" } };
  }

  function config(spec) {
    var valueAxis = {
      beginAtZero: true,
      stacked: spec.stacked,
      title: axisTitle(spec.horizontal ? spec.xTitle : spec.yTitle),
      ticks: {
        precision: spec.percent ? undefined : 0,
        callback: spec.percent ? function (v) { return v + "%"; } : undefined
      }
    };
    if (spec.max !== null && spec.max !== undefined) {
      valueAxis.max = spec.max;
    }
    var categoryAxis = {
      stacked: spec.stacked,
      title: axisTitle(spec.horizontal ? spec.yTitle : spec.xTitle),
      ticks: { autoSkip: false }
    };
    return {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (d) {
          return {
            label: d.label,
            data: d.data,
            backgroundColor: d.color,
            borderColor: "#ffffff",
            borderWidth: 1
          };
        })
      },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: spec.datasets.length > 1, position: "bottom" },
          title: { display: false },
          tooltip: {
            callbacks: spec.percent
              ? { label: function (item) { return item.dataset.label + ": " + item.formattedValue + "%"; } }
              : {}
          }
        },
        scales: spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis }
      },
      plugins: [whiteBackground]
    };
  }

  function download(chart, filename) {
    var link = document.createElement("a");
    link.href = chart.toBase64Image("image/png", 1);
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  function start() {
    var holder = document.getElementById("dashboard-data");
    if (!holder || typeof Chart === "undefined") {
      return;
    }
    var data = JSON.parse(holder.textContent);
    var charts = {};
    data.charts.forEach(function (spec) {
      var canvas = document.getElementById(spec.id);
      if (canvas) {
        charts[spec.id] = new Chart(canvas, config(spec));
      }
    });
    document.querySelectorAll("button[data-download]").forEach(function (button) {
      button.addEventListener("click", function () {
        var chart = charts[button.getAttribute("data-download")];
        if (chart) {
          download(chart, button.getAttribute("data-filename") || "chart.png");
        }
      });
    });
    document.querySelectorAll("button[data-action=print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    // Charts re-drawn at the paper's width before printing, and back after.
    window.addEventListener("beforeprint", function () {
      Object.keys(charts).forEach(function (id) { charts[id].resize(); });
    });
    window.addEventListener("afterprint", function () {
      Object.keys(charts).forEach(function (id) { charts[id].resize(); });
    });
    document.documentElement.setAttribute("data-charts-ready", String(Object.keys(charts).length));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
