// Long work on the page's only thread, spread over many short tasks so the page keeps answering:
// a step generator (one that yields its progress, 0 to 1, every few milliseconds of work and returns
// its result) is advanced for at most SLICE_MS at a time, then the browser gets the thread back to
// paint, scroll and handle input before the next slice. A Worker would need the trace copied or
// shared and its own copy of the code; a generator needs neither, works from file:// and leaves the
// result where the view wants it.

const SLICE_MS = 12; // work per task: leaves most of a 60 Hz frame to the browser

// Work over fewer items (slices, tree nodes) than this is done at once: on deep random stacks, 200,000
// slices take 30-40 ms the first time (the code not yet optimised) and 10-15 ms after. Bigger work goes
// in steps, with a progress message, while the page stays usable.
export const STEPS_FROM = 200000;

/**
 * One run of a step generator. `onProgress(share)` is called after each slice of work, `onDone(result)`
 * once at the end. pause() stops between two steps until resume(); cancel() drops the work for good.
 */
export class SteppedJob {
  constructor(steps, { onProgress = () => {}, onDone }) {
    this.steps = steps;
    this.onProgress = onProgress;
    this.onDone = onDone;
    this.progress = 0;
    this.state = "running"; // "paused", "cancelled" or "done" later
    this.scheduled = false;
    // A message to ourselves comes back as a new task at once (setTimeout waits 4 ms once nested).
    this.channel = new MessageChannel();
    this.channel.port1.onmessage = () => {
      this.scheduled = false;
      this.runSlice();
    };
    this.schedule();
  }

  schedule() {
    if (this.scheduled || this.state !== "running") return;
    this.scheduled = true;
    this.channel.port2.postMessage(null);
  }

  runSlice() {
    if (this.state !== "running") return;
    const began = performance.now();
    for (;;) {
      const step = this.steps.next();
      if (step.done) {
        this.state = "done";
        this.progress = 1;
        this.close();
        this.onDone(step.value);
        return;
      }
      this.progress = step.value;
      if (performance.now() - began >= SLICE_MS) break;
    }
    this.onProgress(this.progress);
    this.schedule();
  }

  pause() {
    if (this.state === "running") this.state = "paused";
  }

  resume() {
    if (this.state !== "paused") return;
    this.state = "running";
    this.schedule();
  }

  cancel() {
    if (this.state === "done" || this.state === "cancelled") return;
    this.state = "cancelled";
    this.steps.return(undefined); // lets the generator drop what it holds
    this.close();
  }

  close() {
    this.channel.port1.onmessage = null;
    this.channel.port1.close();
  }
}

/**
 * A SteppedJob whose progress shows in `element` as "`label`… 42%", from 0% at once; `onDone(result)`
 * at the end (hiding the message is the caller's, with what it shows instead).
 */
export function jobWithProgress(steps, element, label, onDone) {
  const say = (share) => {
    element.textContent = `${label}… ${Math.floor(share * 100)}%`;
  };
  say(0);
  element.hidden = false;
  return new SteppedJob(steps, { onProgress: say, onDone });
}
