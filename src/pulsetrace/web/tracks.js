// The timeline's tracks: what a lane is (a process or thread header, a thread's slices, its custom
// spans and instants, a counter, a process's markers), how tall it is, how it draws itself into the
// visible time window and what lies under a point.
//
// Drawing cost depends on what is visible, not on the trace size: slices of one depth are found by
// binary search, and where slices are narrower than a pixel the run that starts inside that pixel is
// skipped over with another binary search and drawn as one merged block.

import { COUNTER_HEIGHT, drawCounter } from "./counters.js";
import { formatDuration } from "./format.js";
import { KIND_C } from "./model.js";
import { summaryLabelRegions } from "./summarylabels.js";

export const ROW_HEIGHT = 18;
const HEADER_HEIGHT = 22;
const MARKER_ROW = 16;
const LABEL_MIN_PX = 28;
const TEXT_WIDTHS_KEPT = 20000; // measured label widths remembered (function names, with " +N")
// A zoomed-out dense row gets a label at most every SUMMARY_REGION_PX pixels, in a region at least
// SUMMARY_LABEL_MIN_PX wide, showing at least SUMMARY_LABEL_MIN_CHARS of the name (a guess of two
// letters says nothing about a region made of many calls).
const SUMMARY_REGION_PX = 160;
const SUMMARY_LABEL_MIN_PX = 40;
const SUMMARY_LABEL_MIN_CHARS = 4;
const NARROW_PX = 3; // narrower slices join their same-coloured neighbours in one fill
const GROUP_CHECK_LIMIT = 64; // a merged run longer than this is not searched for highlighted slices
const HIT_TOLERANCE_PX = 3;

// One row's rectangles: touching narrow blocks of one colour become a single fill, and the fill
// colour is assigned only when it changes (the canvas parses the colour text on every assignment),
// so a dense row costs a few fills instead of one per pixel.
class RowFiller {
  constructor(ctx, frame, widths) {
    this.ctx = ctx;
    this.frame = frame;
    this.widths = widths;
    this.fill = null;
    this.y = 0;
    this.runColor = null;
    this.runStart = 0;
    this.runEnd = 0;
  }

  startRow(y) {
    this.flush();
    this.y = y;
  }

  // A narrow block: joins the pending run when it has the run's colour and touches it.
  block(x0, x1, color) {
    if (color === this.runColor && x0 <= this.runEnd + 0.5) {
      if (x1 > this.runEnd) this.runEnd = x1;
      return;
    }
    this.flush();
    this.runColor = color;
    this.runStart = x0;
    this.runEnd = x1;
  }

  rect(x0, x1, color) {
    this.flush();
    this.paint(x0, x1, color);
  }

  flush() {
    if (this.runColor !== null) {
      this.paint(this.runStart, this.runEnd, this.runColor);
      this.runColor = null;
    }
  }

  paint(x0, x1, color) {
    if (color !== this.fill) {
      this.ctx.fillStyle = color;
      this.fill = color;
    }
    this.ctx.fillRect(x0, this.y, x1 - x0, ROW_HEIGHT - 1);
    this.frame.drawn++;
  }

  // A label inside [x, x + width): the text, cut with an ellipsis where it does not fit (a suffix such
  // as " +3" is kept whole), or nothing where fewer than `minChars` characters would fit. Text widths are cached
  // by the painter (`widths`): measuring is the costly part of labelling a row.
  label(text, x, width, lit, suffix = "", minChars = 2) {
    const room = width - 6;
    let shown = text + suffix;
    const full = this.textWidth(shown);
    if (full > room) {
      const perChar = full / shown.length;
      const chars = Math.floor((room - this.textWidth(suffix)) / perChar) - 1;
      if (chars < Math.min(minChars, text.length)) return false;
      shown = `${text.slice(0, chars)}…${suffix}`;
    }
    this.fill = lit ? "#1d2330" : "#98a2b3";
    this.ctx.fillStyle = this.fill;
    this.ctx.fillText(shown, x + 3, this.y + ROW_HEIGHT / 2);
    this.frame.labels?.push({ y: this.y, x0: x, x1: x + width, text: shown });
    return true;
  }

  textWidth(text) {
    let width = this.widths.get(text);
    if (width === undefined) {
      width = this.ctx.measureText(text).width;
      if (this.widths.size >= TEXT_WIDTHS_KEPT) this.widths.clear();
      this.widths.set(text, width);
    }
    return width;
  }
}

// "#rrggbb" for a hue in degrees and saturation, lightness in [0, 1]: the cheapest colour text to parse.
function hslToHex(hue, saturation, lightness) {
  const chroma = (1 - Math.abs(2 * lightness - 1)) * saturation;
  const channel = (n) => {
    const k = (n + hue / 30) % 12;
    const value = lightness - chroma / 2 * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(value * 255).toString(16).padStart(2, "0");
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}

// Per-function fill colours: a stable hue from the name, warm for Python, cool for C functions.
export function functionColors(functions) {
  const normal = new Array(functions.length);
  const faded = new Array(functions.length);
  functions.forEach((func, i) => {
    let hash = 2166136261;
    for (let c = 0; c < func.name.length; c++) hash = Math.imul(hash ^ func.name.charCodeAt(c), 16777619);
    const spread = (hash >>> 0) % 1000 / 1000;
    const hue = func.kind === KIND_C ? 190 + spread * 60 : 10 + spread * 45;
    const light = 58 + ((hash >>> 10) % 14);
    normal[i] = hslToHex(hue, 0.72, light / 100);
    faded[i] = hslToHex(hue, 0.18, 0.88);
  });
  return { normal, faded };
}

// Per thread, the slices of each depth in start order (they cannot overlap within one depth).
export function depthIndex(thread) {
  if (thread.depthIndex) return thread.depthIndex;
  const { depth, count } = thread.slices;
  const levels = thread.maxDepth + 1;
  const offsets = new Int32Array(levels + 1);
  for (let i = 0; i < count; i++) offsets[depth[i] + 1]++;
  for (let d = 0; d < levels; d++) offsets[d + 1] += offsets[d];
  const fill = offsets.slice(0, levels);
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[fill[depth[i]]++] = i;
  thread.depthIndex = { offsets, order };
  return thread.depthIndex;
}

// A depth of a thread with more slices than this gets a bucket summary for zoomed-out drawing.
const SUMMARY_MIN_SLICES = 20000;
const SLICES_PER_BUCKET = 4;
const MAX_BUCKETS = 1 << 20;

// The bucket summary of one depth of a thread: the trace's time split into equal buckets, each
// marked with the function of a slice that overlaps it (-1 if none), and for every bucket the next
// used one, so that "is anything drawn in this pixel" is one lookup however many slices it holds.
// Built on first use; 8 bytes per bucket and at most one bucket per 4 slices (2 bytes a slice), fine
// enough that the summary serves until a pixel is down to a few slices.
function rowSummary(thread, depth, trace) {
  thread.summaries ??= new Map();
  let summary = thread.summaries.get(depth);
  if (summary !== undefined) return summary;
  const { start, end, func } = thread.slices;
  const { offsets, order } = depthIndex(thread);
  const lo = offsets[depth];
  const hi = offsets[depth + 1];
  const buckets = Math.min(MAX_BUCKETS, Math.max(1024, Math.ceil((hi - lo) / SLICES_PER_BUCKET)));
  const originNs = trace.startNs;
  const bucketNs = Math.max((trace.endNs - originNs) / buckets, 1e-3);
  const funcOf = new Int32Array(buckets).fill(-1);
  for (let k = lo; k < hi; k++) {
    const i = order[k];
    const first = Math.max(0, Math.floor((start[i] - originNs) / bucketNs));
    const last = Math.min(buckets - 1, Math.floor((end[i] - originNs) / bucketNs));
    for (let b = first; b <= last; b++) if (funcOf[b] < 0) funcOf[b] = func[i];
  }
  const nextUsed = new Int32Array(buckets + 1);
  nextUsed[buckets] = buckets;
  for (let b = buckets - 1; b >= 0; b--) nextUsed[b] = funcOf[b] >= 0 ? b : nextUsed[b + 1];
  summary = { buckets, bucketNs, originNs, nextUsed, funcOf };
  thread.summaries.set(depth, summary);
  return summary;
}

// The first position in order[lo, hi) whose value in `values` is >= t (values sorted along order).
function lowerBound(values, order, lo, hi, t) {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[order[mid]] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Builds the list of tracks for the current collapsed state; y is measured from the top of the lanes.
export function layoutTracks(trace, collapsed, app) {
  const tracks = [];
  let y = 0;
  const add = (track) => {
    track.y = y;
    y += track.height;
    tracks.push(track);
  };
  for (const process of trace.processes) {
    const key = `p${process.pid}`;
    add({ kind: "header", key, level: 0, height: HEADER_HEIGHT, label: app.processLabel(process), process });
    if (collapsed.has(key)) continue;
    for (const counter of process.counters) add({ kind: "counter", height: COUNTER_HEIGHT, process, counter });
    if (process.instants.length > 0 || process.objects.length > 0) {
      add({ kind: "markers", height: MARKER_ROW, process, instants: process.instants, objects: process.objects });
    }
    for (const thread of process.threads) {
      const threadKey = `${key}t${thread.index}`;
      const calls = thread.slices.count.toLocaleString("en-US");
      const label = `${app.threadLabel(thread)} · ${calls} calls`;
      add({ kind: "header", key: threadKey, level: 1, height: HEADER_HEIGHT, label, process, thread });
      if (collapsed.has(threadKey)) continue;
      if (thread.instants.length > 0) {
        add({ kind: "markers", height: MARKER_ROW, process, thread, instants: thread.instants, objects: [] });
      }
      if (thread.spans.length > 0) {
        const rows = stackSpans(thread.spans);
        add({ kind: "spans", height: rows * ROW_HEIGHT, process, thread, spans: thread.spans });
      }
      if (thread.slices.count > 0) {
        add({ kind: "slices", height: (thread.maxDepth + 1) * ROW_HEIGHT + 4, process, thread });
      }
    }
  }
  return { tracks, height: y };
}

// Gives each span a row so that overlapping spans do not cover each other; returns the row count.
function stackSpans(spans) {
  const rowEnds = [];
  for (const span of spans) {
    let row = rowEnds.findIndex((end) => end <= span.start);
    if (row < 0) row = rowEnds.length;
    rowEnds[row] = span.end;
    span.row = row;
  }
  return Math.max(rowEnds.length, 1);
}

// Everything a track needs to draw: the 2D context, the visible window and the highlighting state.
export class TrackPainter {
  constructor(trace) {
    this.trace = trace;
    this.colors = functionColors(trace.functions);
    this.matches = null; // Uint8Array per function: 1 where the slice is highlighted, or null
    this.textWidths = new Map(); // label text -> its width in the labels' font
    this.summaryPixels = new Int32Array(0); // per pixel of a summary row, the function drawn (-1: none)
    this.functionCounts = new Int32Array(trace.functions.length); // scratch for summaryLabelRegions
  }

  draw(ctx, track, top, frame) {
    switch (track.kind) {
      case "header":
        return this.drawHeader(ctx, track, top, frame);
      case "slices":
        return this.drawSlices(ctx, track, top, frame);
      case "spans":
        return this.drawSpans(ctx, track, top, frame);
      case "markers":
        return this.drawMarkers(ctx, track, top, frame);
      case "counter":
        return this.drawCounter(ctx, track, top, frame);
      default:
        return undefined;
    }
  }

  drawHeader(ctx, track, top, frame) {
    ctx.fillStyle = track.level === 0 ? "#e4e8f0" : "#eef1f6";
    ctx.fillRect(0, top, frame.width, track.height);
    ctx.fillStyle = "#d9dde5";
    ctx.fillRect(0, top + track.height - 1, frame.width, 1);
    ctx.fillStyle = "#1d2330";
    ctx.font = track.level === 0 ? "bold 12px system-ui, sans-serif" : "12px system-ui, sans-serif";
    const arrow = frame.collapsed.has(track.key) ? "▸" : "▾";
    ctx.fillText(`${arrow} ${track.label}`, 6 + track.level * 14, top + 15);
  }

  drawSlices(ctx, track, top, frame) {
    const thread = track.thread;
    const { start, end, func } = thread.slices;
    const { offsets, order } = depthIndex(thread);
    const { t0, t1, pxPerNs, viewTop, viewBottom } = frame;
    const colors = this.colors.normal;
    const faded = this.colors.faded;
    const matches = this.matches;
    const filler = new RowFiller(ctx, frame, this.textWidths);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    const firstDepth = Math.max(0, Math.floor((viewTop - top) / ROW_HEIGHT));
    const lastDepth = Math.min(thread.maxDepth, Math.floor((viewBottom - top) / ROW_HEIGHT));
    for (let d = firstDepth; d <= lastDepth; d++) {
      filler.startRow(top + d * ROW_HEIGHT);
      const hi = offsets[d + 1];
      if (hi - offsets[d] > SUMMARY_MIN_SLICES) {
        const summary = rowSummary(thread, d, this.trace);
        if (summary.bucketNs * pxPerNs <= 1) {
          this.drawSummaryRow(filler, summary, frame);
          continue;
        }
      }
      let k = lowerBound(end, order, offsets[d], hi, t0);
      while (k < hi) {
        const i = order[k];
        const s = start[i];
        if (s > t1) break;
        const x0 = (s - t0) * pxPerNs;
        const x1 = (end[i] - t0) * pxPerNs;
        if (x1 - x0 >= 1) {
          const lit = matches === null || matches[func[i]] === 1;
          const color = lit ? colors[func[i]] : faded[func[i]];
          const left = Math.max(x0, -1);
          const right = Math.min(x1, frame.width + 1);
          if (right - left < NARROW_PX) {
            filler.block(left, right, color);
          } else {
            filler.rect(left, right, color);
            if (right - left >= LABEL_MIN_PX) filler.label(this.trace.functions[func[i]].name, left, right - left, lit);
          }
          k++;
          continue;
        }
        // Narrower than a pixel: merge every slice that starts inside this pixel into one block.
        const boundary = t0 + (Math.floor(x0) + 1) / pxPerNs;
        let next = lowerBound(start, order, k + 1, hi, boundary);
        const lastIndex = order[next - 1];
        if (next - 1 > k && (end[lastIndex] - start[lastIndex]) * pxPerNs >= 1) next--; // keep a wide one whole
        const blockEnd = Math.max((end[order[next - 1]] - t0) * pxPerNs, Math.floor(x0) + 1);
        filler.block(Math.floor(x0), blockEnd, this.mergedColor(func, order, k, next, colors, faded));
        k = next;
      }
    }
    filler.startRow(0);
    ctx.textBaseline = "alphabetic";
    const selected = frame.selection;
    if (selected && selected.type === "slice" && selected.thread === thread) {
      const i = selected.index;
      const x0 = Math.max((start[i] - t0) * pxPerNs, -2);
      const x1 = Math.min((end[i] - t0) * pxPerNs, frame.width + 2);
      ctx.strokeStyle = "#101828";
      ctx.lineWidth = 2;
      ctx.strokeRect(x0, top + thread.slices.depth[i] * ROW_HEIGHT, Math.max(x1 - x0, 2), ROW_HEIGHT - 1);
    }
  }

  // A zoomed-out dense row from its bucket summary: per pixel, O(1) to know whether any slice is
  // there and which function to colour it with; then labels where the row has room for them.
  drawSummaryRow(filler, summary, frame) {
    const { buckets, bucketNs, originNs, nextUsed, funcOf } = summary;
    const { t0, pxPerNs, width } = frame;
    const colors = this.colors.normal;
    const faded = this.colors.faded;
    const matches = this.matches;
    if (this.summaryPixels.length < width) this.summaryPixels = new Int32Array(Math.ceil(width));
    const pixels = this.summaryPixels.fill(-1);
    for (let x = 0; x < width; x++) {
      const from = Math.max(0, Math.floor((t0 + x / pxPerNs - originNs) / bucketNs));
      const to = Math.min(buckets, Math.ceil((t0 + (x + 1) / pxPerNs - originNs) / bucketNs));
      if (from >= buckets || to <= from) continue;
      const used = nextUsed[from];
      if (used >= to) continue;
      const f = funcOf[used];
      pixels[x] = f;
      filler.block(x, x + 1, matches === null || matches[f] === 1 ? colors[f] : faded[f]);
    }
    filler.flush();
    const originPx = (originNs - t0) * pxPerNs;
    const regions = summaryLabelRegions(pixels, width, originPx, SUMMARY_LABEL_MIN_PX, SUMMARY_REGION_PX, this.functionCounts);
    for (const { x0, x1, func, others } of regions) {
      const lit = matches === null || matches[func] === 1;
      const suffix = others > 0 ? ` +${others}` : "";
      filler.label(this.trace.functions[func].name, x0, x1 - x0, lit, suffix, SUMMARY_LABEL_MIN_CHARS);
    }
  }

  mergedColor(func, order, from, to, colors, faded) {
    if (this.matches === null) return colors[func[order[from]]];
    if (to - from <= GROUP_CHECK_LIMIT) {
      for (let k = from; k < to; k++) if (this.matches[func[order[k]]] === 1) return colors[func[order[k]]];
    }
    return faded[func[order[from]]];
  }

  drawSpans(ctx, track, top, frame) {
    const { t0, t1, pxPerNs } = frame;
    ctx.font = "11px system-ui, sans-serif";
    for (const span of track.spans) {
      if (span.end < t0 || span.start > t1) continue;
      const x0 = (span.start - t0) * pxPerNs;
      const width = Math.max((span.end - span.start) * pxPerNs, 1);
      const y = top + span.row * ROW_HEIGHT;
      ctx.fillStyle = span.category === "gc" ? "#98a2b3" : "#7f56d9";
      ctx.fillRect(x0, y, width, ROW_HEIGHT - 1);
      if (width >= LABEL_MIN_PX) {
        ctx.fillStyle = "#ffffff";
        ctx.fillText(span.name.slice(0, Math.floor(width / 6)), Math.max(x0, 0) + 3, y + 13);
      }
    }
  }

  drawMarkers(ctx, track, top, frame) {
    const { t0, t1, pxPerNs } = frame;
    let lastX = -Infinity;
    const instants = track.instants;
    for (let i = firstAtOrAfter(instants, t0); i < instants.length && instants[i].ts <= t1; i++) {
      const instant = instants[i];
      const x = (instant.ts - t0) * pxPerNs;
      if (x - lastX < 1) continue; // several instants in one pixel: one marker is enough
      lastX = x;
      ctx.fillStyle = markerColor(instant.category);
      ctx.beginPath();
      ctx.moveTo(x, top + 2);
      ctx.lineTo(x + 5, top + 8);
      ctx.lineTo(x, top + 14);
      ctx.lineTo(x - 5, top + 8);
      ctx.closePath();
      ctx.fill();
    }
    const objects = track.objects;
    lastX = -Infinity;
    for (let i = firstAtOrAfter(objects, t0); i < objects.length && objects[i].ts <= t1; i++) {
      const x = (objects[i].ts - t0) * pxPerNs;
      if (x - lastX < 1) continue;
      lastX = x;
      ctx.fillStyle = "#12b76a";
      ctx.fillRect(x - 4, top + 4, 8, 8);
    }
  }

  drawCounter(ctx, track, top, frame) {
    drawCounter(ctx, track, top, frame, this.trace.endNs);
  }

  // What lies under (x, y) in this track, or null.
  hit(track, x, y, frame) {
    const t = frame.t0 + x / frame.pxPerNs;
    const tolerance = HIT_TOLERANCE_PX / frame.pxPerNs;
    if (track.kind === "slices") return this.hitSlice(track.thread, Math.floor(y / ROW_HEIGHT), t, tolerance);
    if (track.kind === "spans") {
      const row = Math.floor(y / ROW_HEIGHT);
      const span = track.spans.find((s) => s.row === row && s.start - tolerance <= t && t <= s.end + tolerance);
      return span ? { type: "span", item: span, thread: track.thread } : null;
    }
    if (track.kind === "markers") {
      const object = nearest(track.objects, t, tolerance * 2);
      if (object) return { type: "object", item: object };
      const instant = nearest(track.instants, t, tolerance * 2);
      return instant ? { type: "instant", item: instant } : null;
    }
    if (track.kind === "counter") {
      const samples = track.counter.samples;
      const index = firstAtOrAfter(samples, t + 1e-9) - 1; // the sample in force at t
      return index >= 0 ? { type: "counter", counter: track.counter, item: samples[index] } : null;
    }
    return null;
  }

  hitSlice(thread, depth, t, tolerance) {
    if (depth < 0 || depth > thread.maxDepth) return null;
    const { start, end } = thread.slices;
    const { offsets, order } = depthIndex(thread);
    const lo = offsets[depth];
    const hi = offsets[depth + 1];
    const k = lowerBound(start, order, lo, hi, t + 1e-9) - 1; // last slice starting at or before t
    const candidates = [k, k + 1].filter((c) => c >= lo && c < hi);
    let best = null;
    let bestDistance = Infinity;
    for (const c of candidates) {
      const i = order[c];
      const distance = t < start[i] ? start[i] - t : t > end[i] ? t - end[i] : 0;
      if (distance <= tolerance && distance < bestDistance) {
        best = i;
        bestDistance = distance;
      }
    }
    return best === null ? null : { type: "slice", thread, index: best };
  }
}

function markerColor(category) {
  if (category === "exception") return "#d92d20";
  if (category === "log") return "#f79009";
  if (category === "print") return "#475467";
  return "#2f6fde";
}

// The item (in time order) nearest to t within tolerance, or null.
function nearest(items, t, tolerance) {
  let best = null;
  let bestDistance = tolerance;
  for (let i = firstAtOrAfter(items, t - tolerance); i < items.length && items[i].ts <= t + tolerance; i++) {
    const distance = Math.abs(items[i].ts - t);
    if (distance <= bestDistance) {
      best = items[i];
      bestDistance = distance;
    }
  }
  return best;
}

// The first index of items (sorted by .ts) whose ts is >= t.
function firstAtOrAfter(items, t) {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (items[mid].ts < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// The tooltip text for a hit.
export function describeHit(hit, trace) {
  if (hit.type === "slice") {
    const { start, end, func } = hit.thread.slices;
    const duration = end[hit.index] - start[hit.index];
    return `${trace.functions[func[hit.index]].name}\n${formatDuration(duration)}`;
  }
  if (hit.type === "span") return `${hit.item.name} (${hit.item.category})\n${formatDuration(hit.item.end - hit.item.start)}`;
  if (hit.type === "counter") {
    const values = Object.entries(hit.item.values).map(([k, v]) => `${k}: ${v}`).join(", ");
    return `${hit.counter.name}\n${values}`;
  }
  if (hit.type === "object") return `${hit.item.name} #${hit.item.id} (${hit.item.phase})`;
  return `${hit.item.name} (${hit.item.category})`;
}
