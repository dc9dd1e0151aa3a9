{{/* mesh.mode none: services call each other directly; nothing is added to their pods. */}}
{{- define "emporium.mesh.none.podLabels" -}}{{- end -}}
{{- define "emporium.mesh.none.podAnnotations" -}}{{- end -}}
{{- define "emporium.mesh.none.initContainers" -}}{{- end -}}
{{- define "emporium.mesh.none.volumes" -}}{{- end -}}
