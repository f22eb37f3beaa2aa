package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

type testApp struct {
	t     *testing.T
	app   *App
	h     http.Handler
	logs  *bytes.Buffer
	store *Store
}

func newTestApp(t *testing.T) *testApp {
	logs := &bytes.Buffer{}
	store := newTestStore(t)
	app := &App{store: store, log: slog.New(slog.NewJSONHandler(logs, nil))}
	return &testApp{t: t, app: app, h: app.Handler(), logs: logs, store: store}
}

// do sends a request as the sidecar would forward it for user (none when user is "").
func (a *testApp) do(method, target, user string, body io.Reader, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, body)
	if user != "" {
		req.Header.Set(headerUser, user)
		req.Header.Set(headerEmail, user+"@acme.com")
		req.Header.Set(headerGroups, "food-team,admins")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if ct := rec.Header().Get("Content-Type"); ct != contentJSON {
		t.Fatalf("Content-Type %q, body %s", ct, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("not JSON: %s", rec.Body)
	}
	return v
}

func jsonBody(s string) (io.Reader, map[string]string) {
	return strings.NewReader(s), map[string]string{"Content-Type": "application/json"}
}

func TestAddAndListPlacesAsJSONAndAsAForm(t *testing.T) {
	a := newTestApp(t)
	body, h := jsonBody(`{"name": "  Pho 99 "}`)
	rec := a.do("POST", "/api/places", "ann-sub", body, h)
	if rec.Code != http.StatusCreated {
		t.Fatalf("JSON add: %d %s", rec.Code, rec.Body)
	}
	p := decode[Place](t, rec)
	if p.Name != "Pho 99" || p.User != "ann-sub" || p.ID == "" || time.Since(p.CreatedAt) > time.Minute {
		t.Fatalf("row %+v", p)
	}
	// the page's plain form, from a browser: back to the page
	rec = a.do("POST", "/api/places", "ann-sub", strings.NewReader(url.Values{"name": {"Taco Loco"}}.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html,*/*"})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Fatalf("form add: %d %v", rec.Code, rec.Header())
	}
	a.do("POST", "/api/places", "bob-sub", strings.NewReader("name=Curry+Hut"),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})

	rows := decode[[]Place](t, a.do("GET", "/api/places", "ann-sub", nil, nil))
	if len(rows) != 2 || rows[0].Name != "Pho 99" || rows[1].Name != "Taco Loco" {
		t.Fatalf("ann sees %+v", rows)
	}
	if rows := decode[[]Place](t, a.do("GET", "/api/places", "carol-sub", nil, nil)); len(rows) != 0 {
		t.Fatalf("carol sees %+v", rows)
	}
}

func TestBadPlacesAreRefused(t *testing.T) {
	a := newTestApp(t)
	for name, c := range map[string]struct{ body, ct string }{
		"empty":         {`{"name": "   "}`, "application/json"},
		"too long":      {`{"name": "` + strings.Repeat("x", 101) + `"}`, "application/json"},
		"control":       {`{"name": "a\u0000b"}`, "application/json"},
		"unknown field": {`{"name": "x", "user": "someone-else"}`, "application/json"},
		"not json":      {`name=x`, "application/json"},
		"text":          {`x`, "text/plain"},
		"huge":          {`{"name": "` + strings.Repeat("x", maxBody) + `"}`, "application/json"},
	} {
		rec := a.do("POST", "/api/places", "ann", strings.NewReader(c.body), map[string]string{"Content-Type": c.ct})
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	if total, _, _ := a.store.Counts(); total != 0 {
		t.Fatalf("%d rows stored", total)
	}
}

func TestEveryUserEndpointNeedsTheForwardedUser(t *testing.T) {
	a := newTestApp(t)
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/places"}, {"POST", "/api/places"}, {"GET", "/admin"}, {"GET", "/admin/settings"},
		{"GET", "/export"}, {"GET", "/api/me/export"}, {"DELETE", "/api/me"}, {"POST", "/api/me"},
	} {
		rec := a.do(c.method, c.path, "", strings.NewReader(`{"name":"x"}`), map[string]string{"Content-Type": "application/json"})
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s %s without a user: %d", c.method, c.path, rec.Code)
		}
	}
}

func TestHomePageShowsTheUserAndEscapesNames(t *testing.T) {
	a := newTestApp(t)
	a.store.Add("ann-sub", `<script>alert(1)</script>`, 0)
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set(headerUser, "ann-sub")
	req.Header.Set(headerUsername, "ann")
	req.Header.Set(headerEmail, "ann@acme.com")
	req.Header.Set(headerGroups, "food-team")
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	page := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(page, "Signed in as <strong>ann</strong> (ann@acme.com), groups: food-team.") {
		t.Fatalf("%d %s", rec.Code, page)
	}
	if strings.Contains(page, "<script>") || !strings.Contains(page, "&lt;script&gt;") {
		t.Fatalf("name not escaped: %s", page)
	}
	if !strings.Contains(page, `<form method="post" action="/api/places">`) {
		t.Fatal("no form")
	}
	anon := a.do("GET", "/", "", nil, nil)
	if anon.Code != 200 || !strings.Contains(anon.Body.String(), "Not signed in.") {
		t.Fatalf("anonymous: %d %s", anon.Code, anon.Body)
	}
	if rec := a.do("GET", "/nope", "ann", nil, nil); rec.Code != 404 {
		t.Fatalf("unknown path: %d", rec.Code)
	}
}

func TestAdminPageCounts(t *testing.T) {
	a := newTestApp(t)
	a.store.Add("ann", "a", 0)
	a.store.Add("ann", "b", 0)
	a.store.Add("bob", "c", 0)
	rec := a.do("GET", "/admin", "ann", nil, nil)
	body := rec.Body.String()
	for _, want := range []string{"admin area", `<td id="total">3</td>`, `<td id="users">2</td>`, `<td id="mine">2</td>`} {
		if !strings.Contains(body, want) {
			t.Errorf("admin page lacks %q: %s", want, body)
		}
	}
	all := decode[map[string]json.RawMessage](t, a.do("GET", "/export", "ann", nil, nil))
	var rows []Place
	json.Unmarshal(all["places"], &rows)
	if len(rows) != 3 {
		t.Fatalf("admin export: %d rows", len(rows))
	}
}

func TestExportAndDeleteOwnData(t *testing.T) {
	a := newTestApp(t)
	a.store.Add("ann", "Pho 99", 0)
	a.store.Add("bob", "Curry Hut", 0)
	rec := a.do("GET", "/api/me/export", "ann", nil, nil)
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", rec.Code, rec.Header())
	}
	export := decode[struct {
		User   string  `json:"user"`
		Places []Place `json:"places"`
	}](t, rec)
	if export.User != "ann" || len(export.Places) != 1 || export.Places[0].Name != "Pho 99" {
		t.Fatalf("export %+v", export)
	}
	// DELETE (the app's own path) and POST (what the sidecar's well-known delete forwards)
	if got := decode[map[string]int](t, a.do("DELETE", "/api/me", "ann", nil, nil)); got["deleted"] != 1 {
		t.Fatalf("delete: %v", got)
	}
	if got := decode[map[string]int](t, a.do("POST", "/api/me", "ann", nil, nil)); got["deleted"] != 0 {
		t.Fatalf("second delete: %v", got)
	}
	if total, per, _ := a.store.Counts(); total != 1 || per["bob"] != 1 {
		t.Fatalf("bob's row must stay: %d %v", total, per)
	}
	if rec := a.do("GET", "/api/me", "ann", nil, nil); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /api/me: %d", rec.Code)
	}
}

func TestPurgeFollowsTheRunnersContract(t *testing.T) {
	a := newTestApp(t)
	now := time.Now().UTC()
	a.store.Add("ann", "old", 40*24*time.Hour)
	a.store.Add("bob", "old too", 31*24*time.Hour)
	a.store.Add("ann", "recent", 24*time.Hour)
	cutoff := now.Add(-30 * 24 * time.Hour).Truncate(time.Second).Format(time.RFC3339)
	// as the sidecar forwards it: without the job's token, which it removes
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}

	for _, bad := range []string{"", "olderThan=yesterday", "olderThan=2025-01-30", "olderThan=1700000000"} {
		if rec := a.do("POST", "/internal/purge", "", strings.NewReader(bad), form); rec.Code != 400 {
			t.Errorf("%q: %d", bad, rec.Code)
		}
	}
	if total, _, _ := a.store.Counts(); total != 3 {
		t.Fatalf("refused calls deleted rows: %d left", total)
	}

	rec := a.do("POST", "/internal/purge", "", strings.NewReader("olderThan="+url.QueryEscape(cutoff)), form)
	if rec.Code != 200 {
		t.Fatalf("purge: %d %s", rec.Code, rec.Body)
	}
	// exactly the body HttpPurge.deletedCount accepts: a JSON object with a whole "deleted" >= 0
	if strings.TrimSpace(rec.Body.String()) != `{"deleted":2}` {
		t.Fatalf("answer %q", rec.Body)
	}
	rows, _ := a.store.All()
	if len(rows) != 1 || rows[0].Name != "recent" {
		t.Fatalf("left %+v", rows)
	}
	// a second run finds nothing
	rec = a.do("POST", "/internal/purge", "", strings.NewReader("olderThan="+url.QueryEscape(cutoff)), form)
	if strings.TrimSpace(rec.Body.String()) != `{"deleted":0}` {
		t.Fatalf("second run %q", rec.Body)
	}
	if rec := a.do("GET", "/internal/purge", "", nil, form); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET purge: %d", rec.Code)
	}
}

func TestLogsCarryNoUserIdsEmailsTokensOrPaths(t *testing.T) {
	a := newTestApp(t)
	body, h := jsonBody(`{"name": "Pho 99"}`)
	a.do("POST", "/api/places", "ann-sub", body, h)
	a.do("GET", "/api/me/export", "ann-sub", nil, nil)
	a.do("DELETE", "/api/me", "ann-sub", nil, nil)
	a.do("GET", "/nope/ann@acme.com?token=secret-query", "ann-sub", nil, map[string]string{"Cookie": "session=secret-cookie"})
	a.do("POST", "/internal/purge", "", strings.NewReader("olderThan=2025-01-30T10:15:30Z"),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer secret-token"})
	logs := a.logs.String()
	for _, leak := range []string{"ann-sub", "acme.com", "secret", "Pho 99", "nope"} {
		if strings.Contains(logs, leak) {
			t.Errorf("log contains %q:\n%s", leak, logs)
		}
	}
	if !strings.Contains(logs, hashUser("ann-sub")) || !strings.Contains(logs, `"route":"POST /api/places"`) ||
		!strings.Contains(logs, `"route":"unmatched"`) {
		t.Errorf("expected hashed user and routes:\n%s", logs)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("not a JSON line: %s", line)
		}
	}
}

func TestLandingServesOnlyItsPage(t *testing.T) {
	h := LandingHandler(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	for path, want := range map[string]int{"/": 200, "/healthz": 200, "/api/places": 404, "/admin": 404} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", path, rec.Code, want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader("x")))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", rec.Code)
	}
}

func TestWhoamiEchoesIdentityAndForwardingHeadersOnly(t *testing.T) {
	a := newTestApp(t)
	rec := a.do("GET", "/api/whoami?x=1", "ann-sub", nil, map[string]string{
		"X-Forwarded-Groups": "food-team,admins", "X-Forwarded-For": "203.0.113.7", "X-Auth-Request-User": "spoofed",
		"User-Agent": "test", "Forwarded": "for=1.2.3.4"})
	if rec.Code != 200 {
		t.Fatalf("whoami: %d", rec.Code)
	}
	var got struct {
		Path, Query, User string
		Groups            []string
		Headers           map[string][]string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Path != "/api/whoami" || got.Query != "x=1" || got.User != "ann-sub" || len(got.Groups) != 2 {
		t.Fatalf("identity %+v", got)
	}
	for _, h := range []string{"x-forwarded-for", "x-auth-request-user", "forwarded", "x-forwarded-user"} {
		if _, ok := got.Headers[h]; !ok {
			t.Errorf("%s not echoed: %v", h, got.Headers)
		}
	}
	if _, ok := got.Headers["user-agent"]; ok {
		t.Errorf("unrelated header echoed: %v", got.Headers)
	}
}
