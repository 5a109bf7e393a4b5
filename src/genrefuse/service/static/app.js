// genrefuse page: upload and classify, browse by genre, listeners and their recommendations.
"use strict";
const $ = (id) => document.getElementById(id);
const users = JSON.parse(localStorage.getItem("genrefuse-users") || "{}");   // name -> token
let genres = [];
let currentGenre = null;

async function api(path, options = {}) {
  const res = await fetch(path, options);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(typeof body.detail === "string" ? body.detail : `${res.status} ${res.statusText}`);
  return body;
}

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  for (const c of children) e.append(c);
  return e;
}

function showBars(probabilities) {
  const sorted = Object.entries(probabilities).sort((a, b) => b[1] - a[1]);
  $("bars").replaceChildren(...sorted.map(([g, p], i) => el("div", { className: "bar" + (i === 0 ? " top" : ""), title: g },
    el("span", { textContent: g }),
    el("div", { className: "fill", style: `width:${(100 * p).toFixed(1)}%` }),
    el("span", { className: "muted", textContent: (100 * p).toFixed(1) + "%" }))));
}

async function upload(file) {
  $("upload-status").className = "";
  $("upload-status").textContent = `Classifying ${file.name}…`;
  $("result").hidden = true;        // a failed upload must not leave the previous answer on screen
  const form = new FormData();
  form.append("file", file);
  try {
    const t = await api("/api/tracks", { method: "POST", body: form });
    $("upload-status").textContent = t.created ? "Stored in the library." : "Already in the library.";
    $("result").hidden = false;
    $("result-genre").textContent = t.genre;
    $("result-confidence").textContent = `${Math.round(100 * t.confidence)}% confident` + (t.unsure ? " (unsure)" : "");
    $("result-confidence").className = t.unsure ? "unsure" : "muted";
    $("result-name").textContent = t.name;
    showBars(t.probabilities);
    await refreshGenres();
    await refreshRecommendations();
  } catch (err) {
    $("upload-status").className = "error";
    $("upload-status").textContent = err.message;
  }
}

function trackItem(t, extra = []) {
  const play = el("button", { textContent: "▶", title: "play", onclick: () => play_(t) });
  const li = el("li", {}, play, el("span", { className: "name", textContent: t.name }),
    el("span", { className: "tag" + (t.unsure ? " unsure" : ""), textContent: t.genre + (t.unsure ? "?" : ""),
      title: `${Math.round(100 * t.confidence)}% confident` + (t.unsure ? " (unsure)" : "") }), ...extra);
  li.dataset.id = t.id;
  return li;
}

function play_(t) {
  const p = $("player");
  p.hidden = false;
  p.src = `/api/tracks/${t.id}/audio`;
  p.play().catch(() => {});
}

async function refreshGenres() {
  const { genres: list } = await api("/api/genres");
  genres = list.map((g) => g.genre);
  $("genre-list").replaceChildren(...list.map((g) => el("button", {
    className: "chip" + (g.genre === currentGenre ? " active" : ""), textContent: `${g.genre} (${g.count})`,
    onclick: () => { currentGenre = currentGenre === g.genre ? null : g.genre; refreshGenres(); } })));
  const q = currentGenre ? `?genre=${encodeURIComponent(currentGenre)}` : "";
  const { tracks } = await api(`/api/tracks${q}`);
  $("track-list").replaceChildren(...tracks.map((t) => trackItem(t)));
  if (!$("like-boxes").children.length) {
    $("like-boxes").replaceChildren(...genres.map((g) => el("label", { className: "chip" },
      el("input", { type: "checkbox", value: g, name: "likes" }), " " + g)));
  }
}

function refreshUsers(selected) {
  const names = Object.keys(users).sort();
  $("user-select").replaceChildren(el("option", { value: "", textContent: "(none)" }),
    ...names.map((n) => el("option", { value: n, textContent: n })));
  if (selected) $("user-select").value = selected;
}

async function refreshRecommendations() {
  const name = $("user-select").value;
  $("rec-user").textContent = name || "—";
  if (!name) { $("rec-list").replaceChildren(); return; }
  const auth = { Authorization: `Bearer ${users[name]}` };
  try {
    const { recommendations } = await api("/api/me/recommendations", { headers: auth });
    if (!recommendations.length) {
      $("rec-list").replaceChildren(el("li", { className: "muted", textContent: "Nothing new to recommend yet." }));
      return;
    }
    $("rec-list").replaceChildren(...recommendations.map((r) => {
      const because = r.because.map((b) => b.genre).join(", ");
      const act = (action) => el("button", { textContent: action, className: action, onclick: async () => {
        await api("/api/me/feedback", { method: "POST", headers: { ...auth, "Content-Type": "application/json" },
          body: JSON.stringify({ track_id: r.track.id, action }) });
        refreshRecommendations();
      } });
      return trackItem(r.track, [el("span", { className: "muted", textContent: because ? `because: ${because}` : "" }),
        act("like"), act("skip")]);
    }));
  } catch (err) {
    $("rec-list").replaceChildren(el("li", { className: "error", textContent: err.message }));
  }
}

$("user-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = $("user-name").value.trim();
  const likes = [...document.querySelectorAll("#like-boxes input:checked")].map((i) => i.value);
  try {
    const u = await api("/api/users", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name, likes }) });
    users[u.name] = u.token;
    localStorage.setItem("genrefuse-users", JSON.stringify(users));
    $("user-status").textContent = `Created ${u.name}.`;
    refreshUsers(u.name);
    refreshRecommendations();
  } catch (err) {
    $("user-status").textContent = err.message;
  }
});

$("user-select").addEventListener("change", refreshRecommendations);
$("file-input").addEventListener("change", (ev) => { if (ev.target.files[0]) upload(ev.target.files[0]); });
const drop = $("drop");
drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (ev) => {
  ev.preventDefault();
  drop.classList.remove("over");
  if (ev.dataTransfer.files[0]) upload(ev.dataTransfer.files[0]);
});

(async () => {
  const h = await api("/api/health");
  $("model-line").textContent = `model ${h.model} · genres: ${h.genres.join(", ")}`;
  refreshUsers();
  await refreshGenres();
})();
