import Foundation

/// The live view served at `/`: one self-contained HTML page (inline CSS, JS and SVG; no CDN, no external
/// assets, so it works on an air-gapped host) that polls `/stats` and plots events/s, total lag and the
/// online recall@K from ``ServeStatus/Snapshot/samples``.
///
/// Each chart is an SVG `<polyline id="line-…">` whose `points` are recomputed on every poll, and a
/// "last value" text (`id="last-…"`), which is what `scripts/check-live-view.sh` looks for in the DOM.
public enum LiveViewPage {
    /// The page, polling every `pollMillis` and labelling recall with `recallK`.
    public static func html(pollMillis: Int, recallK: Int) -> String {
        template
            .replacingOccurrences(of: "{{POLL_MS}}", with: String(max(100, pollMillis)))
            .replacingOccurrences(of: "{{K}}", with: String(recallK))
    }

    private static let template = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>streamrec — live</title>
        <style>
          :root { --fg:#1d2330; --muted:#667085; --bg:#f7f8fa; --card:#fff; --grid:#e4e7ec; --ok:#12b76a; --bad:#f04438; }
          * { box-sizing: border-box; }
          body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
          header { display:flex; align-items:center; gap:16px; padding:14px 24px; background:var(--card); border-bottom:1px solid var(--grid); flex-wrap:wrap; }
          h1 { font-size:18px; margin:0 12px 0 0; }
          .pill { padding:2px 10px; border-radius:999px; font-weight:600; color:#fff; background:var(--muted); }
          .pill.ok { background:var(--ok); } .pill.bad { background:var(--bad); }
          .fact { color:var(--muted); } .fact b { color:var(--fg); font-variant-numeric:tabular-nums; }
          main { display:grid; grid-template-columns:repeat(auto-fit, minmax(360px, 1fr)); gap:16px; padding:16px 24px; }
          section { background:var(--card); border:1px solid var(--grid); border-radius:10px; padding:12px 16px; }
          section h2 { font-size:14px; margin:0; display:flex; justify-content:space-between; }
          .last { font-size:22px; font-weight:700; font-variant-numeric:tabular-nums; }
          svg { width:100%; height:180px; display:block; }
          svg text { font-size:10px; fill:var(--muted); }
          .axis { stroke:var(--grid); stroke-width:1; }
          polyline { fill:none; stroke-width:2; vector-effect:non-scaling-stroke; }
          footer { padding:0 24px 16px; color:var(--muted); font-size:12px; }
        </style>
        </head>
        <body data-samples="0">
        <header>
          <h1>streamrec live</h1>
          <span id="ready" class="pill">connecting…</span>
          <span class="fact">users <b id="users">–</b></span>
          <span class="fact">items <b id="items">–</b></span>
          <span class="fact">events learned <b id="learned">–</b></span>
          <span class="fact">dead-lettered <b id="dead">–</b></span>
          <span class="fact">model <b id="model">–</b></span>
        </header>
        <main>
          <section><h2><span>events / s</span><span class="last" id="last-eps">–</span></h2>
            <svg id="chart-eps"></svg></section>
          <section><h2><span>consumer lag (messages)</span><span class="last" id="last-lag">–</span></h2>
            <svg id="chart-lag"></svg></section>
          <section><h2><span>online recall@{{K}}</span><span class="last" id="last-recall">–</span></h2>
            <svg id="chart-recall"></svg></section>
        </main>
        <footer>Polls <code>/stats</code> every {{POLL_MS}} ms · <span id="updated">no data yet</span></footer>
        <script>
        "use strict";
        const POLL_MS = {{POLL_MS}};
        const NS = "http://www.w3.org/2000/svg";
        const H = 180, PAD_L = 44, PAD_R = 8, PAD_T = 10, PAD_B = 20;

        function fmt(v, digits) {
          if (v === null || v === undefined || !isFinite(v)) return "–";
          if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(2) + "M";
          if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(1) + "k";
          return v.toFixed(digits);
        }

        function el(name, attrs, text) {
          const e = document.createElementNS(NS, name);
          for (const k in attrs) e.setAttribute(k, attrs[k]);
          if (text !== undefined) e.textContent = text;
          return e;
        }

        // Draws one series as an SVG polyline scaled to the chart; returns the last plotted value.
        function plot(id, color, samples, value, digits, fixedMax) {
          const svg = document.getElementById("chart-" + id);
          // Draw in CSS pixels so text isn't stretched: the viewBox follows the element's rendered width.
          const W = Math.max(200, Math.round(svg.getBoundingClientRect().width) || 600);
          svg.setAttribute("viewBox", "0 0 " + W + " " + H);
          const pts = samples.map(s => [s.t, value(s)]).filter(p => p[1] !== null && p[1] !== undefined && isFinite(p[1]));
          while (svg.firstChild) svg.removeChild(svg.firstChild);
          const t0 = pts.length ? pts[0][0] : 0, t1 = pts.length ? pts[pts.length - 1][0] : 1;
          let vmax = fixedMax !== undefined ? fixedMax : Math.max(1e-9, ...pts.map(p => p[1])) * 1.1;
          const x = t => PAD_L + (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * (W - PAD_L - PAD_R);
          const y = v => PAD_T + (1 - v / vmax) * (H - PAD_T - PAD_B);
          for (let i = 0; i <= 4; i++) {
            const v = vmax * i / 4;
            svg.appendChild(el("line", { class: "axis", x1: PAD_L, x2: W - PAD_R, y1: y(v), y2: y(v) }));
            svg.appendChild(el("text", { x: PAD_L - 4, y: y(v) + 3, "text-anchor": "end" }, fmt(v, digits)));
          }
          const span = pts.length > 1 ? Math.round((t1 - t0) / 1000) : 0;
          svg.appendChild(el("text", { x: PAD_L, y: H - 4 }, span ? "−" + span + " s" : ""));
          svg.appendChild(el("text", { x: W - PAD_R, y: H - 4, "text-anchor": "end" }, "now"));
          const line = el("polyline", { id: "line-" + id, stroke: color,
            points: pts.map(p => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ") });
          line.setAttribute("data-count", String(pts.length));
          svg.appendChild(line);
          const last = pts.length ? pts[pts.length - 1][1] : null;
          document.getElementById("last-" + id).textContent = fmt(last, digits);
          return last;
        }

        function render(stats) {
          const st = stats.status, samples = st.samples || [];
          document.body.setAttribute("data-samples", String(samples.length));
          plot("eps", "#2e90fa", samples, s => s.eventsPerSecond, 0);
          plot("lag", "#f79009", samples, s => s.lag, 0);
          plot("recall", "#12b76a", samples, s => (s.onlineRecall === undefined ? null : s.onlineRecall), 3, 1);
          document.getElementById("users").textContent = fmt(stats.learner.users, 0);
          document.getElementById("items").textContent = fmt(stats.learner.items, 0);
          document.getElementById("learned").textContent = fmt(st.eventsLearned, 0);
          document.getElementById("dead").textContent = fmt(st.deadLettered, 0);
          document.getElementById("model").textContent = stats.learner.modelVersion;
          document.getElementById("updated").textContent = "updated " + new Date(stats.now).toLocaleTimeString();
        }

        async function poll() {
          try {
            const [s, r] = await Promise.all([fetch("/stats", { cache: "no-store" }), fetch("/readyz", { cache: "no-store" })]);
            render(await s.json());
            const ready = document.getElementById("ready");
            ready.textContent = r.ok ? "ready" : "not ready";
            ready.className = "pill " + (r.ok ? "ok" : "bad");
          } catch (e) {
            const ready = document.getElementById("ready");
            ready.textContent = "disconnected";
            ready.className = "pill bad";
          }
        }
        poll();
        setInterval(poll, POLL_MS);
        </script>
        </body>
        </html>
        """#
}
