#!/usr/bin/env python3
"""MicroApps for operator/bench/memory.sh: valid apps and malformed or hostile ones.

Prints one multi-document YAML stream (JSON documents, which kubectl reads as YAML) of COUNT apps
spread over the given namespaces. The round number goes into names and hosts so that no round
reuses an earlier round's objects. Some documents are meant to be refused by the API server
(the script counts them); the rest are accepted and must each get a status.

usage: apps.py ROUND COUNT NAMESPACE...
"""
import json
import sys

ROUND, COUNT, NAMESPACES = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]


def name(i, length):
    """A DNS-1123 name of exactly `length` characters, unique per round and index."""
    base = f"r{ROUND}-a{i}-"
    return (base + "x" * length)[:length - 1] + "z"


def full(n, host):
    return {
        "image": "ghcr.io/acme/where2eat:1.4.2",
        "port": 8080,
        "host": host,
        "visibility": "private",
        "auth": {
            "issuer": "https://login.example.com/realms/acme",
            "allowedGroups": ["food-team"],
            "allowedEmailDomains": ["acme.com"],
            "adminPaths": ["/admin/**", "/export"],
            "sessionTTL": "8h",
        },
        "rateLimit": {"perIP": {"requestsPerMinute": 100, "burstPerSecond": 10},
                      "perUser": {"requestsPerMinute": 60}},
        "retention": {"ttl": "30d", "purge": {"http": {"path": "/internal/purge"}},
                      "exportPath": "/api/me/export", "deletePath": "/api/me"},
    }


def spec(i, n):
    host = f"{n[:40]}.apps.example.com"
    kind = i % 20
    s = full(n, host)
    if kind in (0, 10):
        return "valid", s
    if kind == 1:
        return "valid-public", {"image": "ghcr.io/acme/landing:2.0.0", "port": 8080, "host": host,
                                "visibility": "public", "overrides": [
                                    {"setting": "visibility", "justification": "public page, no personal data"},
                                    {"setting": "retention", "justification": "static page, stores nothing"}]}
    if kind == 2:
        del s["auth"]["issuer"]
        return "no-issuer", s
    if kind == 3:
        # well-formed sealed values that no key opens
        s["auth"]["clientSecret"] = {"sealed": "v1:app:bm90IGEgY2lwaGVydGV4dA=="}
        s["secrets"] = {"sealed": {"MAPS_API_KEY": "v1:app:" + "Zm9v" * 40, "OTHER": "v1:ns:AAAA"}}
        return "sealed-unopenable", s
    if kind == 4:
        # overrides the cluster policy does not allow (--allowed-overrides visibility,retention)
        s["overrides"] = [{"setting": "mfa", "justification": "the team does not want a second factor here"},
                          {"setting": "networkPolicy", "justification": "it talks to every service in the cluster"}]
        return "override-not-allowed", s
    if kind == 5:
        s["visibility"] = "public"
        return "public-no-override", s          # refused at admission
    if kind == 6:
        # a 253-character host of 63-character labels
        s["host"] = ".".join(["h" * 62 + str(i % 10)] * 4) + ".example.com"
        s["host"] = s["host"][-253:].lstrip(".-")
        return "long-host", s
    if kind == 7:
        s["auth"]["allowedGroups"] = ["grüne gruppe", "team/admins", "a" * 256, "<script>", "' OR 1=1 --"]
        return "odd-groups", s
    if kind == 8:
        s["auth"]["adminPaths"] = ["/...x", "/**/x/**", "/a b", "/" + "p/" * 100, "/.hidden", "/admin*"]
        return "odd-admin-paths", s
    if kind == 9:
        return "no-spec", None                  # refused at admission
    if kind == 11:
        s["rateLimit"] = {"perIP": {"requestsPerMinute": 100000, "burstPerSecond": 10000},
                          "perUser": {"requestsPerMinute": 100000}}
        return "limits-above-max", s
    if kind == 12:
        s["auth"]["sessionTTL"] = "24h"
        s["overrides"] = [{"setting": "sessionTTL", "justification": "kiosk screens that stay signed in all day"}]
        return "session-override-not-allowed", s
    if kind == 13:
        s["retention"] = {"ttl": "9999d", "purge": {"postgres": {
            "connection": "NO_SUCH_KEY", "table": "public.events", "column": "created_at", "batchSize": 100000}}}
        return "purge-unopenable-connection", s
    if kind == 14:
        s["host"] = "shared.apps.example.com"
        return "same-host", s
    if kind == 15:
        s["secrets"] = {"mountPath": "/etc/microapp", "sealed": {"K": "v1:ns:Zm9v"}}
        return "operator-mount-path", s
    if kind == 16:
        s["resources"] = {"cpu": "64", "memory": "512Gi"}
        return "huge-resources", s
    if kind == 17:
        del s["host"]
        return "no-host", s
    if kind == 18:
        s["retention"] = {"ttl": "1d", "purge": {"volume": {"claimName": "no-such-claim", "path": "/data"}}}
        return "purge-volume-missing", s
    return "minimal", {"image": "ghcr.io/acme/where2eat:1.4.2"}   # private without groups: refused


for i in range(COUNT):
    # names from 12 to 63 characters, a few longer than a label allows (the API server decides)
    length = 12 + (i * 7) % 52 if i % 25 != 24 else 90
    n = name(i, length)
    label, s = spec(i, n)
    doc = {"apiVersion": "safedefaults.io/v1alpha1", "kind": "MicroApp",
           "metadata": {"name": n, "namespace": NAMESPACES[i % len(NAMESPACES)],
                        "labels": {"membench/kind": label}}}
    if s is not None:
        doc["spec"] = s
    print("---")
    print(json.dumps(doc))
