package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The identity headers the auth sidecar sets after it has removed any a client sent
// (sidecar/.../http/IdentityHeaders.java). The app is reachable only through the sidecar (the
// Service targets the sidecar's port, the NetworkPolicy admits nothing else), so it trusts them.
const (
	headerUser     = "X-Forwarded-User" // the token's subject
	headerEmail    = "X-Forwarded-Email"
	headerUsername = "X-Forwarded-Preferred-Username"
	headerGroups   = "X-Forwarded-Groups" // comma separated
)

const (
	maxBody     = 16 * 1024
	maxNameLen  = 100
	purgeField  = "olderThan"
	contentJSON = "application/json"
)

// Identity is who the sidecar says is signed in.
type Identity struct {
	User     string
	Email    string
	Username string
	Groups   []string
}

func identityOf(r *http.Request) (Identity, bool) {
	id := Identity{
		User:     strings.TrimSpace(r.Header.Get(headerUser)),
		Email:    strings.TrimSpace(r.Header.Get(headerEmail)),
		Username: strings.TrimSpace(r.Header.Get(headerUsername)),
	}
	for _, g := range strings.Split(r.Header.Get(headerGroups), ",") {
		if g = strings.TrimSpace(g); g != "" {
			id.Groups = append(id.Groups, g)
		}
	}
	return id, id.User != ""
}

// Display is what the page calls the user: the preferred username, else the subject.
func (id Identity) Display() string {
	if id.Username != "" {
		return id.Username
	}
	return id.User
}

// hashUser is what the logs show instead of a user id: never the subject or an e-mail address.
func hashUser(user string) string {
	if user == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("where2eat-user:" + user))
	return "u-" + hex.EncodeToString(sum[:6])
}

// App serves the where2eat endpoints.
type App struct {
	store *Store
	log   *slog.Logger
}

// Handler returns every route, wrapped in the access log.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /api/places", a.listPlaces)
	mux.HandleFunc("POST /api/places", a.addPlace)
	mux.HandleFunc("GET /admin", a.admin)
	mux.HandleFunc("GET /admin/{rest...}", a.admin)
	mux.HandleFunc("GET /export", a.adminExport)
	mux.HandleFunc("GET /api/me/export", a.exportMine)
	mux.HandleFunc("DELETE /api/me", a.deleteMine)
	mux.HandleFunc("POST /api/me", a.deleteMine) // the sidecar's /.well-known/microapp/delete forwards POST or DELETE
	mux.HandleFunc("POST /internal/purge", a.purge)
	mux.HandleFunc("GET /api/whoami", whoami)
	return accessLog(a.log, securityHeaders(mux))
}

// whoami answers what reached the app, for tests through the sidecar: the path as received, the
// identity headers and every header of the forwarding and identity families, so a test can see
// that spoofed values never arrive. Values are the caller's own; nothing is stored or logged.
func whoami(w http.ResponseWriter, r *http.Request) {
	received := map[string][]string{}
	for name, values := range r.Header {
		l := strings.ToLower(name)
		if strings.HasPrefix(l, "x-forwarded-") || strings.HasPrefix(l, "x-auth-request-") || strings.HasPrefix(l, "x-real-") ||
			l == "forwarded" || l == "authorization" || l == "cookie" || l == "x-original-url" || l == "x-rewrite-url" ||
			strings.Contains(l, "client-ip") {
			received[l] = values
		}
	}
	id, _ := identityOf(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"path": r.URL.EscapedPath(), "query": r.URL.RawQuery,
		"user": id.User, "email": id.Email, "username": id.Username, "groups": id.Groups,
		"headers": received,
	})
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>where2eat</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>where2eat</h1>
{{if .Signed}}
<p id="who">Signed in as <strong>{{.ID.Display}}</strong>{{if .ID.Email}} ({{.ID.Email}}){{end}}{{if .ID.Groups}}, groups: {{range $i, $g := .ID.Groups}}{{if $i}}, {{end}}{{$g}}{{end}}{{end}}.</p>
<h2>Your places</h2>
{{if .Places}}<ul id="places">{{range .Places}}<li>{{.Name}} <small>(added {{.CreatedAt.Format "2006-01-02"}})</small></li>{{end}}</ul>
{{else}}<p id="places-empty">No places yet.</p>{{end}}
<form method="post" action="/api/places">
<label>Add a place <input name="name" required maxlength="100" autocomplete="off"></label>
<button type="submit">Add</button>
</form>
<p><a href="/api/me/export">Download my data</a> · <a href="/admin">Admin</a> · <a href="/oauth2/logout">Sign out</a></p>
{{else}}
<p id="who">Not signed in.</p>
{{end}}
</body>
</html>
`))

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	id, signed := identityOf(r)
	var places []Place
	if signed {
		var err error
		if places, err = a.store.List(id.User); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	homePage.Execute(w, map[string]any{"Signed": signed, "ID": id, "Places": places}) //nolint:errcheck
}

func (a *App) listPlaces(w http.ResponseWriter, r *http.Request) {
	id, ok := requireUser(w, r)
	if !ok {
		return
	}
	places, err := a.store.List(id.User)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(places))
}

func (a *App) addPlace(w http.ResponseWriter, r *http.Request) {
	id, ok := requireUser(w, r)
	if !ok {
		return
	}
	name, isForm, err := placeName(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	p, err := a.store.Add(id.User, name, 0)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// A browser's plain form post goes back to the page (POST-redirect-GET).
	if isForm && strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusCreated, p)
}

// placeName reads {"name": ...} or a form field name=..., trimmed and checked.
func placeName(w http.ResponseWriter, r *http.Request) (string, bool, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var name string
	isForm := false
	switch ct {
	case contentJSON:
		var body struct {
			Name string `json:"name"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			return "", false, errors.New(`expected a JSON object {"name": "..."}`)
		}
		name = body.Name
	case "application/x-www-form-urlencoded", "multipart/form-data":
		isForm = true
		if err := r.ParseForm(); err != nil {
			return "", true, errors.New("the form could not be read")
		}
		name = r.PostForm.Get("name")
	default:
		return "", false, errors.New("send application/json or a form")
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", isForm, errors.New("name is empty")
	case !utf8.ValidString(name):
		return "", isForm, errors.New("name is not UTF-8")
	case utf8.RuneCountInString(name) > maxNameLen:
		return "", isForm, errors.New("name is longer than 100 characters")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", isForm, errors.New("name contains control characters")
	}
	return name, isForm, nil
}

var adminPage = template.Must(template.New("admin").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>where2eat admin</title></head>
<body>
<h1>admin area</h1>
<p>Signed in as <strong>{{.ID.Display}}</strong>.</p>
<table>
<tr><th>places</th><td id="total">{{.Total}}</td></tr>
<tr><th>users</th><td id="users">{{.Users}}</td></tr>
<tr><th>your places</th><td id="mine">{{.Mine}}</td></tr>
</table>
<p><a href="/export">Export every place (JSON)</a></p>
</body>
</html>
`))

// admin is behind the sidecar's MFA check (adminPaths "/admin/**"); the app only renders it.
func (a *App) admin(w http.ResponseWriter, r *http.Request) {
	id, ok := requireUser(w, r)
	if !ok {
		return
	}
	total, per, err := a.store.Counts()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	adminPage.Execute(w, map[string]any{"ID": id, "Total": total, "Users": len(per), "Mine": per[id.User]}) //nolint:errcheck
}

// adminExport is every row (adminPaths "/export", MFA in the sidecar).
func (a *App) adminExport(w http.ResponseWriter, r *http.Request) {
	if _, ok := requireUser(w, r); !ok {
		return
	}
	rows, err := a.store.All()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="where2eat-all.json"`)
	writeJSON(w, http.StatusOK, map[string]any{"exportedAt": time.Now().UTC().Format(time.RFC3339), "places": nonNil(rows)})
}

// exportMine is the user's own data (retention.exportPath; the sidecar also serves it at
// /.well-known/microapp/export, with MFA, a quota and an audit record).
func (a *App) exportMine(w http.ResponseWriter, r *http.Request) {
	id, ok := requireUser(w, r)
	if !ok {
		return
	}
	places, err := a.store.List(id.User)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="where2eat-export.json"`)
	writeJSON(w, http.StatusOK, map[string]any{
		"user":       id.User,
		"exportedAt": time.Now().UTC().Format(time.RFC3339),
		"places":     nonNil(places),
	})
}

// deleteMine deletes the user's own rows (retention.deletePath) and says how many.
func (a *App) deleteMine(w http.ResponseWriter, r *http.Request) {
	id, ok := requireUser(w, r)
	if !ok {
		return
	}
	n, err := a.store.DeleteUser(id.User)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.Info("user data deleted", "user", hashUser(id.User), "deleted", n)
	writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
}

// purge is the purge runner's call (sidecar/README.md, "Purge runner", target http):
// POST olderThan=<RFC 3339 cutoff>; rows created strictly before the cutoff are deleted; the
// answer is {"deleted": N}. Only the sidecar decides who may call it: it admits nothing but the
// purge job's token on this path and removes that token before forwarding (the app never holds
// it), so the app cannot check the caller itself; its port is reachable only from its own sidecar
// (the NetworkPolicy admits the sidecar port alone).
func (a *App) purge(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "expected a form with "+purgeField)
		return
	}
	raw := r.PostForm.Get(purgeField)
	cutoff, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", purgeField+" must be an RFC 3339 instant such as 2025-01-30T10:15:30Z")
		return
	}
	n, err := a.store.DeleteOlderThan(cutoff)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.Info("purged", "cutoff", cutoff.UTC().Format(time.RFC3339), "deleted", n)
	writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
}

func requireUser(w http.ResponseWriter, r *http.Request) (Identity, bool) {
	id, ok := identityOf(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "unauthorized", "no signed-in user (the auth sidecar sets "+headerUser+")")
	}
	return id, ok
}

func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Error("request failed", "route", r.Pattern, "error", err.Error())
	writeError(w, http.StatusInternalServerError, "internal", "the request could not be completed")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentJSON)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v) //nolint:errcheck
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}

func nonNil(p []Place) []Place {
	if p == nil {
		return []Place{}
	}
	return p
}

// securityHeaders are the app's own; the sidecar adds HSTS, CSP and the rest in front.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// accessLog writes one JSON line per request: the matched route pattern (never the raw path or
// query, which could carry an e-mail address or a token), status, duration and a hashed user id.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if route == "GET /healthz" {
			return // probes every few seconds would drown the rest
		}
		attrs := []any{"method", r.Method, "route", route, "status", rec.status,
			"durationMs", time.Since(start).Milliseconds()}
		if u := r.Header.Get(headerUser); u != "" {
			attrs = append(attrs, "user", hashUser(u))
		}
		log.Info("request", attrs...)
	})
}

var landingPage = []byte(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Acme lunch</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Acme lunch</h1>
<p id="landing">Welcome! Team members find today's lunch spots in <a href="https://where2eat.apps.example.com/">where2eat</a>.</p>
<p>This page is public: it has no forms and keeps no personal data.</p>
</body>
</html>
`)

// LandingHandler is the public landing page: one static page, no data, no forms.
func LandingHandler(log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(landingPage) //nolint:errcheck
	})
	return accessLog(log, securityHeaders(mux))
}
