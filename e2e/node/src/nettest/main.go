// nettest is the node smoke test's one binary (Go standard library only, static): a tiny HTTP
// server that answers its hostname, and the client probes the test runs inside pods, which have
// no shell or other tools in their image.
//
//	nettest serve [ADDR]               HTTP on ADDR (default :8080): "/" answers the hostname
//	nettest get URL [CAFILE]           GET, print the body; with CAFILE verify TLS against it
//	nettest lookup NAME                resolve through the pod's /etc/resolv.conf, print the IPs
//	nettest dns SERVER NAME [A|AAAA]   ask SERVER (host:port) directly; print "RCODE ADDRESS..."
//	nettest tcp HOST:PORT              open (and close) a TCP connection
//	nettest echo WORDS...              print WORDS and exit 0 (a Job's work)
//
// Client commands give up after NETTEST_TIMEOUT (default 5s) and exit 1 with the error.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: nettest serve|get|lookup|tcp|echo ..."))
	}
	timeout := 5 * time.Second
	if v := os.Getenv("NETTEST_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			fail(err)
		}
		timeout = d
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		addr := ":8080"
		if len(args) > 0 {
			addr = args[0]
		}
		serve(addr)
	case "get":
		need(args, 1)
		get(ctx, args)
	case "lookup":
		need(args, 1)
		ips, err := net.DefaultResolver.LookupHost(ctx, args[0])
		if err != nil {
			fail(err)
		}
		fmt.Println(strings.Join(ips, " "))
	case "dns":
		need(args, 2)
		qtype := "A"
		if len(args) > 2 {
			qtype = args[2]
		}
		fmt.Println(dnsQuery(ctx, args[0], args[1], qtype))
	case "tcp":
		need(args, 1)
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", args[0])
		if err != nil {
			fail(err)
		}
		c.Close()
		fmt.Println("connected to", args[0])
	case "echo":
		fmt.Println(strings.Join(args, " "))
	default:
		fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}

func serve(addr string) {
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, host)
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	// PID 1 in a container gets no default signal handling: stop on TERM/INT ourselves, or the
	// kubelet waits the whole grace period before it kills us.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	fmt.Println("serving", host, "on", addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fail(err)
	}
}

func get(ctx context.Context, args []string) {
	tr := &http.Transport{}
	if len(args) > 1 {
		pem, err := os.ReadFile(args[1])
		if err != nil {
			fail(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fail(fmt.Errorf("%s: no PEM certificate", args[1]))
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	if err != nil {
		fail(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Printf("%d %s", resp.StatusCode, body)
	if resp.StatusCode >= 400 {
		os.Exit(1)
	}
}

// dnsQuery sends one UDP query and returns the response code and the addresses answered, so a
// test can tell an empty NOERROR answer from NXDOMAIN (the Go resolver reports both as "not found").
func dnsQuery(ctx context.Context, server, name, qtype string) string {
	types := map[string]uint16{"A": 1, "AAAA": 28}
	t, ok := types[qtype]
	if !ok {
		fail(fmt.Errorf("query type %q: A or AAAA", qtype))
	}
	q := []byte{0x4d, 0x41, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0} // id, RD, one question
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		q = append(q, byte(len(label)))
		q = append(q, label...)
	}
	q = append(q, 0, byte(t>>8), byte(t), 0, 1)
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", server)
	if err != nil {
		fail(err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := c.Write(q); err != nil {
		fail(err)
	}
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		fail(err)
	}
	r := buf[:n]
	if n < 12 || r[0] != q[0] || r[1] != q[1] {
		fail(fmt.Errorf("malformed DNS response"))
	}
	rcodes := map[byte]string{0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
	out := []string{rcodes[r[3]&0x0f]}
	if out[0] == "" {
		out[0] = fmt.Sprintf("RCODE%d", r[3]&0x0f)
	}
	ancount := int(r[6])<<8 | int(r[7])
	off := len(q) // the question is echoed back unchanged
	skipName := func() {
		for off < n {
			l := int(r[off])
			if l&0xc0 == 0xc0 { // compression pointer ends the name
				off += 2
				return
			}
			off += 1 + l
			if l == 0 {
				return
			}
		}
	}
	for i := 0; i < ancount && off < n; i++ {
		skipName()
		if off+10 > n {
			break
		}
		rtype := uint16(r[off])<<8 | uint16(r[off+1])
		rdlen := int(r[off+8])<<8 | int(r[off+9])
		off += 10
		if off+rdlen > n {
			break
		}
		if rtype == t {
			out = append(out, net.IP(r[off:off+rdlen]).String())
		}
		off += rdlen
	}
	return strings.Join(out, " ")
}

func need(args []string, n int) {
	if len(args) < n {
		fail(fmt.Errorf("%s needs %d argument(s)", os.Args[1], n))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "nettest:", err)
	os.Exit(1)
}
