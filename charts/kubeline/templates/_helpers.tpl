{{/* The chart's name. */}}
{{- define "kubeline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, the prefix of its objects. */}}
{{- define "kubeline.fullname" -}}
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

{{- define "kubeline.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "kubeline.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kubeline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubeline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kubeline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kubeline.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The kubeline image: the server's, and the init container's of compiled workflows. */}}
{{- define "kubeline.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The namespaces kubeline's workflows run in, as a JSON list. */}}
{{- define "kubeline.namespaces" -}}
{{- if .Values.argo.namespaces }}
{{- .Values.argo.namespaces | uniq | toJson }}
{{- else }}
{{- list .Release.Namespace | toJson }}
{{- end }}
{{- end }}

{{/* host:port of the S3 endpoint. */}}
{{- define "kubeline.s3Endpoint" -}}
{{- printf "%s:%v" .Values.artifacts.s3.host .Values.artifacts.s3.port }}
{{- end }}

{{/* The Secret holding the PostgreSQL URL. */}}
{{- define "kubeline.postgresSecret" -}}
{{- if .Values.database.postgres.existingSecret }}
{{- .Values.database.postgres.existingSecret }}
{{- else }}
{{- printf "%s-postgres" (include "kubeline.fullname" .) }}
{{- end }}
{{- end }}

{{/* The claim of /var/lib/kubeline. */}}
{{- define "kubeline.claimName" -}}
{{- default (printf "%s-data" (include "kubeline.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/* Settings that cannot work, refused at render time. */}}
{{- define "kubeline.validate" -}}
{{- if and (eq .Values.database.type "postgres") (not .Values.database.postgres.existingSecret) (not .Values.database.postgres.dsn) }}
{{- fail "database.type postgres needs database.postgres.existingSecret (a Secret with the PostgreSQL URL) or database.postgres.dsn" }}
{{- end }}
{{- if and .Values.artifacts.s3.credentials.create (eq .Values.artifacts.type "s3") (or (not .Values.artifacts.s3.credentials.accessKey) (not .Values.artifacts.s3.credentials.secretKey)) }}
{{- fail "artifacts.s3.credentials.create needs artifacts.s3.credentials.accessKey and secretKey" }}
{{- end }}
{{- end }}

{{/* What the server does in a workflow namespace: run, watch and stop
Argo workflows; read their pods and logs. */}}
{{- define "kubeline.workflowRules" -}}
- apiGroups: [argoproj.io]
  resources: [workflows]
  verbs: [create, get, list, watch, update, patch, delete]
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, list, watch]
{{- end }}
