// Unsaved label edits kept in this browser (IndexedDB) until the server has them. A tab closed
// while the server is unreachable, or holding a mask too large for the request a closing tab
// may still send, loses nothing: the editor offers the draft back when the image is opened.
const DB_NAME = "defect-label-drafts";
const STORE = "drafts";

let opening = null;

function openDb() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

async function inStore(mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    // Strict durability: "complete" means on disk, not only handed to the OS.
    const tx = db.transaction(STORE, mode, { durability: "strict" });
    const request = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("draft not stored"));
  });
}

export const drafts = {
  put: (key, draft) => inStore("readwrite", (store) => store.put(draft, key)),
  get: (key) => inStore("readonly", (store) => store.get(key)),
  drop: (key) => inStore("readwrite", (store) => store.delete(key)),
};
