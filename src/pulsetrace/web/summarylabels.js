// Labels for a zoomed-out dense row of the timeline (one drawn from its bucket summary, one function
// per pixel): where the row can carry a label and what it should say.
//
// A stretch of at least `minPx` pixels of one function is labelled with that function's name. The
// rest of the row is cut into mixed regions, each a run of touching pixels, ended by an empty pixel,
// a labelled stretch or a region boundary; a mixed region is labelled with the function drawn in most
// of its pixels and how many other functions it shows ("parse +3"). Region boundaries are fixed in
// time (every `regionPx` pixels counted from the trace's start), so while panning a label moves with
// the calls it names instead of changing under the pointer.

/**
 * The labelled regions of one row: an array of {x0, x1, func, others}, left to right and disjoint.
 * `pixels[x]` is the function drawn in pixel x (-1: nothing), `originPx` the trace start's pixel
 * offset (0 or negative), `counts` a zeroed scratch Int32Array with one entry per function (left
 * zeroed again).
 */
export function summaryLabelRegions(pixels, width, originPx, minPx, regionPx, counts) {
  const regions = [];
  const seen = []; // the functions of the current mixed region
  let mixedStart = -1;
  let mixedBlock = 0;
  const closeMixed = (end) => {
    if (mixedStart >= 0 && end - mixedStart >= minPx) {
      let best = seen[0];
      for (const f of seen) if (counts[f] > counts[best] || (counts[f] === counts[best] && f < best)) best = f;
      regions.push({ x0: mixedStart, x1: end, func: best, others: seen.length - 1 });
    }
    for (const f of seen) counts[f] = 0;
    seen.length = 0;
    mixedStart = -1;
  };
  let x = 0;
  while (x < width) {
    const f = pixels[x];
    if (f < 0) {
      closeMixed(x);
      x++;
      continue;
    }
    let end = x + 1;
    while (end < width && pixels[end] === f) end++;
    if (end - x >= minPx) {
      closeMixed(x);
      regions.push({ x0: x, x1: end, func: f, others: 0 });
      x = end;
      continue;
    }
    for (let at = x; at < end; at++) {
      const block = Math.floor((at - originPx) / regionPx);
      if (mixedStart >= 0 && block !== mixedBlock) closeMixed(at);
      if (mixedStart < 0) {
        mixedStart = at;
        mixedBlock = block;
      }
      if (counts[f]++ === 0) seen.push(f);
    }
    x = end;
  }
  closeMixed(width);
  return regions;
}
