package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The fields of /proc/self/status that say how locked down the process is.
var statusFields = []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters"}

const serviceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	MountPoint string `json:"mountPoint"`
	FSType     string `json:"fsType"`
	Source     string `json:"source"`
	Options    string `json:"options"`
	ReadOnly   bool   `json:"readOnly"`
}

// Writable says whether a file could be created in a directory (and why not).
type Writable struct {
	Writable bool   `json:"writable"`
	Error    string `json:"error,omitempty"`
}

// SelfCheck is what `where2eat selfcheck` prints: the container as the kernel enforces it, for
// tests that check a pod's securityContext really took effect (checklist 7).
type SelfCheck struct {
	UID                 int                 `json:"uid"`
	GID                 int                 `json:"gid"`
	EUID                int                 `json:"euid"`
	EGID                int                 `json:"egid"`
	Groups              []int               `json:"groups"`
	Status              map[string]string   `json:"status"`
	NoCapabilities      bool                `json:"noCapabilities"`
	NoNewPrivs          bool                `json:"noNewPrivs"`
	SeccompMode         string              `json:"seccompMode"`
	Writable            map[string]Writable `json:"writable"`
	ServiceAccountToken bool                `json:"serviceAccountToken"`
	EnvNames            []string            `json:"envNames"`
	Mounts              []Mount             `json:"mounts"`
	Hostname            string              `json:"hostname"`
	Version             string              `json:"version"`
}

func selfcheck(stdout, stderr io.Writer) int {
	c, err := collectSelfCheck(dataDir())
	if err != nil {
		fmt.Fprintf(stderr, "where2eat: %v\n", err)
		return 1
	}
	return printJSON(stdout, c)
}

func collectSelfCheck(dataDir string) (SelfCheck, error) {
	c := SelfCheck{
		UID: os.Getuid(), GID: os.Getgid(), EUID: os.Geteuid(), EGID: os.Getegid(),
		Status: map[string]string{}, Writable: map[string]Writable{}, Version: version,
	}
	groups, err := os.Getgroups()
	if err != nil {
		return c, fmt.Errorf("getgroups: %w", err)
	}
	sort.Ints(groups)
	c.Groups = append([]int{}, groups...)

	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return c, fmt.Errorf("cannot read /proc/self/status: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for _, f := range statusFields {
			if k == f {
				c.Status[k] = strings.TrimSpace(v)
			}
		}
	}
	c.NoCapabilities = true
	for _, f := range []string{"CapInh", "CapPrm", "CapEff", "CapAmb"} {
		if n, err := strconv.ParseUint(c.Status[f], 16, 64); err != nil || n != 0 {
			c.NoCapabilities = false
		}
	}
	c.NoNewPrivs = c.Status["NoNewPrivs"] == "1"
	c.SeccompMode = map[string]string{"0": "disabled", "1": "strict", "2": "filter"}[c.Status["Seccomp"]]

	for _, dir := range []string{"/", "/etc", "/tmp", dataDir} {
		c.Writable[dir] = tryWrite(dir)
	}
	if _, err := os.Stat(serviceAccountToken); err == nil {
		c.ServiceAccountToken = true
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		c.EnvNames = append(c.EnvNames, name) // names only: values may be secrets
	}
	sort.Strings(c.EnvNames)
	if c.Mounts, err = readMounts("/proc/self/mountinfo"); err != nil {
		return c, err
	}
	c.Hostname, _ = os.Hostname()
	return c, nil
}

// tryWrite creates and removes a file in dir; a directory that does not exist yet is tried
// through its parent (the data directory is created at the first write).
func tryWrite(dir string) Writable {
	target := dir
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		target = filepath.Dir(dir)
	}
	f, err := os.CreateTemp(target, ".selfcheck-*")
	if err != nil {
		msg := err.Error()
		if pe, ok := err.(*os.PathError); ok {
			msg = pe.Err.Error() // "read-only file system", "permission denied"
		}
		return Writable{Error: msg}
	}
	f.Close()
	os.Remove(f.Name())
	return Writable{Writable: true}
}

// readMounts parses mountinfo: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue".
func readMounts(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	defer f.Close()
	var out []Mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, fld := range fields {
			if fld == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 6 || sep < 6 || sep+2 >= len(fields) {
			continue
		}
		m := Mount{
			MountPoint: unescapeMountinfo(fields[4]),
			Options:    fields[5],
			FSType:     fields[sep+1],
			Source:     unescapeMountinfo(fields[sep+2]),
		}
		for _, o := range strings.Split(m.Options, ",") {
			if o == "ro" {
				m.ReadOnly = true
			}
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// unescapeMountinfo decodes the kernel's octal escapes (\040 for a space, ...).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return 1
	}
	return 0
}
