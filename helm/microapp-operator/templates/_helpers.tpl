{{/* Chart name, truncated to what a label value allows. */}}
{{- define "microapp-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name. The release name alone when it already contains the chart name, so
`helm install microapp-operator ...` yields "microapp-operator", not a doubled name.
*/}}
{{- define "microapp-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "microapp-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels. Note: app.kubernetes.io/managed-by is "Helm" here; the operator's own children
carry managed-by=microapp-operator, and its informers select on that, so nothing in this chart is
ever picked up by them.
*/}}
{{- define "microapp-operator.labels" -}}
helm.sh/chart: {{ include "microapp-operator.chart" . }}
{{ include "microapp-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: microapp-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "microapp-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "microapp-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "microapp-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "microapp-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository[:tag][@digest]; a digest pins the exact image. */}}
{{- define "microapp-operator.imageRef" -}}
{{- $img := index . 0 }}{{- $defaultTag := index . 1 }}
{{- $tag := default $defaultTag $img.tag }}
{{- if $img.digest }}
{{- printf "%s@%s" $img.repository $img.digest }}
{{- else }}
{{- printf "%s:%s" $img.repository $tag }}
{{- end }}
{{- end }}

{{/* Namespace of the sealing keyset: the release namespace unless set. */}}
{{- define "microapp-operator.keysNamespace" -}}
{{- default .Release.Namespace .Values.sealing.keysNamespace }}
{{- end }}

{{/* Where the operator reads oidc.caBundle: the key ca.pem of the ConfigMap mounted read-only here. */}}
{{- define "microapp-operator.kmsDir" -}}
/etc/microapp-operator/kms
{{- end }}
{{- define "microapp-operator.oidcCaDir" -}}
/etc/microapp-operator/oidc-ca
{{- end }}
{{- define "microapp-operator.oidcCaFile" -}}
{{ include "microapp-operator.oidcCaDir" . }}/ca.pem
{{- end }}

{{/* A duration such as 8h, 90m or 1h30m in minutes (the schema has checked its shape). */}}
{{- define "microapp-operator.minutes" -}}
{{- $h := 0 }}{{- $m := 0 }}
{{- $rest := . }}
{{- if contains "h" $rest }}
{{- $parts := splitList "h" $rest }}
{{- $h = atoi (index $parts 0) }}
{{- $rest = index $parts 1 }}
{{- end }}
{{- if $rest }}
{{- $m = atoi (trimSuffix "m" $rest) }}
{{- end }}
{{- add (mul $h 60) $m }}
{{- end }}

{{/* "a,b,c" of a limits object, in the operator's order. */}}
{{- define "microapp-operator.limits" -}}
{{- printf "%d,%d,%d" (int .perIpPerMinute) (int .perIpBurstPerSecond) (int .perUserPerMinute) }}
{{- end }}

{{/*
Checks JSON Schema cannot express (relations between values). Each message names the value and
the fix.
*/}}
{{- define "microapp-operator.validate" -}}
{{- $v := .Values }}
{{- if and (gt (int $v.replicaCount) 1) (not $v.leaderElection.enabled) }}
{{- fail (printf "replicaCount is %d but leaderElection.enabled is false: several replicas would reconcile the same apps at once; set leaderElection.enabled=true or replicaCount=1" (int $v.replicaCount)) }}
{{- end }}
{{- if or (and $v.shard.name (not $v.shard.selector)) (and $v.shard.selector (not $v.shard.name)) }}
{{- fail "shard.name and shard.selector go together: set both to run this release as one shard, or neither for one operator over the cluster" }}
{{- end }}
{{- if and $v.shard.name (not $v.leaderElection.enabled) }}
{{- fail "shard.name needs leaderElection.enabled=true: the other shards read this shard's Lease to know whether it is alive before taking a namespace over" }}
{{- end }}
{{- if and $v.shard.name $v.watchNamespaces }}
{{- fail "shard.selector and watchNamespaces exclude each other: a shard's namespaces are the ones its selector matches" }}
{{- end }}
{{- range $k, $d := dict "defaults.sessionTTL" $v.defaults.sessionTTL "bounds.maxSessionTTL" $v.bounds.maxSessionTTL }}
{{- if eq (include "microapp-operator.minutes" $d) "0" }}
{{- fail (printf "%s is %s: a session must last at least a minute; use e.g. 8h, 90m or 1h30m" $k $d) }}
{{- end }}
{{- end }}
{{- range $v.operator.extraEnv }}
{{- if or (hasPrefix "MICROAPP_" .name) (has .name (list "POD_NAMESPACE" "POD_NAME" "JAVA_TOOL_OPTIONS")) }}
{{- fail (printf "operator.extraEnv sets %s, which the chart derives from its values; set the matching value instead (see values.yaml)" .name) }}
{{- end }}
{{- end }}
{{- if and (hasPrefix "vault-transit://" $v.kms.uri) (not $v.kms.vaultToken.secretName) }}
{{- fail "kms.uri names a Vault Transit key but kms.vaultToken.secretName is empty; create a Secret holding a Vault token allowed to encrypt and decrypt with that key and name it there" }}
{{- end }}
{{- if and (hasPrefix "aws-kms://" $v.kms.uri) $v.kms.vaultToken.secretName }}
{{- fail "kms.vaultToken.secretName is set but kms.uri names an AWS KMS key; AWS credentials go in kms.awsCredentials.secretName" }}
{{- end }}
{{- if and (not $v.kms.uri) (or $v.kms.endpoint $v.kms.caBundle $v.kms.vaultToken.secretName $v.kms.awsCredentials.secretName) }}
{{- fail "kms.endpoint, kms.caBundle, kms.vaultToken and kms.awsCredentials need kms.uri; name the KMS key or leave them empty" }}
{{- end }}
{{- if and (hasPrefix "vault-transit://" $v.kms.sessionKeys.uri) (not (hasPrefix "vault-transit://" $v.kms.uri)) }}
{{- fail "kms.sessionKeys.uri names a Vault Transit key: kms.uri must name one too, the operator wraps session keys with kms.vaultToken; set kms.uri (and kms.vaultToken) or leave kms.sessionKeys.uri empty" }}
{{- end }}
{{- if and (hasPrefix "aws-kms://" $v.kms.sessionKeys.uri) (not (hasPrefix "aws-kms://" $v.kms.uri)) }}
{{- fail "kms.sessionKeys.uri names an AWS KMS key: kms.uri must name one too, the operator wraps session keys with the same AWS credentials; set kms.uri or leave kms.sessionKeys.uri empty" }}
{{- end }}
{{- if and (hasPrefix "aws-kms://" $v.kms.sessionKeys.uri) (not $v.kms.sessionKeys.awsRoleArn) }}
{{- fail "kms.sessionKeys.uri names an AWS KMS key: set kms.sessionKeys.awsRoleArn to the IAM role sidecars assume with their projected token" }}
{{- end }}
{{- if and $v.kms.sessionKeys.uri (eq $v.kms.sessionKeys.uri $v.kms.uri) }}
{{- fail "kms.sessionKeys.uri must name another Transit key than kms.uri: every sidecar may decrypt with the session key, and none may open the sealing keyset" }}
{{- end }}
{{- if contains "PRIVATE KEY" $v.kms.caBundle }}
{{- fail "kms.caBundle holds a private key; it must hold only the CA certificates (PEM) of the KMS's TLS certificate: remove the key and rotate it" }}
{{- end }}
{{- if contains "PRIVATE KEY" $v.oidc.caBundle }}
{{- fail "oidc.caBundle holds a private key; it must hold only the CA certificates (PEM) that sign the OIDC provider's TLS certificates, never a key: remove the key and rotate it" }}
{{- end }}
{{- $maxTtl := include "microapp-operator.minutes" $v.bounds.maxSessionTTL | atoi }}
{{- if gt $maxTtl 1440 }}
{{- fail (printf "bounds.maxSessionTTL %s is longer than 24h; the operator allows sessions of at most 24h without an override" $v.bounds.maxSessionTTL) }}
{{- end }}
{{- $ttl := include "microapp-operator.minutes" $v.defaults.sessionTTL | atoi }}
{{- if gt $ttl $maxTtl }}
{{- fail (printf "defaults.sessionTTL %s is longer than bounds.maxSessionTTL %s; lower the default or raise the bound" $v.defaults.sessionTTL $v.bounds.maxSessionTTL) }}
{{- end }}
{{- range $k := list "perIpPerMinute" "perIpBurstPerSecond" "perUserPerMinute" }}
{{- $d := index $v.defaults.limits $k | int }}{{- $m := index $v.bounds.maxLimits $k | int }}
{{- if gt $d $m }}
{{- fail (printf "defaults.limits.%s (%d) is above bounds.maxLimits.%s (%d); every app would start out of bounds -- lower the default or raise the bound" $k $d $k $m) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The operator's environment: every MICROAPP_* setting comes from values. */}}
{{/*
The leader-election Lease's name: a shard's carries the shard name, so releases in one namespace
never share a Lease.
*/}}
{{- define "microapp-operator.leaseName" -}}
{{- if .Values.shard.name }}{{ printf "%s-%s" .Values.leaderElection.leaseName .Values.shard.name }}{{ else }}{{ .Values.leaderElection.leaseName }}{{ end }}
{{- end }}

{{- define "microapp-operator.env" -}}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
# The leader's identity in the Lease: kubectl get lease shows which pod leads.
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: MICROAPP_LEADER_ELECTION
  value: {{ .Values.leaderElection.enabled | quote }}
- name: MICROAPP_LEASE_NAME
  value: {{ include "microapp-operator.leaseName" . | quote }}
{{- if .Values.shard.name }}
- name: MICROAPP_SHARD_NAME
  value: {{ .Values.shard.name | quote }}
- name: MICROAPP_SHARD_SELECTOR
  value: {{ .Values.shard.selector | quote }}
{{- end }}
{{- with (join "," .Values.watchNamespaces) }}
- name: MICROAPP_WATCH_NAMESPACES
  value: {{ . | quote }}
{{- end }}
- name: MICROAPP_HTTP_ADDRESS
  value: "0.0.0.0"
- name: MICROAPP_HTTP_PORT
  value: {{ .Values.operator.httpPort | quote }}
- name: MICROAPP_KEYS_NAMESPACE
  value: {{ include "microapp-operator.keysNamespace" . | quote }}
- name: MICROAPP_KEY_ROTATION_DAYS
  value: {{ .Values.sealing.keyRotationDays | quote }}
- name: MICROAPP_ALLOW_NEW_SEALING_KEYS
  value: {{ .Values.sealing.allowNewKeys | quote }}
{{- with .Values.kms.uri }}
# The sealing keyset is kept wrapped under this KMS key (kms.*).
- name: MICROAPP_KMS_URI
  value: {{ . | quote }}
{{- with $.Values.kms.endpoint }}
- name: MICROAPP_KMS_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- if $.Values.kms.caBundle }}
- name: MICROAPP_KMS_CA_FILE
  value: {{ printf "%s/ca.pem" (include "microapp-operator.kmsDir" $) | quote }}
{{- end }}
{{- if $.Values.kms.vaultToken.secretName }}
- name: MICROAPP_KMS_VAULT_TOKEN_FILE
  value: {{ printf "%s/vault-token/%s" (include "microapp-operator.kmsDir" $) $.Values.kms.vaultToken.key | quote }}
{{- end }}
{{- if $.Values.kms.awsCredentials.secretName }}
- name: AWS_SHARED_CREDENTIALS_FILE
  value: {{ printf "%s/aws/%s" (include "microapp-operator.kmsDir" $) $.Values.kms.awsCredentials.key | quote }}
{{- end }}
{{- with $.Values.kms.sessionKeys.uri }}
# Every app's session keyset is kept wrapped under this second key (kms.sessionKeys.*).
- name: MICROAPP_KMS_SESSION_KEY_URI
  value: {{ . | quote }}
{{- if hasPrefix "vault-transit://" . }}
- name: MICROAPP_KMS_SIDECAR_VAULT_ROLE
  value: {{ $.Values.kms.sessionKeys.vaultRole | quote }}
- name: MICROAPP_KMS_SIDECAR_VAULT_AUTH_PATH
  value: {{ $.Values.kms.sessionKeys.vaultAuthPath | quote }}
{{- else }}
- name: MICROAPP_KMS_SIDECAR_AWS_ROLE_ARN
  value: {{ $.Values.kms.sessionKeys.awsRoleArn | quote }}
{{- with $.Values.kms.sessionKeys.stsEndpoint }}
- name: MICROAPP_KMS_SIDECAR_STS_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- with $.Values.kms.sessionKeys.tokenAudience }}
- name: MICROAPP_KMS_SIDECAR_TOKEN_AUDIENCE
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.notifications.defaultWebhookKey }}
- name: MICROAPP_NOTIFY_WEBHOOK_KEY
  value: {{ . | quote }}
{{- end }}
- name: MICROAPP_RESYNC_SECONDS
  value: {{ .Values.operator.resyncSeconds | quote }}
- name: MICROAPP_LOG_LEVEL
  value: {{ .Values.operator.logLevel | quote }}
- name: MICROAPP_SIDECAR_IMAGE
  value: {{ include "microapp-operator.imageRef" (list .Values.sidecar.image "") | quote }}
{{- with .Values.defaults.issuer }}
- name: MICROAPP_DEFAULT_ISSUER
  value: {{ . | quote }}
{{- end }}
{{- if .Values.oidc.caBundle }}
# The provider's CA bundle (oidc.caBundle), mounted from the ConfigMap <release>-oidc-ca.
- name: MICROAPP_OIDC_CA_FILE
  value: {{ include "microapp-operator.oidcCaFile" . | quote }}
{{- end }}
{{- with .Values.ingress.clusterIssuer }}
- name: MICROAPP_CLUSTER_ISSUER
  value: {{ . | quote }}
{{- end }}
- name: MICROAPP_INGRESS_CLASS
  value: {{ .Values.ingress.className | quote }}
- name: MICROAPP_INGRESS_FLAVOR
  value: {{ .Values.ingress.flavor | quote }}
- name: MICROAPP_INGRESS_NAMESPACES
  value: {{ join "," .Values.ingress.controllerNamespaces | quote }}
- name: MICROAPP_METRICS_NAMESPACES
  value: {{ join "," .Values.monitoring.sidecarMetrics.namespaces | quote }}
- name: MICROAPP_EXPOSURE
  value: {{ .Values.exposure.mode | quote }}
{{- if eq .Values.exposure.mode "gateway" }}
- name: MICROAPP_GATEWAY_NAME
  value: {{ required "exposure.gateway.name is required when exposure.mode is gateway" .Values.exposure.gateway.name | quote }}
- name: MICROAPP_GATEWAY_NAMESPACE
  value: {{ required "exposure.gateway.namespace is required when exposure.mode is gateway" .Values.exposure.gateway.namespace | quote }}
{{- end }}
- name: MICROAPP_GATEWAY_HTTPS_LISTENER
  value: {{ .Values.exposure.gateway.httpsListener | quote }}
- name: MICROAPP_GATEWAY_HTTP_LISTENER
  value: {{ .Values.exposure.gateway.httpListener | quote }}
- name: MICROAPP_GATEWAY_DATA_PLANE_NAMESPACES
  value: {{ .Values.exposure.gateway.dataPlaneNamespaces | default list | join "," | quote }}
- name: MICROAPP_GATEWAY_EDGE_LIMITS
  value: {{ .Values.exposure.gatewayEdgeLimits | quote }}
- name: MICROAPP_TRUSTED_PROXY_CIDRS
  value: {{ join "," .Values.ingress.trustedProxyCidrs | quote }}
- name: MICROAPP_DEFAULT_SESSION_TTL
  value: {{ .Values.defaults.sessionTTL | quote }}
- name: MICROAPP_MAX_SESSION_TTL
  value: {{ .Values.bounds.maxSessionTTL | quote }}
- name: MICROAPP_DEFAULT_LIMITS
  value: {{ include "microapp-operator.limits" .Values.defaults.limits | quote }}
- name: MICROAPP_MAX_LIMITS
  value: {{ include "microapp-operator.limits" .Values.bounds.maxLimits | quote }}
- name: MICROAPP_ALLOWED_OVERRIDES
  value: {{ .Values.bounds.allowedOverrides | default (list "none") | join "," | quote }}
- name: MICROAPP_ALLOWED_HOST_SUFFIXES
  value: {{ .Values.bounds.allowedHostSuffixes | default list | join "," | quote }}
- name: MICROAPP_ALLOWED_ISSUERS
  value: {{ .Values.bounds.allowedIssuers | default list | join "," | quote }}
- name: MICROAPP_MAX_APP_RESOURCES
  value: {{ printf "%s,%s" .Values.bounds.maxAppResources.cpu .Values.bounds.maxAppResources.memory | quote }}
- name: MICROAPP_IMAGE_SCAN
  value: {{ .Values.bounds.imageScan.mode | quote }}
- name: MICROAPP_IMAGE_SCAN_FAIL_AT
  value: {{ .Values.bounds.imageScan.failAt | quote }}
- name: MICROAPP_IMAGE_SCAN_INCLUDE_UNFIXED
  value: {{ .Values.bounds.imageScan.includeUnfixed | quote }}
- name: MICROAPP_RUN_AS_USER
  value: {{ .Values.defaults.runAsUser | quote }}
{{- with .Values.operator.javaOptions }}
- name: JAVA_TOOL_OPTIONS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.operator.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The Gateways (namespace/name) the operator may attach app routes to: exposure.gateway when set,
and exposure.allowedGateways (those MicroAppPolicies may name). As a CEL list literal, and as text.
*/}}
{{- define "microapp-operator.gatewayList" -}}
{{- $gws := list -}}
{{- if and .Values.exposure.gateway.name .Values.exposure.gateway.namespace -}}
{{- $gws = append $gws (printf "%s/%s" .Values.exposure.gateway.namespace .Values.exposure.gateway.name) -}}
{{- end -}}
{{- range .Values.exposure.allowedGateways -}}
{{- $gws = append $gws . -}}
{{- end -}}
{{- $gws | uniq | join "," -}}
{{- end }}
{{- define "microapp-operator.allowedGateways" -}}
{{- $gws := include "microapp-operator.gatewayList" . -}}
[{{- if $gws }}{{- range $i, $g := splitList "," $gws }}{{ if $i }}, {{ end }}'{{ $g }}'{{ end }}{{- end }}]
{{- end }}
{{- define "microapp-operator.allowedGatewaysText" -}}
{{- $gws := include "microapp-operator.gatewayList" . -}}
{{- if $gws }}{{ $gws | replace "," ", " }}{{ else }}none: set exposure.gateway or exposure.allowedGateways{{ end }}
{{- end }}
