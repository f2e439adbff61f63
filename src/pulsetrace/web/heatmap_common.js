// Shared by the heatmap's views: number formats, the cold-to-hot colour scale, the metrics and
// permalinks. Written for pulsetrace; no third-party code.

// A line row of the data is [lineno, hits, selfNs, totalNs]; a metric says which column it shows.
export const METRICS = {
  self: { label: "Self time", column: 2, fileTotal: "selfNs", duration: true },
  total: { label: "Total time", column: 3, fileTotal: "maxTotalNs", duration: true },
  hits: { label: "Hits", column: 1, fileTotal: "hits", duration: false },
};

const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

const NEEDS_ESCAPE = /[&<>"']/;

export function escapeHtml(text) {
  const value = String(text);
  return NEEDS_ESCAPE.test(value) ? value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]) : value;
}

function threeFigures(value) {
  if (value >= 99.95) return Math.round(value).toLocaleString("en-US");
  return value >= 9.995 ? value.toFixed(1) : value.toFixed(2);
}

// The same units and rounding as the terminal summary (reports/summary.py format_duration).
export function formatDuration(ns) {
  if (ns < 999.5) return `${Math.round(ns)} ns`;
  if (ns < 999.5e3) return `${threeFigures(ns / 1e3)} µs`;
  if (ns < 999.5e6) return `${threeFigures(ns / 1e6)} ms`;
  return `${threeFigures(ns / 1e9)} s`;
}

export function formatCount(n) {
  return Number(n).toLocaleString("en-US");
}

export function formatMetric(metric, value) {
  return METRICS[metric].duration ? formatDuration(value) : formatCount(value);
}

export function formatPercent(part, whole) {
  if (!whole) return "–";
  const share = (100 * part) / whole;
  if (share > 0 && share < 0.05) return "<0.1%";
  return share >= 9.95 || share === 0 ? `${share.toFixed(0)}%` : `${share.toFixed(1)}%`;
}

// Heat 0..1 on a log scale, so a line with a hundredth of the hottest line's value is still
// visibly warm: linear scales leave everything but the top line the same cold colour.
export function heatOf(value, max) {
  if (!(value > 0) || !(max > 0)) return 0;
  return Math.min(1, Math.log1p((99 * value) / max) / Math.log(100));
}

// Cold (pale blue) through yellow and orange to hot (red).
const STOPS = [
  [0, [219, 234, 254]],
  [0.35, [254, 240, 138]],
  [0.7, [251, 146, 60]],
  [1, [220, 38, 38]],
];

export function heatRgb(heat) {
  for (let i = 1; i < STOPS.length; i++) {
    const [to, high] = STOPS[i];
    if (heat <= to || i === STOPS.length - 1) {
      const [from, low] = STOPS[i - 1];
      const t = Math.max(0, Math.min(1, (heat - from) / (to - from)));
      return low.map((channel, k) => Math.round(channel + (high[k] - channel) * t));
    }
  }
  return STOPS[0][1];
}

export function heatColour(heat) {
  const [r, g, b] = heatRgb(heat);
  return `rgb(${r}, ${g}, ${b})`;
}

// Text on a hot background needs to be light to stay readable.
export function needsLightText(heat) {
  return heat > 0.82;
}

// Permalinks name files by path (stable across runs of the same program), never by index.
export function fileHref(path, line) {
  const base = `#file=${encodeURIComponent(path)}`;
  return line ? `${base}&line=${line}` : base;
}

export function parseHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const file = params.get("file");
  const line = parseInt(params.get("line") || "", 10);
  return { file: file === null ? null : file, line: Number.isFinite(line) ? line : 0 };
}

export const GROUP_BADGES = { project: "project", stdlib: "stdlib", "site-packages": "site-packages", other: "other" };

export function groupBadge(group) {
  return `<span class="badge badge-${escapeHtml(group)}">${escapeHtml(GROUP_BADGES[group] || group)}</span>`;
}
