// Number and text formatting shared by every view: durations, time-axis ticks, sizes, HTML escaping.

const DURATION_UNITS = [
  [1e9, "s"],
  [1e6, "ms"],
  [1e3, "µs"],
];

// A duration in ns as a short readable text: "1.23 ms", "850 ns", "12.5 s".
export function formatDuration(ns) {
  if (!Number.isFinite(ns)) return "–";
  const magnitude = Math.abs(ns);
  for (const [scale, unit] of DURATION_UNITS) {
    if (magnitude >= scale) return `${trimDigits(ns / scale)} ${unit}`;
  }
  return `${Math.round(ns)} ns`;
}

// Three significant digits, without trailing zeros ("1.5", "12.3", "123").
function trimDigits(value) {
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2;
  return String(Number(value.toFixed(digits)));
}

// A tick label for the time axis: like formatDuration but with as many decimals as the tick step
// needs, so neighbouring ticks never print the same text.
export function formatTick(ns, stepNs) {
  for (const [scale, unit] of DURATION_UNITS) {
    if (stepNs >= scale / 1000 && Math.abs(ns) >= scale) {
      const decimals = Math.max(0, Math.ceil(-Math.log10(stepNs / scale) - 1e-9));
      return `${(ns / scale).toFixed(Math.min(decimals, 9))} ${unit}`;
    }
  }
  return `${Math.round(ns)} ns`;
}

// The tick step (1, 2 or 5 times a power of ten, in ns) that puts ticks about `targetPx` apart.
export function tickStep(nsPerPx, targetPx) {
  const raw = Math.max(nsPerPx * targetPx, 1);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const factor of [1, 2, 5, 10]) {
    if (power * factor >= raw) return power * factor;
  }
  return power * 10;
}

export function formatCount(n) {
  return n.toLocaleString("en-US");
}

export function formatBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

// "file.py:12" with the directory dropped, for labels where space is short.
export function shortLocation(filename, lineno) {
  if (!filename) return "";
  const base = filename.split(/[\\/]/).pop();
  return lineno ? `${base}:${lineno}` : base;
}
