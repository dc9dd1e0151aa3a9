{{/*
mesh.mode appmesh: the App Mesh controller's webhook injects its Envoy (and an init container
that redirects the pod's traffic with iptables) into pods of a namespace labelled
`appmesh.k8s.aws/sidecarInjectorWebhook: enabled` and `mesh: <mesh.appmesh.name>`.
*/}}
{{- define "emporium.mesh.appmesh.podLabels" -}}{{- end -}}

{{- define "emporium.mesh.appmesh.podAnnotations" -}}
{{- if include "emporium.inMesh" . }}
appmesh.k8s.aws/sidecarInjectorWebhook: enabled
{{- else }}
appmesh.k8s.aws/sidecarInjectorWebhook: disabled
{{- end -}}
{{- end -}}

{{- define "emporium.mesh.appmesh.initContainers" -}}{{- end -}}
{{- define "emporium.mesh.appmesh.volumes" -}}{{- end -}}
