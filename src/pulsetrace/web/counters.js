// Counter tracks: each series of a counter drawn as a step line (a value holds until the next sample).
//
// A counter can carry millions of samples. Where more samples are in view than the track is wide,
// the line is drawn per pixel column: the value held on entering the column, then the smallest and
// the largest value of the samples inside it, then the last one. The extremes come from a min/max
// tree over the series (built on first use), so a column costs one binary search and one O(log n)
// range query whatever the number of samples behind it: drawing cost follows the width, and a spike
// of a single sample still reaches its height.

export const COUNTER_HEIGHT = 56;
const SERIES_COLORS = ["#2f6fde", "#f04438", "#12b76a", "#f79009", "#7a5af8", "#0ba5ec"];
const SAMPLES_PER_PIXEL_TO_DECIMATE = 2; // fewer samples than this per pixel are drawn one by one

// One series of a counter as typed arrays (the samples that carry it, in time order) with its
// min/max tree: the classic bottom-up segment tree, leaves at [n, 2n), node k covering 2k and 2k + 1.
class CounterSeries {
  constructor(samples, name) {
    let n = 0;
    for (const sample of samples) if (sample.values[name] !== undefined) n++;
    this.count = n;
    this.ts = new Float64Array(n);
    this.value = new Float64Array(n);
    let k = 0;
    for (const sample of samples) {
      const value = sample.values[name];
      if (value === undefined) continue;
      this.ts[k] = sample.ts;
      this.value[k++] = value;
    }
    this.lows = null;
    this.highs = null;
  }

  // The first index in [from, count) whose time is >= t.
  firstAtOrAfter(t, from = 0) {
    let lo = from;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  buildTree() {
    const n = this.count;
    this.lows = new Float64Array(2 * n);
    this.highs = new Float64Array(2 * n);
    this.lows.set(this.value, n);
    this.highs.set(this.value, n);
    for (let k = n - 1; k >= 1; k--) {
      this.lows[k] = Math.min(this.lows[2 * k], this.lows[2 * k + 1]);
      this.highs[k] = Math.max(this.highs[2 * k], this.highs[2 * k + 1]);
    }
  }

  // The smallest and largest value of samples [from, to), into `out` ([low, high]).
  extremes(from, to, out) {
    if (this.lows === null) this.buildTree();
    let low = Infinity;
    let high = -Infinity;
    const { lows, highs } = this;
    for (let l = from + this.count, r = to + this.count; l < r; l >>= 1, r >>= 1) {
      if (l & 1) {
        if (lows[l] < low) low = lows[l];
        if (highs[l] > high) high = highs[l];
        l++;
      }
      if (r & 1) {
        r--;
        if (lows[r] < low) low = lows[r];
        if (highs[r] > high) high = highs[r];
      }
    }
    out[0] = low;
    out[1] = high;
  }
}

function seriesOf(counter) {
  counter.seriesData ??= counter.series.map((name) => new CounterSeries(counter.samples, name));
  return counter.seriesData;
}

// A counter's smallest and largest value (0 included, so the baseline shows), computed once.
export function counterRange(counter) {
  if (counter.range === undefined) {
    let min = 0;
    let max = 0;
    for (const series of seriesOf(counter)) {
      const values = series.value;
      for (let i = 0; i < values.length; i++) {
        if (values[i] > max) max = values[i];
        if (values[i] < min) min = values[i];
      }
    }
    counter.range = { min, max };
  }
  return counter.range;
}

/** Draws a counter track; `endNs` is where the trace ends (the last value holds until then). */
export function drawCounter(ctx, track, top, frame, endNs) {
  const { t0, t1, pxPerNs, width } = frame;
  const { counter } = track;
  ctx.fillStyle = "#fafbfc";
  ctx.fillRect(0, top, width, track.height);
  const { min, max } = counterRange(counter);
  const range = max - min || 1;
  const plotTop = top + 14;
  const plotHeight = track.height - 18;
  const yOf = (value) => plotTop + plotHeight - ((value - min) / range) * plotHeight;
  const endX = Math.min((endNs - t0) * pxPerNs, width);
  seriesOf(counter).forEach((series, seriesIndex) => {
    if (series.count === 0) return;
    ctx.strokeStyle = SERIES_COLORS[seriesIndex % SERIES_COLORS.length];
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    const first = Math.max(0, series.firstAtOrAfter(t0) - 1); // its value is what shows at the left edge
    const inView = series.firstAtOrAfter(t1, first) - first;
    if (inView > width * SAMPLES_PER_PIXEL_TO_DECIMATE) drawColumns(ctx, series, frame, yOf, endX);
    else drawSamples(ctx, series, first, frame, yOf, endX);
    ctx.stroke();
  });
  ctx.fillStyle = "#475467";
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillText(`${counter.name} (${counter.series.join(", ")}) max ${max}`, 6, top + 11);
}

// Few samples in view: every sample is a step of the line.
function drawSamples(ctx, series, first, frame, yOf, endX) {
  const { t0, t1, pxPerNs, width } = frame;
  const { ts, value, count } = series;
  let held = null;
  for (let i = first; i < count; i++) {
    const x = (ts[i] - t0) * pxPerNs;
    if (ts[i] > t1) {
      if (held !== null) ctx.lineTo(width, yOf(held)); // the value holds until the next sample
      return;
    }
    if (held === null) {
      ctx.moveTo(Math.max(x, 0), yOf(value[i]));
    } else {
      ctx.lineTo(x, yOf(held));
      ctx.lineTo(x, yOf(value[i]));
    }
    held = value[i];
  }
  if (held !== null) ctx.lineTo(endX, yOf(held));
}

// Many samples in view: per pixel column, the held value, the column's extremes and its last value.
function drawColumns(ctx, series, frame, yOf, endX) {
  const { t0, pxPerNs, width } = frame;
  const { value, count } = series;
  const extremes = [0, 0];
  let i = series.firstAtOrAfter(t0);
  let held = i > 0 ? value[i - 1] : null;
  if (held !== null) ctx.moveTo(0, yOf(held));
  for (let x = 0; x < width && i < count; x++) {
    const j = series.firstAtOrAfter(t0 + (x + 1) / pxPerNs, i);
    if (j === i) continue; // no sample in this column: the held value's line runs on through it
    series.extremes(i, j, extremes);
    if (held === null) ctx.moveTo(x, yOf(value[i]));
    else ctx.lineTo(x, yOf(held));
    ctx.lineTo(x, yOf(extremes[0]));
    ctx.lineTo(x, yOf(extremes[1]));
    held = value[j - 1];
    ctx.lineTo(x, yOf(held));
    i = j;
  }
  if (held !== null) ctx.lineTo(i < count ? width : endX, yOf(held)); // later samples, or the trace's end
}
