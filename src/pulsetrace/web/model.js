// The native trace decoder (docs/format.md, versions 1 to 3): bytes in, the viewer's trace out.
//
// Every view reads only what this module builds (the contract is in app.js's header comment). Events
// become one struct-of-arrays `Slices` per thread, filled by a tight varint loop with no object per
// event, so that a trace of ten million calls decodes in a few seconds and stays a few hundred MB.

const MAGIC = [0x89, 0x50, 0x4c, 0x53, 0x0d, 0x0a, 0x1a, 0x0a];
const READABLE_VERSIONS = [1, 2, 3]; // 3 adds LINE, which the viewer leaves to its Heatmap tab
const SECTION_HEADER = 16; // tag (4), u64 length, u32 CRC-32
const TWO_32 = 4294967296;

// Record kinds (pulsetrace/events.py).
const ENTER_RESUME = 1;
const EXIT_YIELD = 4;
const EXIT_UNWIND = 5;
const EXIT_STOP = 6;
const RESERVED_KIND = 7;

// Slice flag bits (the contract's `flags`).
export const FLAG_RESUMED = 1;
export const FLAG_YIELDED = 2;
export const FLAG_UNWOUND = 4;
export const FLAG_UNFINISHED = 8;

export const KIND_PYTHON = 0;
export const KIND_C = 1;

const utf8 = new TextDecoder("utf-8");

// A file the viewer cannot read: not a pulsetrace trace, a newer format, cut short or corrupt.
export class TraceFormatError extends Error {
  constructor(problem) {
    super(problem);
    this.name = "TraceFormatError";
  }
}

// Decompress a zlib stream (RFC 1950), as the writer's zlib.compress produced it.
export async function inflate(bytes) {
  try {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    throw new TraceFormatError(`corrupt compressed data (${error.message})`);
  }
}

let crcTable = null;

function crc32(bytes, start, end, crc = 0) {
  if (crcTable === null) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = ~crc;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// Little-endian readers over a Uint8Array.
function u32(bytes, pos) {
  return (bytes[pos] | (bytes[pos + 1] << 8) | (bytes[pos + 2] << 16)) + bytes[pos + 3] * 16777216;
}

function u64(bytes, pos) {
  return u32(bytes, pos) + u32(bytes, pos + 4) * TWO_32;
}

// The exact integer value of a JSON field that may be beyond 2^53 (JSON.parse would round it).
function bigField(jsonText, name) {
  const match = new RegExp(`"${name}"\\s*:\\s*(-?\\d+)`).exec(jsonText);
  return match ? BigInt(match[1]) : 0n;
}

// Decode the bytes of a native trace file into the viewer's trace.
export async function decodeTrace(bytes) {
  if (bytes.length < 12 || !MAGIC.every((value, i) => bytes[i] === value)) {
    throw new TraceFormatError(notATraceProblem(bytes));
  }
  const version = u32(bytes, 8);
  if (!READABLE_VERSIONS.includes(version)) {
    throw new TraceFormatError(
      version > 3
        ? `format version ${version} was written by a newer pulsetrace`
        : `unsupported format version ${version}`,
    );
  }
  const builder = new TraceBuilder();
  let pos = 12;
  let ended = false;
  while (pos < bytes.length) {
    if (ended) throw new TraceFormatError(`data after the end marker at byte ${pos}`);
    if (pos + SECTION_HEADER > bytes.length) throw new TraceFormatError(`section header cut short at byte ${pos}`);
    const tag = String.fromCharCode(bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]);
    const length = u64(bytes, pos + 4);
    const stored = u32(bytes, pos + 12);
    const start = pos + SECTION_HEADER;
    const end = start + length;
    if (end > bytes.length) throw new TraceFormatError(`section ${tag} at byte ${pos} is cut short`);
    const crc = crc32(bytes, start, end, crc32(bytes, pos, pos + 12));
    if (crc !== stored) throw new TraceFormatError(`checksum mismatch in section ${tag} at byte ${pos}`);
    const payload = bytes.subarray(start, end);
    try {
      if (tag === "END!") ended = true;
      else builder.addSection(tag, payload);
    } catch (error) {
      if (error instanceof TraceFormatError) {
        throw new TraceFormatError(`section ${tag} at byte ${pos}: ${error.message}`);
      }
      throw error;
    }
    pos = end;
  }
  if (!ended) throw new TraceFormatError("the end marker is missing: the file was cut short");
  return builder.finish();
}

function notATraceProblem(bytes) {
  if (bytes.length === 0) return "the file is empty";
  const head = utf8.decode(bytes.subarray(0, 64)).trimStart();
  if (head.startsWith("{") || head.startsWith("[")) return "this is JSON, not a native pulsetrace trace";
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return "this is gzip data, not a native pulsetrace trace";
  return "not a pulsetrace trace (wrong magic bytes)";
}

// Collects sections process by process, then aligns the processes on one time axis.
class TraceBuilder {
  constructor() {
    this.functions = [];
    this.functionIds = new Map(); // "kind\0name\0file\0line" -> id in this.functions
    this.processes = [];
    this.sourceBytes = new Map(); // filename -> zlib bytes
    this.pending = []; // decompression work (custom events, argument text) finished in finish()
  }

  get current() {
    const process = this.processes[this.processes.length - 1];
    if (process === undefined) throw new TraceFormatError("section before the first PROC");
    return process;
  }

  addSection(tag, payload) {
    switch (tag) {
      case "PROC":
        return this.addProcess(payload);
      case "FUNC":
        return this.addFunctions(payload);
      case "EVTS":
        return this.addEvents(payload);
      case "ARGS":
      case "RETS":
        return this.addValues(tag, payload);
      case "TCEV":
        return this.addThreadCustom(payload);
      case "PCEV":
        return this.addProcessCustom(payload);
      case "SRCS":
        return this.addSource(payload);
      case "LINE": // line statistics: the standalone page carries them as its heatmap (heatmapview.js)
        return undefined;
      default:
        return undefined; // an optional section of a later version: skipped, as the format says
    }
  }

  addProcess(payload) {
    const text = utf8.decode(payload);
    let meta;
    try {
      meta = JSON.parse(text);
    } catch (error) {
      throw new TraceFormatError(`bad process JSON (${error.message})`);
    }
    if (meta === null || typeof meta !== "object" || !Array.isArray(meta.threads)) {
      throw new TraceFormatError("process metadata without a thread list");
    }
    const startBig = bigField(text, "start_ns");
    this.processes.push({
      pid: meta.pid,
      name: String(meta.name ?? `process ${meta.pid}`),
      argv: meta.argv ?? [],
      pythonVersion: meta.python_version ?? "",
      metadata: meta.metadata ?? {},
      threads: meta.threads.map((info, index) => ({
        pid: meta.pid,
        ident: info.ident,
        nativeId: info.native_id,
        name: String(info.name ?? `thread ${index}`),
        index,
        eventCount: info.events,
        maxDepth: -1,
        slices: emptySlices(),
        instants: [],
        spans: [],
        args: null, // Map slice -> argument text, where recorded (log_args)
        retvals: null, // Map slice -> return value text (log_retval)
        decoded: false,
        stream: null,
      })),
      instants: [],
      counters: [],
      objects: [],
      functionMap: null,
      startBig,
      stopBig: bigField(text, "stop_ns"),
      wallStartBig: bigField(text, "wall_anchor_ns") - bigField(text, "mono_anchor_ns") + startBig,
      offsetNs: 0,
    });
  }

  addFunctions(payload) {
    const process = this.current;
    if (payload.length < 8) throw new TraceFormatError("function table cut short");
    const nstrings = u32(payload, 0);
    const nrows = u32(payload, 4);
    let pos = 8;
    const strings = new Array(nstrings);
    for (let i = 0; i < nstrings; i++) {
      if (pos + 4 > payload.length) throw new TraceFormatError("function table strings cut short");
      const length = u32(payload, pos);
      pos += 4;
      if (pos + length > payload.length) throw new TraceFormatError("function table strings cut short");
      strings[i] = utf8.decode(payload.subarray(pos, pos + length));
      pos += length;
    }
    if (pos + nrows * 13 !== payload.length) throw new TraceFormatError("function table rows do not fit");
    const map = new Int32Array(nrows);
    for (let row = 0; row < nrows; row++, pos += 13) {
      const kind = payload[pos];
      const nameIndex = u32(payload, pos + 1);
      const fileIndex = u32(payload, pos + 5);
      if (nameIndex >= nstrings || fileIndex >= nstrings) {
        throw new TraceFormatError(`function ${row} names a string that does not exist`);
      }
      map[row] = this.functionId(kind, strings[nameIndex], strings[fileIndex], u32(payload, pos + 9));
    }
    process.functionMap = map;
  }

  // One id per distinct (kind, name, filename, lineno), shared by every process of the trace.
  functionId(kind, name, filename, lineno) {
    const key = `${kind}\0${name}\0${filename}\0${lineno}`;
    let id = this.functionIds.get(key);
    if (id === undefined) {
      id = this.functions.length;
      this.functions.push({ name, filename, lineno, kind });
      this.functionIds.set(key, id);
    }
    return id;
  }

  addEvents(payload) {
    const process = this.current;
    if (process.functionMap === null) throw new TraceFormatError("events before the function table");
    if (payload.length < 12) throw new TraceFormatError("events header cut short");
    const thread = this.thread(process, u32(payload, 0));
    if (thread.decoded) throw new TraceFormatError(`a second events section for thread ${thread.index}`);
    const count = u64(payload, 4);
    if (count !== thread.eventCount) {
      throw new TraceFormatError(`thread ${thread.index} has ${count} events, PROC says ${thread.eventCount}`);
    }
    if (count > payload.length - 12) throw new TraceFormatError(`thread ${thread.index}: more events than bytes`);
    thread.stream = payload.subarray(12);
    const decoded = decodeEventStream(thread.stream, count, process.functionMap, process.startBig);
    thread.slices = decoded.slices;
    thread.maxDepth = decoded.maxDepth;
    thread.lastNs = decoded.lastNs;
    thread.decoded = true;
  }

  thread(process, index) {
    const thread = process.threads[index];
    if (thread === undefined) throw new TraceFormatError(`thread index ${index} is not in PROC`);
    return thread;
  }

  addValues(tag, payload) {
    const process = this.current;
    if (payload.length < 12) throw new TraceFormatError("value section cut short");
    const thread = this.thread(process, u32(payload, 0));
    if (!thread.decoded) throw new TraceFormatError(`${tag} before the events of thread ${thread.index}`);
    const count = u64(payload, 4);
    const compressed = payload.subarray(12);
    this.pending.push(async () => {
      const texts = decodeValues(await inflate(compressed), count);
      const wanted = tag === "ARGS" ? "enter" : "exit";
      const map = mapRecordsToSlices(thread, texts, wanted);
      if (tag === "ARGS") thread.args = map;
      else thread.retvals = map;
    });
  }

  addThreadCustom(payload) {
    const process = this.current;
    if (payload.length < 4) throw new TraceFormatError("custom events cut short");
    const thread = this.thread(process, u32(payload, 0));
    const compressed = payload.subarray(4);
    this.pending.push(async () => {
      const events = await inflateJson(compressed);
      const base = process.startNumber;
      thread.instants = (events.instants ?? []).map(([ns, name, category, args]) => ({
        ts: ns - base + process.offsetNs, name, category, args, scope: "thread",
      }));
      thread.spans = (events.spans ?? []).map(([startNs, endNs, name, category, args]) => ({
        start: startNs - base + process.offsetNs, end: endNs - base + process.offsetNs, name, category, args,
      }));
      thread.spans.sort((a, b) => a.start - b.start);
      thread.instants.sort(byTime); // the views find the visible ones by binary search
    });
  }

  addProcessCustom(payload) {
    const process = this.current;
    const compressed = payload.slice();
    this.pending.push(async () => {
      const events = await inflateJson(compressed);
      const base = process.startNumber;
      const at = (ns) => ns - base + process.offsetNs;
      process.instants = (events.instants ?? []).map(([ns, name, category, scope, tid, args]) => ({
        ts: at(ns), name, category, scope, tid, args,
      }));
      process.counters = groupCounters(events.counters ?? [], at);
      process.objects = (events.objects ?? []).map(([ns, phase, name, id, tid, snapshot]) => ({
        ts: at(ns), phase, name, id, tid, snapshot,
      }));
      process.instants.sort(byTime);
      process.objects.sort(byTime);
      for (const counter of process.counters) counter.samples.sort(byTime);
    });
  }

  addSource(payload) {
    if (payload.length < 4) throw new TraceFormatError("source section cut short");
    const length = u32(payload, 0);
    if (4 + length > payload.length) throw new TraceFormatError("source file name cut short");
    const filename = utf8.decode(payload.subarray(4, 4 + length));
    this.sourceBytes.set(filename, payload.subarray(4 + length));
  }

  async finish() {
    if (this.processes.length === 0) throw new TraceFormatError("the trace holds no process");
    for (const process of this.processes) {
      for (const thread of process.threads) {
        if (!thread.decoded) throw new TraceFormatError(`process ${process.pid}: thread ${thread.index} has no events`);
      }
    }
    // Processes are aligned by their wall-clock anchors: the earliest start is time 0.
    const earliest = this.processes.reduce((min, p) => (p.wallStartBig < min ? p.wallStartBig : min), this.processes[0].wallStartBig);
    let endNs = 0;
    for (const process of this.processes) {
      process.offsetNs = Number(process.wallStartBig - earliest);
      process.startNumber = Number(process.startBig);
      endNs = Math.max(endNs, process.offsetNs + Number(process.stopBig - process.startBig));
      for (const thread of process.threads) {
        shiftSlices(thread.slices, process.offsetNs);
        if (thread.slices.count > 0) endNs = Math.max(endNs, thread.slices.end[0], maxEnd(thread.slices));
      }
    }
    await Promise.all(this.pending.map((work) => work()));
    for (const process of this.processes) {
      for (const item of [...process.instants, ...process.counters.flatMap((c) => c.samples)]) {
        endNs = Math.max(endNs, item.ts ?? 0);
      }
      for (const thread of process.threads) delete thread.stream;
      delete process.functionMap;
    }
    return new ViewerTrace(this.functions, this.processes, endNs, this.sourceBytes);
  }
}

// What the views read (the contract): functions, processes with their threads, and the time span.
class ViewerTrace {
  constructor(functions, processes, endNs, sourceBytes) {
    this.functions = functions;
    this.processes = processes;
    this.startNs = 0;
    this.endNs = Math.max(endNs, 1);
    this.sources = new Map(); // filename -> text, filled as sourceText() decodes them
    this.sourceBytes = sourceBytes;
    this.threads = processes.flatMap((process) => process.threads);
  }

  get sliceCount() {
    return this.threads.reduce((sum, thread) => sum + thread.slices.count, 0);
  }

  // The source text of a traced file (null when the trace does not hold it); decoded on first use.
  async sourceText(filename) {
    if (this.sources.has(filename)) return this.sources.get(filename);
    const compressed = this.sourceBytes.get(filename);
    if (compressed === undefined) return null;
    const text = utf8.decode(await inflate(compressed));
    this.sources.set(filename, text);
    return text;
  }
}

function emptySlices() {
  return {
    count: 0,
    start: new Float64Array(0),
    end: new Float64Array(0),
    func: new Int32Array(0),
    depth: new Uint16Array(0),
    parent: new Int32Array(0),
    flags: new Uint8Array(0),
  };
}

function shiftSlices(slices, offset) {
  if (offset === 0) return;
  const { start, end, count } = slices;
  for (let i = 0; i < count; i++) {
    start[i] += offset;
    end[i] += offset;
  }
}

function maxEnd(slices) {
  let max = 0;
  const { end, depth, count } = slices;
  for (let i = 0; i < count; i++) if (depth[i] === 0 && end[i] > max) max = end[i];
  return max;
}

// The heart of the loader: one pass over a thread's varint stream, straight into typed arrays.
// Times are ns relative to the process's start_ns; the first record's absolute stamp is decoded with
// BigInt (it may exceed 2^53), every later delta fits a double exactly.
function decodeEventStream(stream, count, functionMap, processStart) {
  let capacity = Math.ceil(count / 2) + 16; // entries >= exits, so at least half the records are entries
  let start = new Float64Array(capacity);
  let end = new Float64Array(capacity);
  let func = new Int32Array(capacity);
  let depth = new Uint16Array(capacity);
  let parent = new Int32Array(capacity);
  let flags = new Uint8Array(capacity);
  let stack = new Int32Array(256);
  let sp = 0;
  let n = 0;
  let maxDepth = -1;
  let time = 0;
  let pos = 0;
  const length = stream.length;
  const nfuncs = functionMap.length;
  for (let record = 0; record < count; record++) {
    let kind;
    if (record === 0) {
      const [stamp, next] = readBigVarint(stream, pos);
      pos = next;
      kind = Number(stamp & 7n);
      time = Number((stamp >> 3n) - processStart);
    } else {
      if (pos >= length) throw new TraceFormatError("event stream cut short");
      let byte = stream[pos++];
      let value = byte & 127;
      if (byte >= 128) {
        let scale = 128;
        let bytesRead = 1;
        do {
          if (pos >= length) throw new TraceFormatError("event stream cut short");
          if (++bytesRead > 10) throw new TraceFormatError("varint longer than 10 bytes");
          byte = stream[pos++];
          value += (byte & 127) * scale;
          scale *= 128;
        } while (byte >= 128);
      }
      if (value < 2147483648) {
        kind = value & 7;
        time += value >>> 3;
      } else {
        kind = value % 8;
        time += (value - kind) / 8;
      }
    }
    if (kind <= 2) {
      // An entry: read its function, open a slice.
      if (pos >= length) throw new TraceFormatError("event stream cut short");
      let byte = stream[pos++];
      let local = byte & 127;
      let scale = 128;
      while (byte >= 128) {
        if (pos >= length) throw new TraceFormatError("event stream cut short");
        byte = stream[pos++];
        local += (byte & 127) * scale;
        scale *= 128;
      }
      if (local >= nfuncs) throw new TraceFormatError(`function ${local} is not in the function table`);
      if (n === capacity) {
        capacity = Math.ceil(capacity * 1.5) + 16;
        start = grow(start, capacity);
        end = grow(end, capacity);
        func = grow(func, capacity);
        depth = grow(depth, capacity);
        parent = grow(parent, capacity);
        flags = grow(flags, capacity);
      }
      if (sp === stack.length) stack = grow(stack, stack.length * 2);
      start[n] = time;
      end[n] = time;
      func[n] = functionMap[local];
      const level = sp < 65535 ? sp : 65535;
      depth[n] = level;
      if (level > maxDepth) maxDepth = level;
      parent[n] = sp > 0 ? stack[sp - 1] : -1;
      flags[n] = kind === ENTER_RESUME ? FLAG_RESUMED : 0;
      stack[sp++] = n;
      n++;
    } else {
      if (kind === RESERVED_KIND) throw new TraceFormatError("record of the reserved kind 7");
      if (sp === 0) throw new TraceFormatError("an exit with no open entry");
      const open = stack[--sp];
      end[open] = time;
      if (kind === EXIT_YIELD) flags[open] |= FLAG_YIELDED;
      else if (kind === EXIT_UNWIND) flags[open] |= FLAG_UNWOUND;
      else if (kind === EXIT_STOP) flags[open] |= FLAG_UNFINISHED;
    }
  }
  if (pos !== length) throw new TraceFormatError("more event bytes than events");
  while (sp > 0) {
    const open = stack[--sp];
    end[open] = time;
    flags[open] |= FLAG_UNFINISHED;
  }
  const slices = {
    count: n,
    start: start.subarray(0, n),
    end: end.subarray(0, n),
    func: func.subarray(0, n),
    depth: depth.subarray(0, n),
    parent: parent.subarray(0, n),
    flags: flags.subarray(0, n),
  };
  return { slices, maxDepth, lastNs: time };
}

function grow(array, capacity) {
  const bigger = new array.constructor(capacity);
  bigger.set(array.subarray(0, Math.min(array.length, capacity)));
  return bigger;
}

function readBigVarint(bytes, pos) {
  let value = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= bytes.length) throw new TraceFormatError("event stream cut short");
    const byte = bytes[pos++];
    value |= BigInt(byte & 127) << shift;
    if (byte < 128) {
      if (value >= 1n << 64n) throw new TraceFormatError("varint of 2^64 or more");
      return [value, pos];
    }
    shift += 7n;
  }
  throw new TraceFormatError("varint longer than 10 bytes");
}

// ARGS / RETS after inflating: record indices (u64), lengths (u32), then the texts.
function decodeValues(bytes, count) {
  if (bytes.length < count * 12) throw new TraceFormatError("value section shorter than its count");
  const indices = new Float64Array(count);
  let pos = 0;
  for (let i = 0; i < count; i++, pos += 8) indices[i] = u64(bytes, pos);
  const texts = new Array(count);
  let textPos = count * 12;
  for (let i = 0; i < count; i++, pos += 4) {
    const length = u32(bytes, pos);
    texts[i] = utf8.decode(bytes.subarray(textPos, textPos + length));
    textPos += length;
  }
  if (textPos !== bytes.length) throw new TraceFormatError("value lengths do not add up");
  return { indices, texts };
}

// The slice each ARGS (entry record) or RETS (exit record) text belongs to: a second walk over the
// thread's stream, only for threads that recorded values, so the main decoder stays lean.
function mapRecordsToSlices(thread, values, wanted) {
  const map = new Map();
  const { indices, texts } = values;
  const stream = thread.stream;
  const stack = [];
  let pos = 0;
  let next = 0;
  let slice = 0;
  for (let record = 0; record < thread.eventCount && next < indices.length; record++) {
    let byte;
    let value = 0;
    let scale = 1;
    do {
      byte = stream[pos++];
      value += (byte & 127) * scale;
      scale *= 128;
    } while (byte >= 128);
    const kind = record === 0 ? stream[0] & 7 : value % 8;
    let current;
    if (kind <= 2) {
      do byte = stream[pos++];
      while (byte >= 128);
      current = slice;
      stack.push(slice++);
    } else {
      current = stack.pop();
    }
    if (indices[next] === record) {
      if ((wanted === "enter") !== kind <= 2) throw new TraceFormatError("a value names the wrong kind of record");
      map.set(current, texts[next]);
      next++;
    }
  }
  if (next !== indices.length) throw new TraceFormatError("a value names a record the thread does not have");
  return map;
}

async function inflateJson(compressed) {
  const text = utf8.decode(await inflate(compressed));
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TraceFormatError(`bad custom events JSON (${error.message})`);
  }
}

function byTime(a, b) {
  return a.ts - b.ts;
}

// Counter samples grouped into one track per counter name: {name, series: [names], samples: [{ts, values}]}.
function groupCounters(samples, at) {
  const byName = new Map();
  for (const [ns, name, tid, values] of samples) {
    let counter = byName.get(name);
    if (counter === undefined) {
      counter = { name, tid, series: [], samples: [] };
      byName.set(name, counter);
    }
    for (const key of Object.keys(values)) if (!counter.series.includes(key)) counter.series.push(key);
    counter.samples.push({ ts: at(ns), values });
  }
  return [...byName.values()];
}
