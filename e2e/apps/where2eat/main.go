// where2eat is the example micro-app of microapp-operator's end-to-end tests: a tiny lunch-places
// app behind the auth sidecar (examples/where2eat.yaml), the public landing page
// (examples/landing-page.yaml) and the tools tests run inside its container with kubectl exec
// (the image has no shell). See ../README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// version is set at build time (-ldflags -X main.version=...).
var version = "dev"

const defaultDataDir = "/tmp/where2eat-data"

const usage = `usage: where2eat COMMAND [ARGS]

  serve                     the lunch-places app on :$PORT (8080), rows in $DATA_DIR (` + defaultDataDir + `)
  landing                   the public landing page on :$PORT (8080), no data
  selfcheck                 JSON: the process as the kernel sees it (ids, capabilities, seccomp, writable paths, mounts, env names)
  seed --user U --name N [--age 40d]
                            store a row created AGE ago (to test the purge)
  count                     JSON: number of stored rows, in total and per user
  probe URL [--timeout 3s] [--insecure] [--cacert FILE] [--resolve HOST:PORT:IP] [--expect STATUS]
                            HTTP(S) GET; or probe tcp://HOST:PORT; exit 0 when it answered
  getenv NAME               print one environment variable's value (exit 1 if unset)
  cat FILE                  print a file
  version                   print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(rest, stderr, false)
	case "landing":
		return serve(rest, stderr, true)
	case "selfcheck":
		return selfcheck(stdout, stderr)
	case "seed":
		return seed(rest, stdout, stderr)
	case "count":
		return count(stdout, stderr)
	case "probe":
		return probe(rest, stdout, stderr)
	case "getenv":
		if len(rest) != 1 {
			fmt.Fprintln(stderr, "usage: where2eat getenv NAME")
			return 2
		}
		v, ok := os.LookupEnv(rest[0])
		if !ok {
			fmt.Fprintf(stderr, "where2eat: %s is not set\n", rest[0])
			return 1
		}
		fmt.Fprintln(stdout, v)
		return 0
	case "cat":
		if len(rest) != 1 {
			fmt.Fprintln(stderr, "usage: where2eat cat FILE")
			return 2
		}
		f, err := os.Open(rest[0])
		if err != nil {
			fmt.Fprintf(stderr, "where2eat: %v\n", err)
			return 1
		}
		defer f.Close()
		if _, err := io.Copy(stdout, f); err != nil {
			fmt.Fprintf(stderr, "where2eat: %v\n", err)
			return 1
		}
		return 0
	case "version", "--version":
		fmt.Fprintln(stdout, version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "where2eat: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

func dataDir() string {
	if d := os.Getenv("DATA_DIR"); d != "" {
		return d
	}
	return defaultDataDir
}

func listenPort() (string, error) {
	p := os.Getenv("PORT")
	if p == "" {
		return "8080", nil
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("PORT=%q is not a port number", p)
	}
	return p, nil
}

func serve(args []string, stderr io.Writer, landing bool) int {
	if len(args) != 0 {
		fmt.Fprintf(stderr, "where2eat: unexpected arguments %q (configure with PORT and DATA_DIR)\n", args)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	port, err := listenPort()
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		return 2
	}
	var handler http.Handler
	mode := "serve"
	if landing {
		mode = "landing"
		handler = LandingHandler(log)
	} else {
		store, err := OpenStore(dataDir())
		if err != nil {
			log.Error("cannot start", "error", err.Error())
			return 1
		}
		handler = (&App{store: store, log: log}).Handler()
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 * 1024,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		log.Error("cannot listen", "port", port, "error", err.Error())
		return 1
	}
	log.Info("listening", "mode", mode, "port", port, "version", version)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		log.Error("server stopped", "error", err.Error())
		return 1
	case <-ctx.Done():
	}
	// The kubelet sends SIGTERM: finish what is in flight, then exit 0.
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Warn("shutdown", "error", err.Error())
	}
	log.Info("stopped")
	return 0
}

// parseAge reads 40d, 12h, 30m, 10s or any time.ParseDuration value.
func parseAge(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100000 {
			return 0, fmt.Errorf("age %q: expected a number of days such as 40d", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("age %q: expected 40d, 12h, 30m or 10s", s)
	}
	return d, nil
}

func seed(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "user id (the subject the sidecar forwards)")
	name := fs.String("name", "", "place name")
	age := fs.String("age", "0s", "how long ago the row was created (40d, 12h, ...)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *user == "" || strings.TrimSpace(*name) == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: where2eat seed --user U --name N [--age 40d]")
		return 2
	}
	d, err := parseAge(*age)
	if err != nil {
		fmt.Fprintf(stderr, "where2eat: %v\n", err)
		return 2
	}
	store, err := OpenStore(dataDir())
	if err != nil {
		fmt.Fprintf(stderr, "where2eat: %v\n", err)
		return 1
	}
	p, err := store.Add(*user, strings.TrimSpace(*name), d)
	if err != nil {
		fmt.Fprintf(stderr, "where2eat: %v\n", err)
		return 1
	}
	return printJSON(stdout, p)
}

func count(stdout, stderr io.Writer) int {
	store, err := OpenStore(dataDir())
	if err != nil {
		fmt.Fprintf(stderr, "where2eat: %v\n", err)
		return 1
	}
	total, per, err := store.Counts()
	if err != nil {
		fmt.Fprintf(stderr, "where2eat: %v\n", err)
		return 1
	}
	return printJSON(stdout, map[string]any{"total": total, "perUser": per})
}
