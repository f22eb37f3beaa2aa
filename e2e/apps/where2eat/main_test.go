package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSeedAndCountShareTheServersFile(t *testing.T) {
	t.Setenv("DATA_DIR", filepath.Join(t.TempDir(), "d"))
	if code, out, errOut := runCmd(t, "seed", "--user", "ann", "--name", "Old place", "--age", "40d"); code != 0 ||
		!strings.Contains(out, `"user": "ann"`) {
		t.Fatalf("seed: %d %s %s", code, out, errOut)
	}
	runCmd(t, "seed", "--user", "bob", "--name", "New place")
	code, out, _ := runCmd(t, "count")
	var c struct {
		Total   int            `json:"total"`
		PerUser map[string]int `json:"perUser"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil || c.Total != 2 || c.PerUser["ann"] != 1 {
		t.Fatalf("count: %d %s", code, out)
	}
	if code, _, _ := runCmd(t, "seed", "--user", "ann"); code != 2 {
		t.Fatalf("seed without a name: %d", code)
	}
	if code, _, _ := runCmd(t, "seed", "--user", "ann", "--name", "x", "--age", "forever"); code != 2 {
		t.Fatalf("bad age: %d", code)
	}
}

func TestSelfcheckReportsTheProcess(t *testing.T) {
	t.Setenv("DATA_DIR", filepath.Join(t.TempDir(), "d"))
	t.Setenv("SOME_SECRET", "do-not-print-me")
	code, out, errOut := runCmd(t, "selfcheck")
	if code != 0 {
		t.Fatalf("%d %s", code, errOut)
	}
	if strings.Contains(out, "do-not-print-me") {
		t.Fatal("selfcheck printed an environment value")
	}
	var c SelfCheck
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if c.UID != os.Getuid() || c.Status["CapBnd"] == "" || c.Status["NoNewPrivs"] == "" || c.SeccompMode == "" {
		t.Fatalf("%+v", c)
	}
	if !c.Writable[os.Getenv("DATA_DIR")].Writable {
		t.Fatalf("data dir not writable: %+v", c.Writable)
	}
	found := false
	for _, n := range c.EnvNames {
		found = found || n == "SOME_SECRET"
	}
	if !found || len(c.Mounts) == 0 || c.Mounts[0].MountPoint == "" {
		t.Fatalf("env names %v, mounts %v", c.EnvNames, c.Mounts)
	}
}

func TestMountinfoParsing(t *testing.T) {
	f := filepath.Join(t.TempDir(), "mountinfo")
	os.WriteFile(f, []byte("22 1 0:21 / / ro,relatime master:1 - overlay overlay rw,lowerdir=/a\n"+
		"23 22 0:22 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw,size=65536k\n"+
		"24 22 0:23 / /my\\040dir rw shared:2 master:3 - ext4 /dev/sda1 rw\n"), 0o600)
	m, err := readMounts(f)
	if err != nil || len(m) != 3 {
		t.Fatalf("%v %v", m, err)
	}
	if !m[0].ReadOnly || m[0].FSType != "overlay" || m[1].ReadOnly || m[1].MountPoint != "/tmp" ||
		m[2].MountPoint != "/my dir" || m[2].Source != "/dev/sda1" {
		t.Fatalf("%+v", m)
	}
}

func TestGetenvAndCat(t *testing.T) {
	t.Setenv("MAPS_API_KEY", "k-123")
	if code, out, _ := runCmd(t, "getenv", "MAPS_API_KEY"); code != 0 || out != "k-123\n" {
		t.Fatalf("%d %q", code, out)
	}
	if code, _, _ := runCmd(t, "getenv", "NOT_SET_ANYWHERE_42"); code != 1 {
		t.Fatalf("unset: %d", code)
	}
	f := filepath.Join(t.TempDir(), "v")
	os.WriteFile(f, []byte("sealed-value"), 0o600)
	if code, out, _ := runCmd(t, "cat", f); code != 0 || out != "sealed-value" {
		t.Fatalf("%d %q", code, out)
	}
	if code, _, _ := runCmd(t, "cat", f+"-missing"); code != 1 {
		t.Fatalf("missing file: %d", code)
	}
	if code, _, _ := runCmd(t, "frobnicate"); code != 2 {
		t.Fatalf("unknown command: %d", code)
	}
}

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/teapot" {
			w.WriteHeader(418)
		}
	}))
	defer srv.Close()
	if code, out, _ := runCmd(t, "probe", srv.URL+"/ok?secret=1"); code != 0 || !strings.HasPrefix(out, "OK HTTP 200") ||
		strings.Contains(out, "secret") {
		t.Fatalf("%d %q", code, out)
	}
	if code, out, _ := runCmd(t, "probe", srv.URL+"/teapot", "--expect", "200"); code != 1 || !strings.Contains(out, "418") {
		t.Fatalf("expect: %d %q", code, out)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	if code, out, _ := runCmd(t, "probe", "tcp://"+host, "--timeout", "2s"); code != 0 || !strings.HasPrefix(out, "OK tcp") {
		t.Fatalf("tcp: %d %q", code, out)
	}
	// --resolve: a name that does not exist, sent to the test server's address
	_, port, _ := net.SplitHostPort(host)
	if code, out, errOut := runCmd(t, "probe", "http://where2eat.invalid:"+port+"/", "--resolve",
		"where2eat.invalid:"+port+":127.0.0.1"); code != 0 {
		t.Fatalf("resolve: %d %q %q", code, out, errOut)
	}
	// nothing listens: closed port
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	if code, out, _ := runCmd(t, "probe", "tcp://"+closed, "--timeout", "1s"); code != 1 || !strings.HasPrefix(out, "FAIL") {
		t.Fatalf("closed: %d %q", code, out)
	}
	if code, _, _ := runCmd(t, "probe", "ftp://x"); code != 2 {
		t.Fatalf("bad scheme: %d", code)
	}
}

func TestProbeTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	if code, out, _ := runCmd(t, "probe", srv.URL); code != 1 || !strings.Contains(out, "FAIL") {
		t.Fatalf("untrusted certificate must fail: %d %q", code, out)
	}
	if code, _, _ := runCmd(t, "probe", srv.URL, "--insecure"); code != 0 {
		t.Fatalf("insecure: %d", code)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	var pemBuf bytes.Buffer
	pemEncodeCert(&pemBuf, srv.Certificate().Raw)
	os.WriteFile(ca, pemBuf.Bytes(), 0o600)
	if code, out, errOut := runCmd(t, "probe", srv.URL, "--cacert", ca); code != 0 {
		t.Fatalf("cacert: %d %q %q", code, out, errOut)
	}
}

func pemEncodeCert(w *bytes.Buffer, der []byte) {
	pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: der})
}
