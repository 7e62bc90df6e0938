{{/*
Names. The release `tollfree-operator` (the README's and deploy/'s) gives
objects the plain name `tollfree-operator`, as deploy/ has always had.
*/}}
{{- define "tollfree-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tollfree-operator.fullname" -}}
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

{{- define "tollfree-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tollfree-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Selector labels: immutable in a Deployment's selector, so only name and
instance (never the version).
*/}}
{{- define "tollfree-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tollfree-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tollfree-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tollfree-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "tollfree-operator.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
The Kubernetes calls the operator makes on TollFreeNumberSets, their account
Secrets and Events: a ClusterRole when it watches every namespace, a Role in
the watched namespace otherwise. tests/deploy.rs and tests/helm.rs check what
is granted and what is not.
*/}}
{{- define "tollfree-operator.rules" -}}
# Watch every set; patch adds/removes the finalizer (update for clients that
# replace the object to do so). No create/delete: sets belong to their users.
- apiGroups: ["tollfree.dev"]
  resources: ["tollfreenumbersets"]
  verbs: ["get", "list", "watch", "patch", "update"]
# Status is written with server-side apply (a patch).
- apiGroups: ["tollfree.dev"]
  resources: ["tollfreenumbersets/status"]
  verbs: ["get", "patch"]
# Account credentials referenced by sets (accountRef, same namespace as the
# set), read one by one with `get` when a set is routed and again every resync
# interval. Never listed or watched: the operator cannot enumerate the
# cluster's Secrets, and holds none it was not pointed at.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
# Events for every vendor mutation and refusal (kube-rs Recorder:
# events.k8s.io/v1, patched when an event repeats).
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
The leader election Lease's name: fixed in the operator (src/leader.rs), so one
release per namespace.
*/}}
{{- define "tollfree-operator.leaseName" -}}
tollfree-operator
{{- end }}

{{/*
Refuses settings that would be unsafe rather than merely unusual.
*/}}
{{- define "tollfree-operator.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount > 1 needs leaderElection.enabled: two active replicas would reconcile the same sets at once" }}
{{- end }}
{{- if not (or (hasPrefix "https://" .Values.intelepeer.url) (hasPrefix "http://127.0.0.1" .Values.intelepeer.url) (hasPrefix "http://localhost" .Values.intelepeer.url) (hasPrefix "http://[::1]" .Values.intelepeer.url)) }}
{{- fail (printf "intelepeer.url must be https (plain http only to a loopback address): %q" .Values.intelepeer.url) }}
{{- end }}
{{- end }}
