{{/* mesh.mode lattice: VPC Lattice routes between services outside the pods; nothing is added to them. */}}
{{- define "emporium.mesh.lattice.podLabels" -}}{{- end -}}
{{- define "emporium.mesh.lattice.podAnnotations" -}}{{- end -}}
{{- define "emporium.mesh.lattice.initContainers" -}}{{- end -}}
{{- define "emporium.mesh.lattice.volumes" -}}{{- end -}}
