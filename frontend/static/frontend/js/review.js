// Review panel beside the editor: the annotator submits their label and reads reviewers'
// comments; a reviewer accepts or rejects each label on the image (a rejection needs a comment).
import { api, ApiError } from "./api.js";
import { toast } from "./toast.js";
import { openNext } from "./queue.js";

const panel = document.getElementById("review-panel");
const editor = document.getElementById("editor");
const imageId = editor.dataset.image;
const me = editor.dataset.user;
const canReview = panel.dataset.canReview === "1";
const STATES = { in_progress: "in progress", submitted: "submitted", accepted: "accepted", rejected: "rejected" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, attrs);
  node.append(...children);
  return node;
}

function stateBadge(label) {
  const cls = { accepted: "succeeded", rejected: "failed", submitted: "running" }[label.state] || "saved";
  return el("span", { className: `badge badge-${cls} review-state`, textContent: STATES[label.state] });
}

function comment(label) {
  const r = label.last_review;
  if (!r || !r.comment) return "";
  return el("blockquote", { className: "review-comment", textContent: `${r.actor}: ${r.comment}` });
}

async function act(url, body, done) {
  try {
    await api(url, { method: "POST", body });
    toast(done);
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) toast("The label changed since you opened it; it is reloaded.", "error", 6000);
    else toast(err.message, "error");
  }
  await render();
}

function mine(label) {
  const box = el("div", { className: "review-mine" }, el("p", {}, "Your label: ", stateBadge(label)), comment(label));
  if (["in_progress", "rejected"].includes(label.state)) {
    const submit = el("button", { className: "btn btn-primary", id: "submit-review", type: "button", textContent: "Submit for review" });
    submit.addEventListener("click", async () => {
      // Submit what the editor holds now: wait for its autosave, then name the newest version
      // (a slow stroke can autosave twice, and the panel may have drawn the first).
      if (document.getElementById("save-state").textContent !== "saved") {
        toast("Saving your last edits; submit again in a moment.");
        return;
      }
      const fresh = (await api(`/api/images/${imageId}/labels/`)).find((l) => l.annotator === me);
      await act(`/api/labels/${label.id}/submit/`, { version: fresh.current_version.id }, "Submitted for review.");
    });
    box.append(submit);
  }
  return box;
}

const drafts = new Map();

function reviewable(label) {
  const row = el("div", { className: "review-row" },
    el("p", {}, `${label.annotator} (v${label.current_version.number}, ${label.current_version.kind}) `, stateBadge(label)),
    comment(label));
  if (!canReview) return row;
  // The panel redraws after every save; a comment being typed must survive that.
  const text = el("textarea", { className: "review-text", rows: 2, placeholder: "Comment (required to reject)", value: drafts.get(label.id) || "" });
  text.addEventListener("input", () => drafts.set(label.id, text.value));
  const accept = el("button", { className: "btn", type: "button", textContent: "Accept" });
  const reject = el("button", { className: "btn btn-quiet", type: "button", textContent: "Reject" });
  const body = (action) => ({ action, version: label.current_version.id, comment: text.value });
  accept.addEventListener("click", () => act(`/api/labels/${label.id}/review/`, body("accept"), "Accepted."));
  reject.addEventListener("click", async () => {
    await act(`/api/labels/${label.id}/review/`, body("reject"), "Rejected; the annotator sees your comment.");
    drafts.delete(label.id);
  });
  row.dataset.label = label.id;
  const buttons = el("div", { className: "inline" }, accept, reject);
  // Judge the pixels, not the summary: draw this label as the editor's read-only layer.
  const picker = document.getElementById("reference-pick");
  if (picker && label.annotator !== me && label.current_version.kind === "mask") {
    const show = el("button", { className: "btn btn-quiet", type: "button", textContent: "Show" });
    show.title = "Draw this label over the image (R hides it)";
    show.addEventListener("click", () =>
      picker.dispatchEvent(new CustomEvent("show-layer", { detail: `label:${label.id}` })));
    buttons.append(show);
  }
  row.append(text, buttons);
  return row;
}

// Renders overlap (a save and a review can both ask for one): only the newest request's
// answer is drawn, so a slow older answer never puts back a state that has changed since.
let latestRender = 0;

async function render() {
  const ticket = ++latestRender;
  const answer = await api(`/api/images/${imageId}/labels/`);
  if (ticket !== latestRender) return;
  const labels = answer.filter((l) => l.current_version && l.annotator !== "consensus");
  const own = labels.find((l) => l.annotator === me);
  document.getElementById("review-mine").replaceChildren(own ? mine(own) : el("p", { className: "muted", textContent: "Paint or mark the image; then submit it for review." }));
  const others = canReview ? labels : [];
  document.getElementById("review-others").replaceChildren(...others.map(reviewable));
  panel.dataset.ready = "1";
}

document.getElementById("queue-next").addEventListener("click", () => openNext(panel.dataset.project));

// A save makes a new version and reopens review: re-read the states when the editor says saved.
const saveState = document.getElementById("save-state");
new MutationObserver(() => { if (saveState.textContent === "saved") render().catch(() => {}); })
  .observe(saveState, { childList: true, characterData: true, subtree: true });
render().catch((err) => toast(err.message, "error"));
