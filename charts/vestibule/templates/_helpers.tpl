{{/*
Chart name, or nameOverride.
*/}}
{{- define "vestibule.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name the release's resources are named after: fullnameOverride, else the release name when
it already contains the chart name, else "<release>-<chart>". Truncated so that the "-operator"
suffix still fits in 63 characters.
*/}}
{{- define "vestibule.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of the operator's objects. The "-operator" suffix keeps them apart from the auth-server
objects the operator itself generates for a Vestibule in the same namespace.
*/}}
{{- define "vestibule.operatorName" -}}
{{- printf "%s-operator" (include "vestibule.fullname" .) }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "vestibule.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object of the chart.
*/}}
{{- define "vestibule.labels" -}}
helm.sh/chart: {{ include "vestibule.chart" . }}
{{ include "vestibule.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: vestibule
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels: stable across upgrades (a Deployment's selector is immutable). The component
label keeps them from matching the auth-server pods the operator generates, which carry
app.kubernetes.io/instance: <Vestibule name> and may share a namespace with the release.
*/}}
{{- define "vestibule.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vestibule.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
Image tag: image.tag, or the chart's appVersion.
*/}}
{{- define "vestibule.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/*
The operator's ServiceAccount.
*/}}
{{- define "vestibule.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vestibule.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}
