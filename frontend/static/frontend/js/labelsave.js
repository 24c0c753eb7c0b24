// Saving the editor's label as versions: autosave after a pause, each save against the version
// it edits (409 when someone else saved in between), PNG encoding in a worker, a draft in the
// browser until the server has the edits, and a last synchronous save when the tab goes away.
import { api, ApiError } from "./api.js";
import { drafts } from "./drafts.js";
import { encodeSync, encodeWithCanvas, isSoft } from "./maskpng.js";
import { toast } from "./toast.js";

const AUTOSAVE_MS = 1500;
const RETRY_MS = 5000;
// Soon after a change, well before the autosave: the draft is what survives a closed tab.
const DRAFT_MS = 300;
// Keepalive requests may carry 64 KB in all; the rest of the form needs a little room.
const KEEPALIVE_BYTES = 60 * 1024;
const KIND_NAMES = { mask: "mask", negative: "no defect", unsure: "unsure" };

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export class LabelSaver {
  /**
   * `stateBadge` shows saved / unsaved / saving (tests read it); `kindBadge` the label kind;
   * `draftKey` names this user's draft of this image in the browser's store.
   */
  constructor(buffer, url, stateBadge, kindBadge, draftKey) {
    this.buffer = buffer;
    this.url = url;
    this.draftKey = draftKey;
    this.draftTimer = null;
    this.draftEdits = 0; // the edits the stored draft covers
    this.drafting = Promise.resolve(); // draft writes and deletes, in order
    this.stateBadge = stateBadge;
    this.kindBadge = kindBadge;
    this.baseVersion = null;
    this.kind = "mask"; // what the label will say at the next save
    this.edits = 0; // bumped by every change; a save remembers how many it covers
    this.savedEdits = 0;
    this.saving = null;
    this.timer = null;
    // {version, current} after a 409 (current: the server's version, as the 409 body gives
    // it); autosave stops until the user merges, saves over it or discards.
    this.conflict = null;
    this.onConflict = null; // called with `current` on a 409; a toast when nobody listens
    this.worker = undefined;
    this.jobs = new Map();
    this.nextJob = 1;
    this.exitBody = null;
  }

  get dirty() {
    return this.edits !== this.savedEdits;
  }

  /** Starts from the stored version (or none). */
  loaded(version) {
    this.baseVersion = version?.id ?? null;
    this.kind = version?.kind ?? "mask";
    this.showKind(version?.kind);
    this.setState("saved");
  }

  edited(kind = "mask") {
    this.kind = kind;
    this.edits++;
    this.setState("unsaved");
    this.schedule(AUTOSAVE_MS);
    clearTimeout(this.draftTimer);
    this.draftTimer = setTimeout(() => this.keepDraft(), DRAFT_MS);
  }

  /** Stores the unsaved edits in the browser (a copy: later strokes go in the next draft). */
  keepDraft() {
    clearTimeout(this.draftTimer);
    if (!this.dirty || this.draftEdits === this.edits) return this.drafting;
    const edits = this.edits;
    const draft = {
      edits,
      kind: this.kind,
      base: this.baseVersion,
      width: this.buffer.width,
      height: this.buffer.height,
      data: this.kind === "mask" ? this.buffer.data.slice() : null,
      at: Date.now(),
    };
    this.drafting = this.drafting
      .then(() => drafts.put(this.draftKey, draft))
      .then(() => {
        this.draftEdits = Math.max(this.draftEdits, edits);
      })
      .catch(() => {}); // private windows may refuse storage; the server saves still run
    return this.drafting;
  }

  #dropDraft() {
    const edits = this.edits;
    this.drafting = this.drafting
      .then(() => (this.edits === edits ? drafts.drop(this.draftKey) : null))
      .catch(() => {});
  }

  /**
   * A draft left by an earlier visit, when it holds something the server's version does not:
   * `{kind, data, at, base}`; null otherwise (and a draft equal to the stored label is dropped).
   */
  async leftDraft(storedKind) {
    let draft;
    try {
      draft = await drafts.get(this.draftKey);
    } catch {
      return null;
    }
    if (!draft) return null;
    const { width, height, data } = this.buffer;
    const fits = draft.width === width && draft.height === height;
    const same =
      draft.kind === storedKind && (draft.kind !== "mask" || sameBytes(draft.data, data));
    if (!fits || same) {
      drafts.drop(this.draftKey).catch(() => {});
      return null;
    }
    return draft;
  }

  setState(text) {
    // Unchanged text must not touch the DOM: a style change forces a layout on the next move.
    if (this.stateBadge.textContent === text) return;
    this.stateBadge.textContent = text;
    this.stateBadge.className = `badge badge-${text}`;
  }

  showKind(kind) {
    this.kindBadge.textContent = kind ? KIND_NAMES[kind] : "not labelled";
  }

  schedule(ms) {
    clearTimeout(this.timer);
    if (!this.conflict) this.timer = setTimeout(() => this.save(), ms);
  }

  /** Saves unsaved edits (after a save in flight); true when everything is saved. */
  async save() {
    while (this.saving) await this.saving;
    if (!this.dirty) return true;
    const mine = this.#saveOnce();
    this.saving = mine;
    try {
      return await mine;
    } finally {
      if (this.saving === mine) this.saving = null;
    }
  }

  /** The next save edits `versionId` (the edits now hold what it holds: a merge). */
  rebase(versionId) {
    this.baseVersion = versionId;
    this.conflict = null;
  }

  /** Gives up the unsaved edits (the user chose the stored version): no draft, no exit save. */
  discard() {
    clearTimeout(this.timer);
    clearTimeout(this.draftTimer);
    this.savedEdits = this.edits;
    this.draftEdits = this.edits;
    this.drafting = this.drafting.then(() => drafts.drop(this.draftKey)).catch(() => {});
    return this.drafting;
  }

  /** Ctrl+S and the Save button: also the way to overwrite someone else's version. */
  saveNow() {
    if (this.conflict) {
      this.baseVersion = this.conflict.version;
      this.conflict = null;
      if (!this.dirty) this.edits++;
    }
    return this.save();
  }

  async #saveOnce() {
    clearTimeout(this.timer);
    const covers = this.edits;
    const kind = this.kind;
    // Copied now, so edits made while it encodes and uploads belong to the next save.
    const encoded = kind === "mask" ? this.#encode(this.buffer.data.slice()) : null;
    this.setState("saving");
    try {
      const form = new FormData();
      form.append("kind", kind);
      if (encoded) {
        const { blob, soft } = await encoded;
        form.append("mask", blob, "mask.png");
        form.append("soft", soft ? "true" : "false");
      }
      if (this.baseVersion) form.append("base_version", this.baseVersion);
      const version = await api(this.url, { method: "POST", form });
      this.baseVersion = version.id;
      this.savedEdits = covers;
      this.showKind(version.kind);
      if (this.dirty) this.schedule(AUTOSAVE_MS);
      this.setState(this.dirty ? "unsaved" : "saved");
      if (!this.dirty) this.#dropDraft();
      return !this.dirty;
    } catch (err) {
      this.setState("unsaved");
      if (err instanceof ApiError && err.status === 409) {
        const current = err.body?.current_version ?? null;
        this.conflict = { version: current?.id ?? null, current };
        clearTimeout(this.timer);
        if (this.onConflict) this.onConflict(current);
        else {
          toast(
            "Someone saved this label since you opened it. Reload to see theirs, or press " +
              "Save to replace it with yours.",
            "error",
            10000,
          );
        }
      } else {
        toast(`Not saved: ${err.message}`, "error");
        this.schedule(RETRY_MS);
      }
      return false;
    }
  }

  #encode(data) {
    const { width, height } = this.buffer;
    const here = async (pixels) => ({
      blob: await encodeWithCanvas(pixels, width, height),
      soft: isSoft(pixels),
    });
    if (this.worker === undefined) this.#startWorker(here);
    if (!this.worker) return here(data);
    return new Promise((resolve, reject) => {
      const id = this.nextJob++;
      this.jobs.set(id, { resolve, reject, data });
      this.worker.postMessage({ id, data, width, height });
    });
  }

  #startWorker(here) {
    try {
      this.worker = new Worker(new URL("./maskencode.worker.js", import.meta.url), {
        type: "module",
      });
    } catch {
      this.worker = null;
      return;
    }
    this.worker.onmessage = ({ data: answer }) => {
      const job = this.jobs.get(answer.id);
      this.jobs.delete(answer.id);
      if (answer.error) job.reject(new Error(answer.error));
      else job.resolve(answer);
    };
    this.worker.onerror = () => {
      // No worker after all (module workers blocked): finish on the main thread instead.
      this.worker = null;
      for (const job of this.jobs.values()) here(job.data).then(job.resolve, job.reject);
      this.jobs.clear();
    };
  }

  #exitBody() {
    const { edits, kind, baseVersion } = this;
    const cached = this.exitBody;
    if (cached?.edits === edits && cached.kind === kind && cached.base === baseVersion) {
      return cached;
    }
    const form = new FormData();
    form.append("kind", kind);
    let bytes = 1024;
    if (kind === "mask") {
      const { data, width, height } = this.buffer;
      const soft = isSoft(data);
      const blob = encodeSync(data, width, height, soft);
      form.append("mask", blob, "mask.png");
      form.append("soft", soft ? "true" : "false");
      bytes += blob.size;
    }
    if (baseVersion) form.append("base_version", baseVersion);
    this.exitBody = { edits, kind, base: baseVersion, form, bytes };
    return this.exitBody;
  }

  /** Whether leaving now could lose edits (the browser should ask first). */
  wouldLose() {
    if (!this.dirty || this.draftEdits === this.edits) return false;
    return Boolean(this.conflict || this.saving) || this.#exitBody().bytes > KEEPALIVE_BYTES;
  }

  /**
   * The tab is going away: an asynchronous save may never finish, so the last edits go out in
   * a keepalive request built synchronously (a body too large for one is sent the usual way).
   */
  flushOnExit() {
    if (!this.dirty) return;
    this.keepDraft(); // the exit request may never arrive; the draft stays until a later save
    if (this.conflict) return;
    const { form, bytes } = this.#exitBody();
    fetch(this.url, {
      method: "POST",
      body: form,
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      credentials: "same-origin",
      keepalive: bytes <= KEEPALIVE_BYTES,
    }).catch(() => {});
    this.savedEdits = this.edits;
  }
}

function sameBytes(a, b) {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
