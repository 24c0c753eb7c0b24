// The annotator's queue: claim the next image (the server respects the project's overlap) and open it.
import { api } from "./api.js";
import { toast } from "./toast.js";

export async function openNext(projectId) {
  try {
    const q = await api(`/api/projects/${projectId}/queue/`);
    // Labels a reviewer sent back come first: someone waits on them.
    if (q.rejected.length) { location.href = `/images/${q.rejected[0].image}/label/`; return; }
    const image = await api(`/api/projects/${projectId}/queue/`, { method: "POST" });
    if (!image) { toast("Nothing left to label in this project."); return; }  // 204
    location.href = `/images/${image.id}/label/`;
  } catch (err) { toast(err.message, "error"); }
}
