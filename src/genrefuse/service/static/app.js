// genrefuse page: sign in, upload and classify, browse and correct by genre, recommendations and likes.
"use strict";
const $ = (id) => document.getElementById(id);
const known = JSON.parse(localStorage.getItem("genrefuse-users") || "{}");   // name -> token, this browser only
let me = null;                // {id, name, admin, token} of the signed-in listener
let genres = [];
let currentGenre = null;      // null: all genres
const PAGE = 25;              // tracks a page of the library shows
let offset = 0;               // the first track of the page shown

// an error answer's detail: one line, or the list of validation problems (422)
function detailText(body, status, statusText) {
  if (typeof body.detail === "string") return body.detail;
  if (Array.isArray(body.detail) && body.detail.length) return body.detail.map((d) => d.msg).join("; ");
  return `${status} ${statusText}`;
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (me && !headers.Authorization) headers.Authorization = `Bearer ${me.token}`;
  const res = await fetch(path, { ...options, headers });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(detailText(body, res.status, res.statusText));
  return body;
}

// Several actions refresh a list at once (signing in, an upload, a like): each list shows the answer to the
// latest request for it, never an older one that happened to arrive last.
const asked = {};
function ask(list) {
  const n = (asked[list] = (asked[list] || 0) + 1);
  return () => asked[list] === n;      // still the latest?
}

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  for (const c of children) e.append(c);
  return e;
}

function say(id, text, kind = "") {
  // a new message replaces every older one: "Liked …" or an error must not outlive the next action
  if (text) for (const s of document.querySelectorAll("[role=status]")) if (s.id !== id) s.textContent = "";
  $(id).className = kind || "muted";
  $(id).textContent = text;
}

// ------------------------------------------------------------------ listener: sign in by token or create
function saveKnown() { localStorage.setItem("genrefuse-users", JSON.stringify(known)); }

async function signIn(token, { quiet = false } = {}) {
  try {
    const u = await api("/api/me", { headers: { Authorization: `Bearer ${token}` } });
    me = { id: u.id, name: u.name, admin: u.admin, token };
    known[u.name] = token;
    saveKnown();
    localStorage.setItem("genrefuse-current", u.name);
    if (!quiet) say("token-status", `Signed in as ${u.name}.`, "ok");
  } catch (err) {
    if (!quiet) say("token-status", err.message, "error");
    return false;
  }
  showListener();
  await Promise.all([refreshRecommendations(), refreshLiked(), refreshTracks(), refreshReview()]);
  return true;
}

function signOut() {
  me = null;
  const player = $("player");
  player.pause();                      // nothing keeps playing for the listener who left
  player.removeAttribute("src");
  player.hidden = true;
  $("new-token").hidden = true;
  $("token-value").textContent = "";
  localStorage.removeItem("genrefuse-current");
  showListener();
  refreshRecommendations();
  refreshLiked();
  refreshTracks();
  refreshReview();
}

function mayChange(t) {
  // the server's rule (library.Library._writable): the listener who added a track, or an admin
  return !!me && (me.admin || t.added_by === me.id);
}

function showRole() {
  // who may correct what, and how to become an admin, said before anyone clicks
  $("role-hint").textContent = !me ? "Sign in to correct genres: a listener may correct and remove the tracks they added."
    : me.admin ? "You are an admin: you may correct and remove any track."
    : "You may correct and remove the tracks you added. To correct any track, whoever runs the server makes you " +
      `an admin: genrefuse users admin ${me.name} --library LIBRARY (then reload this page).`;
}

function showListener() {
  showRole();
  $("signed-in").hidden = !me;
  $("sign-in-forms").hidden = !!me;
  $("me-name").textContent = me ? me.name : "";
  $("rec-user").textContent = me ? me.name : "—";
  $("upload").classList.toggle("locked", !me);
  if (!me) say("upload-status", "Sign in (or create a listener) to upload.");
  else if ($("upload-status").textContent.startsWith("Sign in")) say("upload-status", "");
  $("known-users").replaceChildren(...Object.keys(known).sort().filter((n) => !me || n !== me.name).map((n) =>
    el("button", { className: "chip", type: "button", textContent: `switch to ${n}`, onclick: () => signIn(known[n]) })));
}

$("token-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  signIn($("token-input").value.trim()).then((ok) => { if (ok) $("token-input").value = ""; });
});

$("user-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = $("user-name").value.trim();
  const likes = [...document.querySelectorAll("#like-boxes input:checked")].map((i) => i.value);
  try {
    const u = await api("/api/users", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name, likes }) });
    say("user-status", "");
    await signIn(u.token, { quiet: true });
    // the sign-up form is hidden once signed in: the token is shown where the listener now looks
    showToken(u.token);
  } catch (err) {
    say("user-status", err.message, "error");
  }
});

function showToken(token) {
  $("token-value").textContent = token;
  $("copy-status").textContent = "";
  $("new-token").hidden = false;
}

$("sign-out").addEventListener("click", signOut);
$("rotate-token").addEventListener("click", async () => {
  try {
    const { token } = await api("/api/me/token", { method: "POST" });
    me.token = token;
    known[me.name] = token;
    saveKnown();
    showToken(token);
  } catch (err) {
    say("token-status", err.message, "error");
  }
});
$("copy-token").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("token-value").textContent);
    $("copy-status").textContent = "copied";
  } catch (_) {            // no clipboard permission: select it for Ctrl-C instead
    getSelection().selectAllChildren($("token-value"));
    $("copy-status").textContent = "selected: press Ctrl-C";
  }
});

// ------------------------------------------------------------------ upload with progress
function showBars(probabilities) {
  const sorted = Object.entries(probabilities).sort((a, b) => b[1] - a[1]);
  $("bars").replaceChildren(...sorted.map(([g, p], i) => el("div", { className: "bar" + (i === 0 ? " top" : ""), title: g },
    el("span", { textContent: g }),
    el("div", { className: "fill", style: `width:${(100 * p).toFixed(1)}%` }),
    el("span", { className: "muted", textContent: (100 * p).toFixed(1) + "%" }))));
}

function confidenceText(t) {
  if (t.unknown) return `unlike every genre the model knows (closest: ${t.genre}, ${Math.round(100 * t.confidence)}%)`;
  return `${Math.round(100 * t.confidence)}% confident` + (t.unsure ? " (unsure: please check)" : "");
}

function postFile(file, onProgress) {
  // XMLHttpRequest, not fetch: only it reports upload progress
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/tracks");
    xhr.setRequestHeader("Authorization", `Bearer ${me.token}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.upload.onload = () => onProgress(1);
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new Error(detailText(body, xhr.status, xhr.statusText)));
    };
    xhr.onerror = () => reject(new Error("the upload failed (network error)"));
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}

async function upload(file) {
  if (!me) { say("upload-status", "Sign in (or create a listener) to upload.", "error"); return; }
  $("result").hidden = true;        // a failed upload must not leave the previous answer on screen
  $("bars").replaceChildren();
  const bar = $("upload-progress");
  bar.hidden = false;
  bar.value = 0;
  say("upload-status", `Uploading ${file.name}…`);
  try {
    const t = await postFile(file, (f) => {
      bar.value = Math.round(100 * f);
      if (f >= 1) say("upload-status", `Classifying ${file.name}…`);
    });
    say("upload-status", t.created ? "Stored in the library." : "Already in the library.", "ok");
    $("result").hidden = false;
    $("result-genre").textContent = t.unknown ? "none of these (unknown)" : t.genre;
    $("result-confidence").textContent = confidenceText(t);
    $("result-confidence").className = t.unsure || t.unknown ? "unsure" : "muted";
    $("result-name").textContent = t.name;
    $("result-styles").textContent = t.styles.length ? `styles: ${t.styles.map((x) => x.name).join(", ")}` : "";
    showBars(t.probabilities);
    await Promise.all([refreshTracks(), refreshRecommendations(), refreshReview()]);
  } catch (err) {
    say("upload-status", err.message.includes(file.name) ? err.message : `${file.name}: ${err.message}`, "error");
  } finally {
    bar.hidden = true;
  }
}

$("file-input").addEventListener("change", (ev) => { if (ev.target.files[0]) upload(ev.target.files[0]); ev.target.value = ""; });
const drop = $("drop");
drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (ev) => {
  ev.preventDefault();
  drop.classList.remove("over");
  if (ev.dataTransfer.files[0]) upload(ev.dataTransfer.files[0]);
});

// ------------------------------------------------------------------ library: browse, play, correct
function play(t) {
  const p = $("player");
  p.hidden = false;
  p.src = `/api/tracks/${t.id}/audio`;
  p.play().catch(() => {});
}

function genreTag(t) {
  const doubt = !t.confirmed && (t.unsure || t.unknown || t.needs_look);   // needs_look: as /api/review lists it
  const label = t.confirmed ? `${t.genre} ✓` : t.unknown ? `unknown (closest ${t.genre})` : t.genre + (doubt ? "?" : "");
  return el("span", { className: "tag" + (doubt ? " unsure" : "") + (t.confirmed ? " confirmed" : ""),
    textContent: label, title: t.confirmed ? "genre confirmed by a listener" : confidenceText(t) });
}

const NEW_GENRE = "\u0000new";     // the select's "a new genre…" choice (no genre can be named so)

async function correct(t, genre, isNew, statusId) {
  // PATCH the genre; a new genre is sent with new: true so that a typo of a known one is never added by accident
  try {
    const fixed = await api(`/api/tracks/${t.id}`, { method: "PATCH", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ genre, new: isNew }) });
    say(statusId, `${fixed.name} is now filed under ${fixed.genre}.`, "ok");
    await Promise.all([refreshTracks(), refreshRecommendations(), refreshReview()]);
  } catch (err) {
    say(statusId, err.message, "error");
  }
}

function displayName(t) {
  // artist and title from the file's tags; else the file name without its extension and underscores
  if (t.artist && t.title) return `${t.artist} – ${t.title}`;
  if (t.title) return t.title;
  return t.name.replace(/\.[A-Za-z0-9]{2,4}$/, "").replace(/_+/g, " ").trim() || t.name;
}

function feel(t) {
  // the tempo, energy and the tagger's moods, where known: "123 bpm · energy 0.82 · party, chill"
  const parts = [t.bpm ? `${Math.round(t.bpm)} bpm` : "", t.energy != null ? `energy ${t.energy.toFixed(2)}` : "",
    (t.moods || []).map((m) => m.name).join(", ")].filter(Boolean);
  return parts.length ? [el("span", { className: "muted feel", textContent: parts.join(" · ") })] : [];
}

function trackItem(t, extra = []) {
  const li = el("li", {}, el("button", { textContent: "▶", title: "play", onclick: () => play(t) }),
    el("span", { className: "name", textContent: displayName(t), title: t.name }),
    genreTag(t), ...feel(t), ...extra);
  li.dataset.id = t.id;
  return li;
}

function fixControl(t) {
  // "wrong genre?" opens a choice of genres; saving moves the file and marks the label confirmed. Shown only to
  // those who may change the track (its uploader, an admin): nobody is offered what the server would refuse
  if (!mayChange(t)) return [];
  const box = el("span", { className: "fix" });
  const open = el("button", { className: "link wrong", type: "button", textContent: "wrong genre?",
    title: "file it under another genre (the file moves; the label counts as confirmed)" });
  open.onclick = () => {
    if (!me) { say("library-status", "Sign in to correct a genre.", "error"); return; }
    const select = el("select", { ariaLabel: `right genre for ${t.name}` },
      ...genres.map((g) => el("option", { value: g, textContent: g, selected: g === t.genre })),
      el("option", { value: NEW_GENRE, textContent: "a new genre…" }));
    const name = el("input", { className: "new-genre", placeholder: "new genre", maxLength: 64, hidden: true,
      ariaLabel: `new genre for ${t.name}` });
    select.onchange = () => { name.hidden = select.value !== NEW_GENRE; if (!name.hidden) name.focus(); };
    const save = el("button", { type: "button", className: "save", textContent: "save" });
    save.onclick = () => {
      const isNew = select.value === NEW_GENRE;
      if (isNew && !name.value.trim()) { say("library-status", "Type the new genre's name.", "error"); return; }
      correct(t, isNew ? name.value.trim() : select.value, isNew, "library-status");
    };
    box.replaceChildren(select, name, save);
  };
  box.append(open);
  return [box];
}

function likeControl(t) {
  // "more like this": the library's tracks nearest it by their sound, and a radio (M3U) walking from it
  return el("button", { className: "link like", type: "button", textContent: "more like this",
    title: "the tracks that sound most like this one", onclick: () => showSimilar(t) });
}

async function showSimilar(t) {
  $("similar").hidden = false;
  $("similar-seed").textContent = displayName(t);
  $("similar-list").replaceChildren();
  $("radio-link").href = `/api/tracks/${t.id}/radio.m3u8?limit=20`;
  $("radio-link").download = `radio - ${displayName(t)}.m3u8`;
  say("similar-status", "Listening for similar tracks…");
  try {
    const r = await api(`/api/tracks/${t.id}/similar?limit=10`);
    $("similar-list").replaceChildren(...r.tracks.map((s) => trackItem(s.track,
      [el("span", { className: "muted similarity", textContent: `${Math.round(100 * s.similarity)}% alike` })])));
    const left = r.unembedded ? ` (${r.unembedded} older tracks not compared yet: \`genrefuse similar\` compares them once)` : "";
    say("similar-status", r.tracks.length ? `The ${r.tracks.length} that sound most alike${left}.`
      : `No other track to compare with yet${left}.`, "ok");
  } catch (err) {
    say("similar-status", err.message, "error");
  }
  $("similar").scrollIntoView({ block: "nearest" });
}

function removeControl(t) {
  // the track's uploader or an admin: two clicks, so that one slip removes nothing
  if (!me || !(me.admin || t.added_by === me.id)) return [];
  const b = el("button", { type: "button", className: "remove", textContent: "remove", title: "remove this track from the library" });
  b.onclick = async () => {
    if (!b.classList.contains("really")) { b.classList.add("really"); b.textContent = "really remove?"; return; }
    try {
      const gone = await api(`/api/tracks/${t.id}`, { method: "DELETE" });
      say("library-status", `Removed ${displayName(gone)}.`, "ok");
      await Promise.all([refreshTracks(), refreshRecommendations(), refreshLiked(), refreshReview()]);
    } catch (err) {
      say("library-status", err.message, "error");
    }
  };
  return [b];
}

function chart(list) {
  // tracks per genre, as bars: where the library stands at a glance
  const most = Math.max(1, ...list.map((g) => g.count));
  $("genre-chart").replaceChildren(...list.filter((g) => g.count).map((g) => el("div", { className: "row", title: `${g.genre}: ${g.count}` },
    el("span", { textContent: g.genre }), el("div", { className: "fill", style: `width:${(100 * g.count / most).toFixed(1)}%` }),
    el("span", { className: "muted", textContent: String(g.count) }))));
}

async function refreshTracks() {
  const latest = ask("tracks");
  const { genres: list } = await api("/api/genres");
  if (!latest()) return;
  genres = list.map((g) => g.genre);
  chart(list);
  const total = list.reduce((n, g) => n + g.count, 0);
  const chip = (label, value) => el("button", { className: "chip" + (value === currentGenre ? " active" : ""),
    textContent: label, onclick: () => { currentGenre = value; offset = 0; refreshTracks(); } });
  $("genre-list").replaceChildren(chip(`all (${total})`, null), ...list.map((g) => chip(`${g.genre} (${g.count})`, g.genre)));
  const params = new URLSearchParams({ limit: PAGE, offset, sort: $("sort").value });
  if (currentGenre) params.set("genre", currentGenre);
  if ($("mood").value) params.set("mood", $("mood").value);
  if ($("energy").value) params.set("energy", $("energy").value);
  if ($("search").value.trim()) params.set("q", $("search").value.trim());
  const page = await api(`/api/tracks?${params}`);
  if (!latest()) return;
  if (!page.tracks.length && offset > 0) { offset = Math.max(0, offset - PAGE); return refreshTracks(); }
  $("track-list").replaceChildren(...(page.tracks.length ? page.tracks.map((t) => trackItem(t, [...fixControl(t), likeControl(t), ...removeControl(t)]))
    : [el("li", { className: "muted", textContent: $("search").value.trim() ? "No track matches." : "No tracks here yet." })]));
  $("page-info").textContent = page.total ? `${offset + 1}–${offset + page.tracks.length} of ${page.total}` : "";
  $("prev-page").disabled = offset === 0;
  $("next-page").disabled = offset + page.tracks.length >= page.total;
  if (!$("like-boxes").children.length) {
    $("like-boxes").replaceChildren(...genres.map((g) => el("label", { className: "chip" },
      el("input", { type: "checkbox", value: g, name: "likes" }), " " + g)));
  }
}

$("prev-page").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); refreshTracks(); });
$("next-page").addEventListener("click", () => { offset += PAGE; refreshTracks(); });
$("sort").addEventListener("change", () => { offset = 0; refreshTracks(); });
$("mood").addEventListener("change", () => { offset = 0; refreshTracks(); });
$("energy").addEventListener("change", () => { offset = 0; refreshTracks(); });
let searchTimer = null;
$("search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => { offset = 0; refreshTracks(); }, 250);     // one request when typing pauses
});

// ------------------------------------------------------------------ review: tracks that need a person
async function refreshReview() {
  const latest = ask("review");
  const { tracks } = await api("/api/review?limit=50");
  if (!latest()) return;
  $("review-list").replaceChildren(...(tracks.length ? tracks.map((r) => {
    const tagged = r.tagged.length ? ` (tagged ${r.tagged.join(", ")})` : "";
    // the stored file's name, without the library's " [hash8]" and the extension
    const t = { id: r.id, added_by: r.added_by, name: r.file.split("/").pop().replace(/ \[[0-9a-f]{8}\](\.\w+)?$/, "").replace(/\.\w{2,4}$/, "") };
    const accept = el("button", { type: "button", className: "accept", textContent: `make it ${r.suggested}`,
      onclick: () => correct(t, r.suggested, false, "review-status") });
    const keep = el("button", { type: "button", className: "keep", textContent: `keep ${r.genre}`,
      onclick: () => correct(t, r.genre, false, "review-status") });
    const actions = !mayChange(t) ? [] : r.suggested === r.genre ? [keep] : [accept, keep];   // "make it X": another X
    const li = el("li", {}, el("span", { className: "tag unsure", textContent: r.reason, title: r.why }),
      el("span", { className: "name", textContent: t.name, title: r.file }),
      el("span", { className: "muted", textContent: r.suggested === r.genre ? `${r.genre}${tagged} ${Math.round(100 * r.confidence)}%`
        : `${r.genre}${tagged} → ${r.suggested} ${Math.round(100 * r.confidence)}%` }),
      ...actions);
    li.dataset.id = r.id;
    li.dataset.reason = r.reason;
    return li;
  }) : [el("li", { className: "muted", textContent: "Nothing to review." })]));
}

// ------------------------------------------------------------------ recommendations, like/skip, liked list
async function refreshRecommendations() {
  const latest = ask("recommendations");
  if (!me) { $("rec-list").replaceChildren(); return; }
  try {
    const { recommendations } = await api("/api/me/recommendations");
    if (!latest()) return;
    if (!recommendations.length) {
      $("rec-list").replaceChildren(el("li", { className: "muted", textContent: "Nothing new to recommend yet." }));
      return;
    }
    $("rec-list").replaceChildren(...recommendations.map((r) => {
      const why = [];
      if (r.because.length) why.push(`because: ${r.because.map((b) => b.genre).join(", ")}`);
      if (r.liked_with) why.push(`listeners who liked ${r.liked_with.name} liked this`);
      if (r.sounds_like) why.push(`sounds like ${r.sounds_like.name}, which you liked`);
      const act = (action) => el("button", { textContent: action, className: action, onclick: async () => {
        try {
          await api("/api/me/feedback", { method: "POST", headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ track_id: r.track.id, action }) });
          say("rec-status", action === "like" ? `Liked ${displayName(r.track)}.` : `Skipped ${displayName(r.track)}: fewer like it.`, "ok");
          await Promise.all([refreshRecommendations(), refreshLiked()]);
        } catch (err) {
          say("rec-status", err.message, "error");
        }
      } });
      return trackItem(r.track, [el("span", { className: "muted because", textContent: why.join("; ") }),
        act("like"), act("skip")]);
    }));
  } catch (err) {
    if (latest()) $("rec-list").replaceChildren(el("li", { className: "error", textContent: err.message }));
  }
}

async function refreshLiked() {
  const latest = ask("liked");
  if (!me) { $("liked-list").replaceChildren(); return; }
  const { feedback } = await api("/api/me/feedback");
  if (!latest()) return;
  const liked = feedback.filter((f) => f.action === "like");
  const unlike = (f) => el("button", { type: "button", className: "unlike", textContent: "unlike", onclick: async () => {
    try {
      await api(`/api/me/feedback/${f.track_id}`, { method: "DELETE" });
      say("rec-status", `No longer liked: ${displayName(f.track)}.`, "ok");
      await Promise.all([refreshRecommendations(), refreshLiked()]);
    } catch (err) {
      say("rec-status", err.message, "error");
    }
  } });
  $("liked-list").replaceChildren(...(liked.length ? liked.map((f) => trackItem(f.track, [unlike(f)]))
    : [el("li", { className: "muted", textContent: "Nothing liked yet." })]));
}

// ------------------------------------------------------------------ start
(async () => {
  const h = await api("/api/health");
  $("model-line").textContent = `Genres it knows: ${h.model_genres.join(", ")}`;
  $("user-form").hidden = !h.signup;
  showListener();
  await Promise.all([refreshTracks(), refreshReview()]);
  const current = localStorage.getItem("genrefuse-current");
  if (current && known[current]) await signIn(known[current], { quiet: true });
})();
