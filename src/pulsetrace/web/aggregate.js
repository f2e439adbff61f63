// Aggregations over the viewer's trace for the flamegraph and the function table.
//
// Everything here reads the Slices struct of arrays (web/model.js) in plain typed-array loops: no
// object per slice, so a 10M-slice trace is aggregated in well under a second per pass. The rules are
// the ones of pulsetrace.reports.callstats, which the browser tests use as the oracle:
//   - calls count slices that start a call; a resumed generator or coroutine (FLAG_RESUMED) adds time
//     but is not a new call;
//   - the self time of a slice is its duration minus the durations of the slices directly inside it;
//   - a function's total time counts a slice only when no slice of the same function encloses it
//     (recursion is not counted twice), as cProfile does;
//   - max is the longest single slice.

import { FLAG_RESUMED } from "./model.js";

/** Every thread of the trace, in process order: the default selection of the aggregations below. */
export function allThreads(trace) {
  const threads = [];
  for (const process of trace.processes) {
    for (const thread of process.threads) threads.push(thread);
  }
  return threads;
}

/** The self time of each slice of one thread, as a Float64Array parallel to the slices. */
export function sliceSelfTimes(slices) {
  const n = slices.count;
  const { start, end, parent } = slices;
  const self = new Float64Array(n);
  for (let i = 0; i < n; i++) self[i] = end[i] - start[i];
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    if (p >= 0) self[p] -= end[i] - start[i];
  }
  return self;
}

/**
 * Per-function statistics over the given threads (all of them by default), indexed by function id:
 * typed arrays of length trace.functions.length. `ran[f]` is 1 for functions with at least one slice.
 */
export function functionTotals(trace, threads = allThreads(trace)) {
  return runToEnd(functionTotalsSteps(trace, threads));
}

/**
 * functionTotals in steps (see callTreeSteps): yields the share of the slices added (0 to 1) after
 * every TOTALS_STEP of them and returns the totals.
 */
export function* functionTotalsSteps(trace, threads = allThreads(trace)) {
  const count = trace.functions.length;
  const totals = {
    count,
    calls: new Float64Array(count),
    slices: new Float64Array(count),
    total: new Float64Array(count),
    self: new Float64Array(count),
    max: new Float64Array(count),
    ran: new Uint8Array(count),
  };
  let slices = 0;
  for (const thread of threads) slices += thread.slices.count;
  // How many slices of each function enclose the current one, and the chain of open slices: both
  // back to empty after every thread, so the threads share them.
  const walk = { open: new Int32Array(count), path: new Int32Array(256) };
  let done = 0;
  for (const thread of threads) {
    for (const added of addThreadTotals(thread.slices, totals, walk)) yield (done + added) / slices;
    done += thread.slices.count;
  }
  return totals;
}

// Yields the number of slices added so far after every TOTALS_STEP of them.
function* addThreadTotals(slices, totals, walk) {
  const n = slices.count;
  const { start, end, func, parent, flags } = slices;
  const { calls, total, self, max, ran } = totals;
  const sliceCount = totals.slices;
  const open = walk.open;
  // The chain of open slices from the outermost to the current one: popped back to a slice's parent
  // before it is pushed, which is O(1) amortised because slices come in preorder. It lives across
  // the steps, so it stays in `walk` (grown, rarely, when a stack is deeper than any before).
  let path = walk.path;
  let top = 0;
  for (let from = 0; from < n; from += TOTALS_STEP) {
    const to = Math.min(n, from + TOTALS_STEP);
    for (let i = from; i < to; i++) {
      const p = parent[i];
      while (top > 0 && path[top - 1] !== p) open[func[path[--top]]]--;
      const f = func[i];
      const duration = end[i] - start[i];
      if (open[f] === 0) total[f] += duration;
      self[f] += duration;
      if (p >= 0) self[func[p]] -= duration;
      if ((flags[i] & FLAG_RESUMED) === 0) calls[f]++;
      sliceCount[f]++;
      if (duration > max[f]) max[f] = duration;
      ran[f] = 1;
      open[f]++;
      if (top === path.length) {
        const deeper = new Int32Array(path.length * 2);
        deeper.set(path);
        path = walk.path = deeper;
      }
      path[top++] = i;
    }
    yield to;
  }
  while (top > 0) open[func[path[--top]]]--;
}

/**
 * A merged call tree: one node per distinct stack (root first), node 0 being the root above every
 * thread's outermost slices (func -1). Nodes are struct-of-arrays too; `childStart`/`children` list
 * each node's children (CSR layout), heaviest first, and `x` is each node's offset from the left edge
 * of the root in the tree's weight unit (ns), so a view lays frames out without walking the tree.
 */
export class CallTree {
  constructor(capacity = 1024) {
    this.size = 1;
    this.func = new Int32Array(capacity);
    this.parent = new Int32Array(capacity);
    this.depth = new Uint16Array(capacity);
    this.total = new Float64Array(capacity);
    this.self = new Float64Array(capacity);
    this.calls = new Float64Array(capacity);
    this.func[0] = -1;
    this.parent[0] = -1;
    this.maxDepth = 0;
    this.childStart = null;
    this.children = null;
    this.x = null;
    // The construction index, (parent, func) -> node: an open-addressing hash table of node + 1 (0 for
    // a free slot) in a typed array, as a JS Map would stop at 2^24 entries and cost an object each;
    // in front of it, each node remembers the last child looked up (a loop calls the same function).
    this.slots = new Int32Array(capacity * 2);
    this.lastFunc = new Int32Array(capacity).fill(-1);
    this.lastNode = new Int32Array(capacity);
  }

  /** The child of `node` for function `f`, created if needed. */
  child(node, f) {
    if (this.lastFunc[node] === f) return this.lastNode[node];
    const mask = this.slots.length - 1;
    let slot = callTreeHash(node, f) & mask;
    let found = -1;
    for (let entry = this.slots[slot]; entry !== 0; entry = this.slots[slot]) {
      if (this.parent[entry - 1] === node && this.func[entry - 1] === f) {
        found = entry - 1;
        break;
      }
      slot = (slot + 1) & mask;
    }
    if (found < 0) {
      found = this.size;
      if (found === this.func.length) {
        this.grow();
        return this.child(node, f); // the table was rebuilt: look for the free slot again
      }
      this.size++;
      this.func[found] = f;
      this.parent[found] = node;
      const depth = this.depth[node] + 1;
      this.depth[found] = depth;
      if (depth > this.maxDepth) this.maxDepth = depth;
      this.lastFunc[found] = -1;
      this.slots[slot] = found + 1;
    }
    this.lastFunc[node] = f;
    this.lastNode[node] = found;
    return found;
  }

  grow() {
    runToEnd(this.reserveSteps(1));
  }

  /**
   * Room for `extra` more nodes, made in steps: the arrays double until they fit and the hash table
   * is rebuilt, which for millions of nodes would be a long task in one go. The tree must not be
   * used until the steps are done.
   */
  *reserveSteps(extra) {
    if (this.size + extra <= this.func.length) return;
    let capacity = this.func.length;
    while (capacity < this.size + extra) capacity *= 2;
    const old = this.func.length;
    // One array a step: allocating and copying tens of megabytes is itself tens of milliseconds.
    for (const name of ["func", "parent", "depth", "total", "self", "calls", "lastFunc", "lastNode"]) {
      const bigger = new this[name].constructor(capacity);
      bigger.set(this[name]);
      if (name === "lastFunc") bigger.fill(-1, old);
      this[name] = bigger;
      yield;
    }
    // Twice as many slots as nodes keeps the probe sequences short.
    const slots = new Int32Array(capacity * 2);
    const mask = slots.length - 1;
    for (let from = 1; from < this.size; from += LINEAR_STEP) {
      const to = Math.min(this.size, from + LINEAR_STEP);
      for (let node = from; node < to; node++) {
        let slot = callTreeHash(this.parent[node], this.func[node]) & mask;
        while (slots[slot] !== 0) slot = (slot + 1) & mask;
        slots[slot] = node + 1;
      }
      yield;
    }
    this.slots = slots;
  }

  /** Sort children heaviest first, lay out x offsets and drop the construction index. */
  finish() {
    return runToEnd(this.finishSteps());
  }

  /** finish() in steps: yields the share done (0 to 1) every few milliseconds (see runToEnd). */
  *finishSteps() {
    const n = this.size;
    const { parent, total } = this;
    const counts = new Int32Array(n + 1);
    for (let from = 1; from < n; from += LINEAR_STEP) {
      const to = Math.min(n, from + LINEAR_STEP);
      for (let node = from; node < to; node++) counts[parent[node] + 1]++;
      yield (0.05 * to) / n;
    }
    for (let node = 0; node < n; node++) counts[node + 1] += counts[node];
    const children = new Int32Array(Math.max(n - 1, 0));
    const fill = counts.slice(0, n);
    yield 0.1;
    for (let from = 1; from < n; from += LINEAR_STEP) {
      const to = Math.min(n, from + LINEAR_STEP);
      for (let node = from; node < to; node++) children[fill[parent[node]]++] = node;
      yield 0.1 + (0.2 * to) / n;
    }
    const heavierFirst = (a, b) => total[b] - total[a] || a - b;
    for (let from = 0; from < n; from += AGGREGATION_STEP) {
      const to = Math.min(n, from + AGGREGATION_STEP);
      for (let node = from; node < to; node++) {
        if (counts[node + 1] - counts[node] > 1) children.subarray(counts[node], counts[node + 1]).sort(heavierFirst);
      }
      yield 0.3 + (0.4 * to) / n;
    }
    this.childStart = counts;
    this.children = children;
    // Nodes are created after their parent, so one pass in creation order sees every parent placed.
    const x = new Float64Array(n);
    for (let from = 0; from < n; from += LINEAR_STEP) {
      const to = Math.min(n, from + LINEAR_STEP);
      for (let node = from; node < to; node++) {
        let offset = x[node];
        for (let c = counts[node]; c < counts[node + 1]; c++) {
          const child = children[c];
          x[child] = offset;
          offset += total[child];
        }
      }
      yield 0.7 + (0.3 * to) / n;
    }
    this.x = x;
    this.slots = null;
    this.lastFunc = null;
    this.lastNode = null;
    return this;
  }

  /** The node's stack as function ids, root first (the root itself left out). */
  stack(node) {
    const funcs = [];
    for (let at = node; at > 0; at = this.parent[at]) funcs.push(this.func[at]);
    return funcs.reverse();
  }
}

/**
 * The top-down merged call tree of the given threads: every slice adds its duration to the node of
 * its stack, so a node's width is the total time spent in that call path and its self time the part
 * spent in no recorded callee. Threads are merged by stack: the outermost functions of every thread
 * are the root's children.
 */
export function buildCallTree(trace, threads = allThreads(trace)) {
  return runToEnd(callTreeSteps(threads));
}

/**
 * buildCallTree in steps, for a caller that spreads the work over several tasks: a generator that
 * yields the share of the work done (0 to 1) after every AGGREGATION_STEP slices or nodes, and
 * returns the finished tree.
 */
export function* callTreeSteps(threads) {
  const tree = new CallTree();
  let slices = 0;
  for (const thread of threads) slices += thread.slices.count;
  let done = 0;
  // Merging the slices is most of the work; sorting the children takes the last part of the bar.
  for (const thread of threads) {
    for (const added of addThreadToTree(thread.slices, tree)) yield (MERGE_SHARE * (done + added)) / slices;
    done += thread.slices.count;
  }
  let rootTotal = 0;
  for (let node = 1; node < tree.size; node++) if (tree.parent[node] === 0) rootTotal += tree.total[node];
  tree.total[0] = rootTotal;
  for (const sorted of tree.finishSteps()) yield MERGE_SHARE + (1 - MERGE_SHARE) * sorted;
  return tree;
}

const MERGE_SHARE = 0.8;

/** Work between two yields of the step generators: a few milliseconds of merging or sorting. */
export const AGGREGATION_STEP = 1 << 13;
const LINEAR_STEP = 1 << 16; // nodes per yield in the plain passes over the tree's arrays
const TOTALS_STEP = 1 << 15; // slices per yield of functionTotalsSteps: a simpler loop than merging

/** Runs a step generator (callTreeSteps, functionTotalsSteps, invertedTreeSteps, ...) to its end. */
export function runToEnd(steps) {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

// Yields the number of slices added so far after every AGGREGATION_STEP of them.
function* addThreadToTree(slices, tree) {
  const n = slices.count;
  const { start, end, func, parent, flags } = slices;
  const nodeOf = new Int32Array(n);
  for (let from = 0; from < n; from += AGGREGATION_STEP) {
    const to = Math.min(n, from + AGGREGATION_STEP);
    for (const _ of tree.reserveSteps(to - from)) yield from; // a step adds at most one node a slice
    // The tree's arrays in locals, fetched again whenever tree.child had to grow them.
    let { total, self, calls } = tree;
    for (let i = from; i < to; i++) {
      const p = parent[i];
      const node = tree.child(p < 0 ? 0 : nodeOf[p], func[i]);
      if (tree.total !== total) ({ total, self, calls } = tree);
      nodeOf[i] = node;
      const duration = end[i] - start[i];
      total[node] += duration;
      self[node] += duration;
      if (p >= 0) self[nodeOf[p]] -= duration;
      if ((flags[i] & FLAG_RESUMED) === 0) calls[node]++;
    }
    yield to;
  }
}

// Mixes a (parent, func) pair into 32 bits for CallTree's hash table (murmur3's finaliser, so the high
// bits reach the low ones that the table's mask keeps).
function callTreeHash(node, f) {
  let h = (Math.imul(node, 0x9e3779b1) + f) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** At most this many nodes in an inverted tree (see invertCallTree): about 40 bytes each. */
export const INVERTED_NODE_BUDGET = 4000000;

/**
 * The bottom-up ("inverted") tree of a top-down tree, weighted by self time: the root's children are
 * the functions where time was spent, each as wide as its self time, and a node's children are the
 * callers through which that time was reached. Every inverted node describes the leaf function's self
 * time and calls along one caller path, so its `self` equals its `total`. Built from the merged nodes,
 * not the slices, so its cost depends on the number of distinct stacks.
 *
 * A node of depth d adds up to d inverted nodes, which on traces with millions of distinct stacks
 * would be too many: the callers are then followed only `callerLevels` deep, the most that keeps the
 * tree within `budget` nodes (the tree's `callerLevels` says how deep; Infinity when complete).
 */
export function invertCallTree(tree, budget = INVERTED_NODE_BUDGET) {
  return runToEnd(invertedTreeSteps(tree, budget));
}

/** invertCallTree in steps (see callTreeSteps): yields the share done, returns the inverted tree. */
export function* invertedTreeSteps(tree, budget = INVERTED_NODE_BUDGET) {
  const levels = callerLevelsWithin(tree, budget);
  const inverted = new CallTree();
  inverted.callerLevels = levels;
  // A node costs up to `levels` lookups: a step takes fewer nodes when each walks far.
  const nodesPerStep = Math.max(1, Math.floor(AGGREGATION_STEP / Math.min(levels, tree.maxDepth + 1)));
  for (let from = 1; from < tree.size; from += nodesPerStep) {
    const to = Math.min(tree.size, from + nodesPerStep);
    for (const _ of inverted.reserveSteps((to - from) * Math.min(levels, tree.maxDepth + 1))) {
      yield (MERGE_SHARE * from) / tree.size;
    }
    for (let node = from; node < to; node++) {
      const weight = tree.self[node];
      const calls = tree.calls[node];
      let at = 0;
      let level = 0;
      for (let caller = node; caller > 0 && level < levels; caller = tree.parent[caller], level++) {
        at = inverted.child(at, tree.func[caller]);
        inverted.total[at] += weight;
        inverted.self[at] += weight;
        inverted.calls[at] += calls;
      }
    }
    yield (MERGE_SHARE * to) / tree.size;
  }
  inverted.total[0] = tree.total[0];
  for (const sorted of inverted.finishSteps()) yield MERGE_SHARE + (1 - MERGE_SHARE) * sorted;
  return inverted;
}

// The most levels L such that following every node's stack L levels cannot exceed `budget` nodes.
function callerLevelsWithin(tree, budget) {
  const byDepth = new Float64Array(tree.maxDepth + 2);
  for (let node = 1; node < tree.size; node++) byDepth[tree.depth[node]]++;
  let bound = 0; // sum over nodes of min(depth, levels), for levels = 0, 1, 2, ...
  let deeper = tree.size - 1; // nodes with depth > levels
  for (let levels = 0; levels <= tree.maxDepth; levels++) {
    if (bound > budget) return Math.max(1, levels - 1); // the functions themselves, at least
    deeper -= byDepth[levels];
    bound += deeper;
  }
  return Infinity;
}
