{{/* "true" when monitors and rules render: monitoring on and the Prometheus Operator's CRDs installed. */}}
{{- define "emporium.monitoring.operator" -}}
{{- if and .Values.monitoring.enabled (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor") -}}true{{- end -}}
{{- end -}}
