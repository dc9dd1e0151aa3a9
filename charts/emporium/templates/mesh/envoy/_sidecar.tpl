{{/*
mesh.mode envoy: each pod gets an Envoy as a native sidecar (an init container that keeps
running, `restartPolicy: Always`): the kubelet starts it, and waits for its startup probe,
before the app, and stops it after the app, so the app never runs without its proxy.
*/}}

{{- define "emporium.mesh.envoy.podLabels" -}}
{{- if include "emporium.hasSidecar" . }}
emporium.io/sidecar: envoy
{{- end -}}
{{- end -}}

{{- define "emporium.mesh.envoy.podAnnotations" -}}
{{- if include "emporium.hasSidecar" . }}
checksum/envoy: {{ include "emporium.envoyBootstrap" . | sha256sum }}
{{- if not (include "emporium.monitoring.operator" .root) }}
# Without the Prometheus Operator the app's annotations take the pod; the sidecar's stats
# are scraped through a second job that looks for this one.
emporium.io/envoy-stats-port: {{ (include "emporium.topology" .root | fromYaml).ports.stats | quote }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* The bootstrap of a service's sidecar: files/envoy/<name>.yaml through tpl, without its tracing when telemetry is off. */}}
{{- define "emporium.envoyBootstrap" -}}
{{- $bootstrap := tpl (.root.Files.Get (printf "files/envoy/%s.yaml" .name)) .root | fromYaml -}}
{{- if not .root.Values.telemetry.enabled -}}
{{- range $listener := $bootstrap.static_resources.listeners -}}
{{- range $chain := $listener.filter_chains -}}
{{- range $filter := $chain.filters -}}
{{- $_ := unset $filter.typed_config "tracing" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $clusters := list -}}
{{- range $cluster := $bootstrap.static_resources.clusters -}}
{{- if ne $cluster.name "opentelemetry_collector" -}}{{- $clusters = append $clusters $cluster -}}{{- end -}}
{{- end -}}
{{- $_ := set $bootstrap.static_resources "clusters" $clusters -}}
{{- end -}}
{{- toYaml $bootstrap -}}
{{- end -}}

{{- define "emporium.mesh.envoy.initContainers" -}}
{{- if include "emporium.hasSidecar" . }}
{{- $envoy := .root.Values.mesh.envoy }}
{{- $ports := (include "emporium.topology" .root | fromYaml).ports }}
- name: envoy
  image: {{ printf "%s:%s" $envoy.image.repository $envoy.image.tag | quote }}
  imagePullPolicy: {{ $envoy.image.pullPolicy }}
  restartPolicy: Always
  args:
    - --config-path
    - /etc/envoy/envoy.yaml
    - --log-level
    - {{ $envoy.logLevel }}
    - --concurrency
    - {{ $envoy.concurrency | quote }}
    # One Envoy per pod: no hot restart, so no shared memory to set up.
    - --disable-hot-restart
  ports:
    - name: http
      containerPort: {{ $ports.service }}
      protocol: TCP
    - name: envoy-stats
      containerPort: {{ $ports.stats }}
      protocol: TCP
  # The app starts only once this succeeds: its first calls find the egress listeners up.
  startupProbe:
    httpGet:
      path: /ready
      port: envoy-stats
    periodSeconds: 1
    failureThreshold: 30
  readinessProbe:
    httpGet:
      path: /ready
      port: envoy-stats
    periodSeconds: 5
    failureThreshold: 2
  resources:
    {{- toYaml $envoy.resources | nindent 4 }}
  securityContext:
    {{- include "emporium.containerSecurityContext" .root | nindent 4 }}
    # The distroless image's nonroot user.
    runAsUser: 65532
    runAsGroup: 65532
  volumeMounts:
    - name: envoy-config
      mountPath: /etc/envoy
      readOnly: true
{{- end -}}
{{- end -}}

{{- define "emporium.mesh.envoy.volumes" -}}
{{- if include "emporium.hasSidecar" . }}
- name: envoy-config
  configMap:
    name: {{ .name }}-envoy
{{- end -}}
{{- end -}}
