#!/usr/bin/env python3
"""Operator scale benchmark: prints figures, is not a timed test (e2e/bench/README.md).

Run through e2e/bench/run.sh, which checks what is needed. Python 3 standard library only.

Two fresh local control planes (e2e/control-plane/up.sh, free loopback ports, own names):
  1. baseline: `kubectl apply --server-side` of what the operator's `render` prints for the N apps;
  2. operator: the operator jar as a local JVM with the chart's JVM flags, N MicroApps applied,
     then convergence, an idle resync window, heap and RSS, drift-repair and spec-change latency,
     and the two minutes after a restart.
"""
import argparse
import base64
import json
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import http.client
from collections import defaultdict

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
JAR = os.path.join(ROOT, "operator", "target", "microapp-operator-all.jar")
VALUES = os.path.join(ROOT, "helm", "microapp-operator", "values.yaml")
CONDITION_TYPES = ["Ready", "AuthEnforced", "TLSEnforced", "RateLimited", "SecretsSealed", "LeastPrivilege",
                   "RetentionScheduled", "DefaultsRelaxed"]
WRITE_VERBS = {"POST", "PUT", "PATCH", "DELETE", "APPLY", "DELETECOLLECTION"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
POLICY_ARGS = ["--cluster-issuer", "letsencrypt-prod", "--default-issuer", "https://login.example.com/realms/acme"]
KEYS_NS = "microapp-system"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    print(f"bench: {msg}", file=sys.stderr)
    sys.exit(2)


def machine():
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, nproc {os.cpu_count()}, loadavg {load}"


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(values, p):
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


# ---------------------------------------------------------------------------------------------
# apps


def app_spec(i, ns):
    """Valid apps of a few shapes; each is exposed (Ingress) with its own host."""
    name = f"app-{i:05d}"
    spec = {
        "image": f"ghcr.io/acme/app{i % 7}:1.{i % 5}.0",
        "port": 8080,
        "host": f"{name}.{ns}.apps.example.com",
        "visibility": "private",
        "auth": {"issuer": "https://login.example.com/realms/acme", "allowedGroups": [f"team-{i % 13}"],
                 "adminPaths": ["/admin/**", "/export"], "sessionTTL": "8h"},
        "rateLimit": {"perIP": {"requestsPerMinute": 100, "burstPerSecond": 10}, "perUser": {"requestsPerMinute": 60}},
        "retention": {"ttl": "30d", "purge": {"http": {"path": "/internal/purge"}}},
    }
    if i % 4 == 1:
        spec["auth"]["allowedEmailDomains"] = ["acme.com"]
    if i % 4 == 2:
        spec["visibility"] = "organization"
        spec["auth"]["allowedEmailDomains"] = ["acme.com"]
    if i % 4 == 3:
        del spec["retention"]["purge"]
    return {"apiVersion": "safedefaults.io/v1alpha1", "kind": "MicroApp",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def namespaces(count):
    return [f"bench-{j:02d}" for j in range(count)]


def write_apps(path, n, nss):
    apps = [app_spec(i, nss[i % len(nss)]) for i in range(n)]
    with open(path, "w") as f:
        for a in apps:
            f.write("---\n" + json.dumps(a) + "\n")
    return apps


def write_namespaces(path, nss):
    with open(path, "w") as f:
        for ns in nss + [KEYS_NS]:
            f.write("---\n" + json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}) + "\n")


# ---------------------------------------------------------------------------------------------
# control plane and a minimal API client (client certs from the kubeconfig)


class ControlPlane:
    def __init__(self, name, work):
        self.name = name
        self.work = work
        self.state = os.path.join(os.environ.get("CONTROL_PLANE_STATE_DIR", os.path.expanduser("~/.microapp-controlplane")), name)

    def up(self):
        log(f"starting control plane {self.name}")
        with open(os.path.join(self.work, f"up-{self.name}.log"), "w") as out:
            # a /24 holds only 254 Services, one per app
            env = dict(os.environ, CONTROL_PLANE_SERVICE_CIDR="10.0.0.0/16")
            rc = subprocess.call([os.path.join(ROOT, "e2e/control-plane/up.sh"), self.name], stdout=out,
                                 stderr=subprocess.STDOUT, env=env)
        if rc != 0:
            die(f"e2e/control-plane/up.sh {self.name} failed; see {self.work}/up-{self.name}.log")
        self.kubeconfig = os.path.join(self.state, "kubeconfig")
        env = {}
        with open(os.path.join(self.state, "env")) as f:
            for line in f:
                m = re.match(r"(?:export )?(\w+)=['\"]?([^'\"\n]*)", line.strip())
                if m:
                    env[m.group(1)] = m.group(2)
        self.url = urllib.parse.urlparse(env["APISERVER_URL"])
        with open(os.path.join(self.state, "pids")) as f:
            self.pids = {p: int(pid) for p, pid in (line.split() for line in f if line.strip())}
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.state, "pki", "ca.crt"))
        self.ctx.load_cert_chain(os.path.join(self.state, "pki", "admin.crt"), os.path.join(self.state, "pki", "admin.key"))
        self.local = threading.local()

    def down(self):
        subprocess.call([os.path.join(ROOT, "e2e/control-plane/down.sh"), self.name],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def apiserver_cpu(self):
        return cpu_seconds(self.pids["kube-apiserver"])

    def _conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPSConnection(self.url.hostname, self.url.port, context=self.ctx, timeout=60)
            self.local.conn = c
        return c

    def request(self, method, path, body=None, content_type="application/json"):
        for attempt in range(3):
            c = self._conn()
            try:
                headers = {"Accept": "application/json"}
                data = None
                if body is not None:
                    data = json.dumps(body).encode()
                    headers["Content-Type"] = content_type
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                payload = r.read()
                return r.status, payload
            except (http.client.HTTPException, OSError):
                c.close()
                self.local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get_json(self, path):
        status, payload = self.request("GET", path)
        return status, (json.loads(payload) if status == 200 else None)

    def kubectl(self, *args, out=None, check=True):
        cmd = [KUBECTL, "--kubeconfig", self.kubeconfig] + list(args)
        r = subprocess.run(cmd, stdout=out or subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if check and r.returncode != 0:
            die(f"{' '.join(cmd[3:])} failed: {r.stderr.strip()[-2000:]}")
        return r

    def writes(self):
        """Write requests served so far, by resource[/subresource]: apiserver_request_total."""
        status, payload = self.request("GET", "/metrics")
        if status != 200:
            die(f"GET /metrics answered {status}")
        counts = defaultdict(float)
        for line in payload.decode().splitlines():
            if not line.startswith("apiserver_request_total{"):
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
            if labels.get("verb") not in WRITE_VERBS:
                continue
            key = labels.get("resource", "?") + ("/" + labels["subresource"] if labels.get("subresource") else "")
            counts[key] += float(line.rsplit(" ", 1)[1])
        return counts


def diff(after, before):
    out = {k: after[k] - before.get(k, 0) for k in after}
    return {k: v for k, v in out.items() if v > 0}


# ---------------------------------------------------------------------------------------------
# the operator process


def chart_java_options():
    with open(VALUES) as f:
        text = f.read()
    m = re.search(r'^\s*javaOptions:\s*"([^"]*)"', text, re.M)
    if not m:
        die(f"operator.javaOptions not found in {VALUES}")
    limit = re.search(r"^resources:\n(?:.*\n)*?\s+limits:\n\s+memory:\s*(\S+)", text, re.M)
    return m.group(1), (limit.group(1) if limit else None)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Operator:
    def __init__(self, cp, work, java_opts, resync, label):
        self.cp, self.work, self.java_opts, self.resync, self.label = cp, work, java_opts, resync, label
        self.proc = None

    def start(self, extra_opts=()):
        self.port = free_port()
        env = dict(os.environ, KUBECONFIG=self.cp.kubeconfig)
        env.pop("JAVA_TOOL_OPTIONS", None)
        cmd = ["java"] + self.java_opts + list(extra_opts) + ["-jar", JAR, "run", "--no-leader-election",
               "--keys-namespace", KEYS_NS, "--http-address", "127.0.0.1", "--http-port", str(self.port),
               "--resync-seconds", str(self.resync)] + POLICY_ARGS
        self.logfile = open(os.path.join(self.work, f"operator-{self.label}.log"), "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.logfile, stderr=subprocess.STDOUT, env=env)
        self.pid = self.proc.pid
        self.cmd = cmd

    def wait_ready(self, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                die(f"the operator exited with {self.proc.returncode}; see {self.logfile.name}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(0.2)
        die(f"the operator was not ready within {timeout}s; see {self.logfile.name}")

    def cpu(self):
        return cpu_seconds(self.pid)

    def jcmd(self, *args):
        r = subprocess.run(["jcmd", str(self.pid)] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return r.stdout

    def heap_after_gc(self):
        """(live heap MB after a full GC, RSS MB, max heap MB, collector)."""
        self.jcmd("GC.run")
        time.sleep(1)
        self.jcmd("GC.run")
        hist = self.jcmd("GC.class_histogram")
        with open(os.path.join(self.work, f"histogram-{self.label}.txt"), "w") as f:
            f.write(hist)
        m = re.search(r"^Total\s+\d+\s+(\d+)", hist, re.M)
        live = int(m.group(1)) / 1048576 if m else float("nan")
        flags = self.jcmd("VM.flags")
        mx = re.search(r"MaxHeapSize=(\d+)", flags)
        gc = re.findall(r"-XX:\+(Use\w+GC)\b", flags)
        return live, rss_mb(self.pid), (int(mx.group(1)) / 1048576 if mx else float("nan")), ",".join(gc)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logfile.close()


# ---------------------------------------------------------------------------------------------
# watching MicroApps until every status is observed


def observed(app):
    """The operator has acted on this generation: status.observedGeneration == metadata.generation,
    every condition type of the checklist is present (each stamped with this generation) and the
    checklist summary is set. Without a kubelet pods never run, so Ready is False with PodsNotReady."""
    st = app.get("status") or {}
    gen = app["metadata"].get("generation")
    if st.get("observedGeneration") != gen or not st.get("checklist"):
        return False
    conds = {c["type"]: c for c in st.get("conditions") or []}
    for t in CONDITION_TYPES:
        c = conds.get(t)
        if c is None or c.get("observedGeneration", gen) != gen:
            return False
    return True


class AppWatch(threading.Thread):
    """Lists and watches MicroApps in all namespaces, remembering each app's latest object."""

    def __init__(self, cp):
        super().__init__(daemon=True)
        self.cp = cp
        self.apps = {}
        self.lock = threading.Condition()
        self.stopped = False

    def run(self):
        while not self.stopped:
            try:
                status, lst = self.cp.get_json("/apis/safedefaults.io/v1alpha1/microapps?limit=0")
                if status != 200:
                    time.sleep(1)
                    continue
                with self.lock:
                    self.apps = {(a["metadata"]["namespace"], a["metadata"]["name"]): a for a in lst["items"]}
                    self.lock.notify_all()
                rv = lst["metadata"]["resourceVersion"]
                c = http.client.HTTPSConnection(self.cp.url.hostname, self.cp.url.port, context=self.cp.ctx, timeout=600)
                c.request("GET", f"/apis/safedefaults.io/v1alpha1/microapps?watch=1&resourceVersion={rv}"
                          "&allowWatchBookmarks=false&timeoutSeconds=3600")
                r = c.getresponse()
                while not self.stopped:
                    line = r.readline()
                    if not line:
                        break
                    ev = json.loads(line)
                    if ev["type"] == "ERROR":
                        break
                    o = ev["object"]
                    key = (o["metadata"]["namespace"], o["metadata"]["name"])
                    with self.lock:
                        if ev["type"] == "DELETED":
                            self.apps.pop(key, None)
                        else:
                            self.apps[key] = o
                        self.lock.notify_all()
                c.close()
            except (OSError, http.client.HTTPException, ValueError):
                time.sleep(0.5)

    def wait_all_observed(self, keys, timeout):
        """Waits until every app of `keys` is observed; returns (when the last one was, those that are not)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                # only the apps that changed since the last look are looked at again
                missing = [k for k in keys if k not in self.apps or not observed(self.apps[k])]
                if not missing:
                    return time.monotonic(), []
                keys = missing
                left = deadline - time.monotonic()
                if left <= 0:
                    return time.monotonic(), missing
                self.lock.wait(min(left, 1.0))


# ---------------------------------------------------------------------------------------------
# JFR


def jfr_hotspots(jfr_file, out, top=25):
    """Hot spots from JFR execution samples: self time (top frame) and inclusive time per method."""
    if not shutil.which("jfr"):
        print("  (jfr tool not found: no hot spot summary)", file=out)
        return
    r = subprocess.run(["jfr", "print", "--events", "jdk.ExecutionSample", "--stack-depth", "96", jfr_file],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    samples, stack, in_stack = [], [], False
    for line in r.stdout.splitlines():
        s = line.strip()
        if s.startswith("stackTrace = ["):
            stack, in_stack = [], True
        elif in_stack and s == "]":
            samples.append(stack)
            in_stack = False
        elif in_stack and s and s != "...":
            stack.append(re.sub(r"\s+line:.*$", "", s))
    if not samples:
        print("  (no execution samples)", file=out)
        return
    self_count, incl = defaultdict(int), defaultdict(int)
    ours = defaultdict(int)
    for st in samples:
        self_count[st[0]] += 1
        for m in set(st):
            incl[m] += 1
        own = next((m for m in st if m.startswith("io.safedefaults.")), None)
        if own:
            ours[own] += 1
    n = len(samples)
    print(f"  {n} execution samples ({os.path.basename(jfr_file)})", file=out)
    print("  self (top frame):", file=out)
    for m, c in sorted(self_count.items(), key=lambda x: -x[1])[:top // 2]:
        print(f"    {100 * c / n:5.1f}%  {m}", file=out)
    print("  inclusive, JOSDK / Fabric8 / Jackson / operator / JDK http & TLS frames:", file=out)
    interesting = re.compile(r"^(io\.javaoperatorsdk|io\.fabric8|com\.fasterxml|io\.safedefaults|sun\.security\.ssl|"
                             r"jdk\.internal\.net\.http|java\.util\.regex|ch\.qos\.logback|org\.yaml)")
    shown = 0
    for m, c in sorted(incl.items(), key=lambda x: -x[1]):
        if interesting.match(m) and not re.search(r"\.(run|call|lambda\$|accept)\b|Thread\.run|\$\$Lambda", m):
            print(f"    {100 * c / n:5.1f}%  {m}", file=out)
            shown += 1
            if shown >= top:
                break
    print("  innermost operator frame on the stack:", file=out)
    for m, c in sorted(ours.items(), key=lambda x: -x[1])[:12]:
        print(f"    {100 * c / n:5.1f}%  {m}", file=out)


# ---------------------------------------------------------------------------------------------
# the benchmark


class Window:
    """CPU of the operator and the API server, and the API server's write requests, over a window."""

    def __init__(self, cp, op):
        self.cp, self.op = cp, op
        self.t = time.monotonic()
        self.op_cpu = op.cpu() if op else 0.0
        self.api_cpu = cp.apiserver_cpu()
        self.w = cp.writes()

    def close(self, op=None):
        op = op or self.op
        return {"seconds": time.monotonic() - self.t,
                "op_cpu": (op.cpu() - self.op_cpu) if op else 0.0,
                "api_cpu": self.cp.apiserver_cpu() - self.api_cpu,
                "writes": diff(self.cp.writes(), self.w)}


def wait_quiet(cp, n, limit=600):
    """Waits until the API server sees almost no writes (kube-controller-manager is still creating
    ReplicaSets and Pods and updating Deployment status well after the apps' statuses are observed;
    each Deployment status change is an event for the operator too). Returns seconds waited."""
    t = time.monotonic()
    before = sum(cp.writes().values())
    while time.monotonic() - t < limit:
        time.sleep(5)
        now = sum(cp.writes().values())
        if now - before <= max(3, n // 200):   # the apiserver's own lease renewals, a stray event
            return time.monotonic() - t
        before = now
    log(f"the API server was still busy after {limit} s; measuring anyway")
    return time.monotonic() - t


def baseline(args, work, apps_file, ns_file, nss):
    cp = ControlPlane(f"bench-base-{os.getpid()}", work)
    cp.up()
    try:
        rendered = os.path.join(work, "rendered.yaml")
        t = time.monotonic()
        with open(rendered, "w") as out:
            r = subprocess.run(["java", "-jar", JAR, "render", "-f", apps_file] + POLICY_ARGS, stdout=out,
                               stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            die(f"render failed: {r.stderr[-2000:]}")
        render_s = time.monotonic() - t
        cp.kubectl("apply", "--server-side", "-f", ns_file)
        log(f"baseline: kubectl apply --server-side of the rendered children of {args.apps} apps")
        w = Window(cp, None)
        t = time.monotonic()
        cp.kubectl("apply", "--server-side", "--field-manager", "bench-baseline", "-f", rendered)
        wall = time.monotonic() - t
        res = w.close()
        objects = sum(1 for line in open(rendered) if line.startswith("kind:"))
        return {"wall": wall, "render": render_s, "objects": objects, **res}
    finally:
        cp.down()


def latency_samples(cp, watch, apps, samples):
    """Drift repair (delete or modify a child, until the operator restored it) and spec change
    (until the Ingress shows the new value): seconds per sample."""
    drift, spec = [], []
    failed = {"drift": 0, "spec": 0}

    def wait_for(cond, timeout=20):
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            if cond():
                return True
            time.sleep(0.01)
        return False

    for i in range(samples):
        a = apps[(i * 7919) % len(apps)]
        ns, name = a["metadata"]["namespace"], a["metadata"]["name"]
        if i % 2 == 0:
            path = f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/{name}"
            status, _ = cp.request("DELETE", path)
            t = time.monotonic()
            ok = status in (200, 202) and wait_for(lambda: cp.request("GET", path)[0] == 200)
        else:
            path = f"/api/v1/namespaces/{ns}/services/{name}"
            _, svc = cp.get_json(path)
            want = svc["spec"]["ports"]
            # the Service sends traffic past the sidecar: its first port's targetPort is changed in place
            # (a strategic merge patch keyed by port; ownership of that field moves to the editor)
            first = want[0]
            status, _ = cp.request("PATCH", path, {"spec": {"ports": [{"port": first["port"], "targetPort": 9999}]}},
                                   "application/strategic-merge-patch+json")
            t = time.monotonic()

            def restored():
                st, o = cp.get_json(path)
                return st == 200 and [(p["port"], p.get("targetPort")) for p in o["spec"]["ports"]] \
                    == [(p["port"], p.get("targetPort")) for p in want]
            ok = status == 200 and wait_for(restored)
        if ok:
            drift.append(time.monotonic() - t)
        else:
            log(f"drift sample {i}: {ns}/{name} not restored within 20 s")
            failed["drift"] += 1

    for i in range(samples):
        a = apps[(i * 104729 + 3) % len(apps)]
        ns, name = a["metadata"]["namespace"], a["metadata"]["name"]
        rpm = 50 + i % 40
        if rpm == 100:
            rpm = 49
        cp.request("PATCH", f"/apis/safedefaults.io/v1alpha1/namespaces/{ns}/microapps/{name}",
                   {"spec": {"rateLimit": {"perIP": {"requestsPerMinute": rpm}}}}, "application/merge-patch+json")
        t = time.monotonic()
        ing = f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{name}"

        def reflected():
            st, o = cp.get_json(ing)
            return st == 200 and o["metadata"].get("annotations", {}).get("nginx.ingress.kubernetes.io/limit-rpm") == str(rpm)
        if wait_for(reflected):
            spec.append(time.monotonic() - t)
        else:
            log(f"spec sample {i}: {ns}/{name} Ingress did not show limit-rpm {rpm} within 20 s")
            failed["spec"] += 1
    return drift, spec, failed


def fmt_writes(writes, n):
    if not writes:
        return "none"
    total = sum(writes.values())
    parts = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(writes.items(), key=lambda x: -x[1]))
    return f"{total / n:.2f}/app ({int(total)} total): {parts}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--apps", type=int, default=1000, help="number of MicroApps (default 1000)")
    p.add_argument("--namespaces", type=int, default=50, help="spread over this many namespaces (default 50)")
    p.add_argument("--resync-seconds", type=int, default=60,
                   help="the operator's --resync-seconds; the idle window is this long, so each app resyncs about once (default 60)")
    p.add_argument("--restart-seconds", type=int, default=120, help="window measured after a restart (default 120)")
    p.add_argument("--samples", type=int, default=20, help="drift and spec-change samples each (default 20)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds to wait for convergence (default 1800)")
    p.add_argument("--java-options", default=None,
                   help="JVM options of the operator (default: the chart's operator.javaOptions with -XX:MaxRAM set to "
                        "the chart's memory limit, as in the container)")
    p.add_argument("--jfr", action="store_true", help="record JFR during convergence and restart; print hot spots")
    p.add_argument("--skip-baseline", action="store_true", help="do not measure the baseline")
    p.add_argument("--openreports", action="store_true",
                   help="install the OpenReports Report CRD first, so the operator publishes a Report per app "
                        "(reports appear in the writes table)")
    p.add_argument("--work", default=None, help="keep logs and recordings here (default: a temp dir, printed)")
    args = p.parse_args()

    global KUBECTL
    KUBECTL = os.environ["BENCH_KUBECTL"]
    work = args.work or tempfile.mkdtemp(prefix="microapp-bench-")
    os.makedirs(work, exist_ok=True)
    out = sys.stdout
    start_machine = machine()
    nss = namespaces(args.namespaces)
    apps_file, ns_file = os.path.join(work, "apps.yaml"), os.path.join(work, "namespaces.yaml")
    apps = write_apps(apps_file, args.apps, nss)
    write_namespaces(ns_file, nss)
    chart_opts, limit = chart_java_options()
    if args.java_options is not None:
        java_opts, opts_note = args.java_options.split(), "as given (--java-options)"
    else:
        java_opts = chart_opts.split() + ([f"-XX:MaxRAM={limit.replace('Mi', 'm').replace('Gi', 'g')}"] if limit else [])
        opts_note = (f"the chart's operator.javaOptions \"{chart_opts}\"" +
                     (f" with -XX:MaxRAM={limit} for the chart's resources.limits.memory (the container limit the JVM sees)"
                      if limit else "; the chart sets no memory limit, so nothing caps the heap"))
    if not any(o.startswith(("-Xmx", "-XX:MaxHeapSize", "-XX:MaxRAM")) for o in java_opts):
        opts_note += "; NOTE: no flag caps the heap"

    base = None
    if not args.skip_baseline:
        base = baseline(args, work, apps_file, ns_file, nss)

    cp = ControlPlane(f"bench-op-{os.getpid()}", work)
    op = None
    cp.up()
    try:
        cp.kubectl("apply", "--server-side", "-f", os.path.join(ROOT, "crds"))
        cp.kubectl("wait", "--for=condition=Established", "crd/microapps.safedefaults.io", "--timeout=60s")
        cp.kubectl("apply", "--server-side", "-f", ns_file)
        if args.openreports:
            crd = os.path.join(ROOT, "operator/src/test/resources/openreports/openreports.io_reports.yaml")
            cp.kubectl("apply", "--server-side", "-f", crd)
            cp.kubectl("wait", "--for=condition=Established", "crd/reports.openreports.io", "--timeout=60s")
        op = Operator(cp, work, java_opts, args.resync_seconds, "first")
        op.start()
        ready_s = op.wait_ready()
        log(f"operator ready after {ready_s:.1f}s (pid {op.pid}); applying {args.apps} MicroApps")
        watch = AppWatch(cp)
        watch.start()
        time.sleep(2)
        if args.jfr:
            op.jcmd("JFR.start", "name=converge", "settings=profile")
        w = Window(cp, op)
        t0 = time.monotonic()
        cp.kubectl("apply", "--server-side", "--field-manager", "bench", "-f", apps_file)
        applied = time.monotonic() - t0
        keys = [(a["metadata"]["namespace"], a["metadata"]["name"]) for a in apps]
        t1, missing = watch.wait_all_observed(keys, args.timeout)
        conv = w.close()
        conv["seconds"] = t1 - t0
        if args.jfr:
            op.jcmd("JFR.stop", "name=converge", f"filename={work}/converge.jfr")
        if missing:
            log(f"{len(missing)} apps not observed within {args.timeout}s, e.g. {missing[:3]}")
        sample = watch.apps.get(keys[0], {}).get("status", {})
        ready = {c["type"]: (c["status"], c.get("reason")) for c in sample.get("conditions", [])}
        log(f"converged in {conv['seconds']:.1f}s; waiting until the API server is quiet")
        w = Window(cp, op)
        quiet = wait_quiet(cp, args.apps)
        settle = w.close()
        heap = op.heap_after_gc()
        log(f"idle resync window {args.resync_seconds}s")
        w = Window(cp, op)
        time.sleep(args.resync_seconds)
        idle = w.close()
        log(f"latency: {args.samples} drift and {args.samples} spec-change samples")
        drift, spec, failed = latency_samples(cp, watch, apps, args.samples)
        _, missing_after = watch.wait_all_observed(keys, 120)
        wait_quiet(cp, args.apps)
        log("restarting the operator")
        op.stop()
        w = Window(cp, None)
        op2 = Operator(cp, work, java_opts, args.resync_seconds, "restarted")
        extra = [f"-XX:StartFlightRecording=name=restart,settings=profile,duration={args.restart_seconds}s,"
                 f"filename={work}/restart.jfr"] if args.jfr else []
        op2.start(extra)
        ready2 = op2.wait_ready()
        time.sleep(max(0, args.restart_seconds - (time.monotonic() - op2.started)))
        restart = w.close(op2)
        restart["op_cpu"] = op2.cpu()   # the whole new process: JVM start, informers' lists, every app's first reconcile
        heap2 = op2.heap_after_gc()
        op = op2
    finally:
        if op:
            op.stop()
        cp.down()

    n = args.apps
    end_machine = machine()
    print(f"\n== microapp-operator scale benchmark: N = {n} MicroApps over {args.namespaces} namespaces")
    print(f"start: {start_machine}")
    print(f"end:   {end_machine}")
    print(f"git:   {subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], stdout=subprocess.PIPE, text=True).stdout.strip()}"
          f"{' (uncommitted changes)' if subprocess.run(['git', '-C', ROOT, 'diff', '--quiet', 'HEAD', '--', 'operator'], stdout=subprocess.DEVNULL).returncode else ''}")
    print(f"JVM:   {' '.join(java_opts)}  ({opts_note}); collector {heap[3] or '?'}, max heap {heap[2]:.0f} MB")
    print(f"operator: --resync-seconds {args.resync_seconds}, no leader election{', JFR on' if args.jfr else ''}"
          f"{', OpenReports CRD installed' if args.openreports else ', no OpenReports CRD (no reports written)'}")
    print("observed = status.observedGeneration == metadata.generation, all 8 conditions present with that"
          " generation, checklist set")
    print(f"first app's conditions at the end of convergence: {ready}")
    print()
    row = "{:<48} {:>12} {:>12}"
    print(row.format("", "total", "per app"))
    if base:
        print(row.format(f"baseline: kubectl apply --server-side ({base['objects']} objects)", f"{base['wall']:.1f} s", f"{1000 * base['wall'] / n:.1f} ms"))
        print(row.format("  kube-apiserver CPU", f"{base['api_cpu']:.1f} s", f"{base['api_cpu'] / n:.4f} s"))
    print(row.format("operator: apply MicroApps -> all observed", f"{conv['seconds']:.1f} s", f"{1000 * conv['seconds'] / n:.1f} ms"))
    print(row.format("  (of which kubectl apply of the MicroApps)", f"{applied:.1f} s", ""))
    if base:
        print(row.format("ratio operator / baseline", f"{conv['seconds'] / base['wall']:.2f}x", ""))
    print(row.format("operator CPU, convergence", f"{conv['op_cpu']:.1f} s", f"{conv['op_cpu'] / n:.4f} s"))
    print(row.format("kube-apiserver CPU, convergence", f"{conv['api_cpu']:.1f} s", f"{conv['api_cpu'] / n:.4f} s"))
    print(row.format("  operator / apiserver CPU", f"{conv['op_cpu'] / max(conv['api_cpu'], 1e-9):.2f}", ""))
    print(row.format(f"operator CPU, settle ({quiet:.0f} s until quiet)", f"{settle['op_cpu']:.1f} s", f"{settle['op_cpu'] / n:.4f} s"))
    print(row.format(f"operator CPU, idle resync ({args.resync_seconds} s)", f"{idle['op_cpu']:.1f} s", f"{idle['op_cpu'] / n:.4f} s"))
    print(row.format(f"kube-apiserver CPU, idle resync", f"{idle['api_cpu']:.1f} s", f"{idle['api_cpu'] / n:.4f} s"))
    print(row.format(f"operator CPU, restart (first {args.restart_seconds} s)", f"{restart['op_cpu']:.1f} s", f"{restart['op_cpu'] / n:.4f} s"))
    print(row.format(f"kube-apiserver CPU, restart", f"{restart['api_cpu']:.1f} s", f"{restart['api_cpu'] / n:.4f} s"))
    print(row.format("  ready after restart", f"{ready2:.1f} s", ""))
    print(row.format("live heap after full GC (converged)", f"{heap[0]:.0f} MB", f"{1024 * heap[0] / n:.0f} KB"))
    print(row.format("  RSS then", f"{heap[1]:.0f} MB", ""))
    print(row.format("live heap after full GC (after restart)", f"{heap2[0]:.0f} MB", f"{1024 * heap2[0] / n:.0f} KB"))
    print(row.format("  RSS then", f"{heap2[1]:.0f} MB", ""))
    for label, xs, key in (("drift repair", drift, "drift"), ("spec change -> Ingress", spec, "spec")):
        if xs:
            print(row.format(f"{label} p50 / p99 ({len(xs)} samples)", f"{1000 * pct(xs, 50):.0f} ms", f"{1000 * pct(xs, 99):.0f} ms"))
        if failed[key]:
            print(f"  {label}: {failed[key]} sample(s) NOT done within 20 s")
    print()
    print("write requests per app by resource (apiserver_request_total, verbs POST/PUT/PATCH/APPLY/DELETE):")
    if base:
        print(f"  baseline apply:     {fmt_writes(base['writes'], n)}")
    print(f"  convergence:        {fmt_writes(conv['writes'], n)}")
    print(f"  settle ({quiet:.0f} s):      {fmt_writes(settle['writes'], n)}")
    print(f"  idle resync:        {fmt_writes(idle['writes'], n)}")
    print(f"  restart ({args.restart_seconds} s):    {fmt_writes(restart['writes'], n)}")
    print("  (microapps is the benchmark's own apply; replicasets, pods, endpoints, endpointslices, ipaddresses,"
          " deployments/status, replicasets/status and part of events come from kube-controller-manager; about one"
          " leases write per 10 s is kube-apiserver's own identity lease)")
    if missing or missing_after:
        print(f"NOT OBSERVED: {len(missing)} apps after convergence, {len(missing_after)} after the latency samples")
    if args.jfr:
        for f in ("converge.jfr", "restart.jfr"):
            path = os.path.join(work, f)
            if os.path.exists(path):
                print(f"\nJFR hot spots, {f}:")
                jfr_hotspots(path, out)
    print(f"\nwork dir (operator logs, recordings): {work}")


if __name__ == "__main__":
    main()
