// List + watch of one collection, as client-go's reflector does: list, then
// watch from the list's resourceVersion; after a disconnect, watch again from
// the last version seen; on 410 Gone, list again; back off on failures.
// Everything it needs is passed in, so node --test drives it (ui/test/).

export class Gone extends Error {}

const version = (obj) => Number(obj?.metadata?.resourceVersion ?? 0);

export class Collection {
  // fetchJSON(path) -> list; stream(path, onEvent, signal) -> resolves at
  // the stream's end; onChange(items: Map) after every change;
  // sleep(ms, signal); backoff(attempt) -> ms.
  constructor({ path, fetchJSON, stream, onChange, onState = () => {},
                sleep = (ms) => new Promise((r) => setTimeout(r, ms)),
                backoff = (n) => Math.min(250 * 2 ** n, 5000) }) {
    Object.assign(this, { path, fetchJSON, stream, onChange, onState, sleep, backoff });
    this.items = new Map();
    this.version = null;  // null: list before watching
  }

  // One event of the stream. Older events than what is known of an object
  // are ignored, so a replay after a resume cannot move an object backwards.
  apply(ev) {
    if (ev.type === "ERROR") {
      if (ev.object?.code === 410) throw new Gone(ev.object.message || "gone");
      throw new Error(ev.object?.message || "watch error");
    }
    const obj = ev.object;
    if (ev.type === "BOOKMARK") { this.version = obj.metadata.resourceVersion; return false; }
    const name = obj.metadata.name;
    const known = this.items.get(name);
    this.version = obj.metadata.resourceVersion;
    if (known && version(known) > version(obj)) return false;
    if (ev.type === "DELETED") this.items.delete(name);
    else this.items.set(name, obj);
    return true;
  }

  async list() {
    const l = await this.fetchJSON(this.path);
    this.items = new Map(l.items.map((o) => [o.metadata.name, o]));
    this.version = l.metadata.resourceVersion;
    this.onChange(this.items);
  }

  async run(signal) {
    let attempt = 0;
    while (!signal.aborted) {
      try {
        if (this.version === null) await this.list();
        this.onState("live");
        const sep = this.path.includes("?") ? "&" : "?";
        await this.stream(`${this.path}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${this.version}`,
          (ev) => { if (this.apply(ev)) this.onChange(this.items); attempt = 0; }, signal);
        attempt = 0;  // the server ended the stream (its timeout): resume at once
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof Gone || e.status === 410) { this.version = null; continue; }
        if (e.status === 401) { this.onState("unauthorized"); return; }
        this.onState("reconnecting");
        await this.sleep(this.backoff(attempt++), signal);
      }
    }
  }
}
