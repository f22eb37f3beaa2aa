package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// probe is what NetworkPolicy and ingress tests run inside a pod (`kubectl exec ... -- /where2eat
// probe URL`): exit 0 when the target answered (any HTTP status, unless --expect), 1 when it did
// not (refused, timed out, TLS failure), 2 on bad arguments. One line on stdout either way.
func probe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	insecure := fs.Bool("insecure", false, "do not verify the server's certificate")
	cacert := fs.String("cacert", "", "PEM file of CA certificates to trust (instead of the system's)")
	resolve := fs.String("resolve", "", "HOST:PORT:IP, connect to IP for HOST:PORT (SNI and Host stay HOST)")
	expect := fs.Int("expect", 0, "exit 1 unless the HTTP status is this one")
	// Flags may come after the URL, as in `probe URL --timeout 3s`.
	var target string
	rest := args
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		if target != "" {
			fmt.Fprintln(stderr, "where2eat probe: one URL only")
			return 2
		}
		target, rest = fs.Arg(0), fs.Args()[1:]
	}
	if target == "" {
		fmt.Fprintln(stderr, "usage: where2eat probe URL|tcp://HOST:PORT [--timeout 3s] [--insecure] [--cacert FILE] [--resolve HOST:PORT:IP] [--expect STATUS]")
		return 2
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		fmt.Fprintf(stderr, "where2eat probe: %q is not a URL\n", target)
		return 2
	}
	dialer := &net.Dialer{Timeout: *timeout}
	dial := dialer.DialContext
	if *resolve != "" {
		hostPort, ip, ok := cutLast(*resolve, ":")
		if strings.HasSuffix(*resolve, "]") { // HOST:PORT:[IPv6]
			hostPort, ip, ok = cutLast(*resolve, ":[")
			ip = "[" + ip
		}
		if !ok || net.ParseIP(strings.Trim(ip, "[]")) == nil {
			fmt.Fprintf(stderr, "where2eat probe: --resolve %q: expected HOST:PORT:IP\n", *resolve)
			return 2
		}
		_, port, err := net.SplitHostPort(hostPort)
		if err != nil {
			fmt.Fprintf(stderr, "where2eat probe: --resolve %q: expected HOST:PORT:IP\n", *resolve)
			return 2
		}
		to := net.JoinHostPort(strings.Trim(ip, "[]"), port)
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == hostPort {
				addr = to
			}
			return dialer.DialContext(ctx, network, addr)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	if u.Scheme == "tcp" {
		start := time.Now()
		conn, err := dial(ctx, "tcp", u.Host)
		if err != nil {
			fmt.Fprintf(stdout, "FAIL tcp %s: %s\n", u.Host, shortError(err))
			return 1
		}
		conn.Close()
		fmt.Fprintf(stdout, "OK tcp %s connected in %d ms\n", u.Host, time.Since(start).Milliseconds())
		return 0
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		fmt.Fprintf(stderr, "where2eat probe: scheme %q: use http, https or tcp\n", u.Scheme)
		return 2
	}
	tlsConfig := &tls.Config{InsecureSkipVerify: *insecure} //nolint:gosec // a test tool, asked for explicitly
	if *cacert != "" {
		pem, err := os.ReadFile(*cacert)
		if err != nil {
			fmt.Fprintf(stderr, "where2eat probe: %v\n", err)
			return 2
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(stderr, "where2eat probe: %s holds no PEM certificate\n", *cacert)
			return 2
		}
		tlsConfig.RootCAs = pool
	}
	client := &http.Client{
		Transport: &http.Transport{DialContext: dial, TLSClientConfig: tlsConfig, Proxy: nil, DisableKeepAlives: true},
		// Report a redirect as the answer it is (the ingress's HTTPS redirect, the sidecar's sign-in).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		fmt.Fprintf(stderr, "where2eat probe: %v\n", err)
		return 2
	}
	req.Header.Set("User-Agent", "where2eat-probe/"+version)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stdout, "FAIL %s: %s\n", redact(u), shortError(err))
		return 1
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) //nolint:errcheck
	resp.Body.Close()
	line := fmt.Sprintf("HTTP %d %s in %d ms", resp.StatusCode, redact(u), time.Since(start).Milliseconds())
	if loc := resp.Header.Get("Location"); loc != "" {
		line += " -> " + strings.SplitN(loc, "?", 2)[0]
	}
	if *expect != 0 && resp.StatusCode != *expect {
		fmt.Fprintf(stdout, "FAIL %s (expected %s)\n", line, strconv.Itoa(*expect))
		return 1
	}
	fmt.Fprintln(stdout, "OK "+line)
	return 0
}

// redact drops the query and user info: the probe's output ends up in test logs.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery, c.User, c.Fragment = "", nil, ""
	return c.String()
}

func shortError(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
