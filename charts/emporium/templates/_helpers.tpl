{{/*
Names, labels, the merged settings of a service, and the ONE place a service's environment is
built (emporium.env). Objects of a service are named after it (catalog, orders, ...): a
service's DNS name is what the others and the generated Envoy bootstraps call, so one release
of the store goes in one namespace.
*/}}

{{- define "emporium.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The labels every object of the release carries, but its instance. */}}
{{- define "emporium.baseLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "emporium.name" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* The labels of the release's objects that belong to no one service. */}}
{{- define "emporium.commonLabels" -}}
{{ include "emporium.baseLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector labels of a service's pods: (dict "root" $ "name" "orders"). */}}
{{- define "emporium.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* All labels of a service's objects: (dict "root" $ "name" "orders"), optionally "component". */}}
{{- define "emporium.labels" -}}
{{ include "emporium.baseLabels" .root }}
{{ include "emporium.selectorLabels" . }}
app.kubernetes.io/component: {{ .component | default (ternary "loadgen" "service" (eq .name "loadgen")) }}
{{- end -}}

{{/* The generated topology (files/topology.yaml) as a dict. */}}
{{- define "emporium.topology" -}}
{{- .Files.Get "files/topology.yaml" -}}
{{- end -}}

{{/*
Deep merge of two dicts as JSON: (dict "base" $a "over" $b). Unlike sprig's merge it lets
`false`, 0 and "" in `over` win (loadgen's `replicas: 0` over a default of 2).
*/}}
{{- define "emporium.deepMerge" -}}
{{- $out := deepCopy .base -}}
{{- range $key, $value := .over -}}
{{- if and (kindIs "map" $value) (kindIs "map" (index $out $key)) -}}
{{- $_ := set $out $key (include "emporium.deepMerge" (dict "base" (index $out $key) "over" $value) | fromJson) -}}
{{- else -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* A service's settings, serviceDefaults overlaid with services.<name>, as JSON: (dict "root" $ "name" "orders"). */}}
{{- define "emporium.serviceConfig" -}}
{{- include "emporium.deepMerge" (dict "base" .root.Values.serviceDefaults "over" (index .root.Values.services .name)) -}}
{{- end -}}

{{/* The enabled services in name order, as a JSON list. */}}
{{- define "emporium.enabledServices" -}}
{{- $names := list -}}
{{- range $name, $svc := .Values.services -}}
{{- if $svc.enabled -}}{{- $names = append $names $name -}}{{- end -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/* Whether a service is in the mesh (has a sidecar, a VirtualNode, an HTTPRoute): "true" or "". */}}
{{- define "emporium.inMesh" -}}
{{- $topology := include "emporium.topology" .root | fromYaml -}}
{{- if (index $topology.services .name).mesh -}}true{{- end -}}
{{- end -}}

{{/* Whether an Envoy sidecar runs in a service's pods: "true" or "". */}}
{{- define "emporium.hasSidecar" -}}
{{- if and (eq .root.Values.mesh.mode "envoy") (include "emporium.inMesh" .) -}}true{{- end -}}
{{- end -}}

{{/* The app's port: behind its sidecar, 8081; else the Service's 8080. */}}
{{- define "emporium.appPort" -}}
{{- $topology := include "emporium.topology" .root | fromYaml -}}
{{- if include "emporium.hasSidecar" . -}}{{ $topology.ports.app }}{{- else -}}{{ $topology.ports.service }}{{- end -}}
{{- end -}}

{{/* The name of the app container's port: the Service targets `http`, which is the sidecar's when there is one. */}}
{{- define "emporium.appPortName" -}}
{{- if include "emporium.hasSidecar" . -}}http-app{{- else -}}http{{- end -}}
{{- end -}}

{{/* A service's in-cluster DNS name: (dict "root" $ "name" "catalog"). */}}
{{- define "emporium.serviceHost" -}}
{{ .name }}.{{ .root.Release.Namespace }}.svc.{{ .root.Values.clusterDomain }}
{{- end -}}

{{/* An image reference: (dict "root" $ "image" $svc.image). The registry prefixes only a repository that names none. */}}
{{- define "emporium.image" -}}
{{- $repository := .image.repository -}}
{{- $first := first (splitList "/" $repository) -}}
{{- $hasRegistry := and (contains "/" $repository) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) -}}
{{- if and .root.Values.image.registry (not $hasRegistry) -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" .root.Values.image.registry) $repository -}}
{{- end -}}
{{- printf "%s:%s" $repository (default (default .root.Chart.AppVersion .root.Values.image.tag) .image.tag) -}}
{{- end -}}

{{/* OTLP/HTTP endpoint of the apps. */}}
{{- define "emporium.otlpHttpEndpoint" -}}
{{- if .Values.collector.enabled -}}
http://{{ include "emporium.name" . }}-otel-collector.{{ .Release.Namespace }}.svc.{{ .Values.clusterDomain }}:4318
{{- else -}}
{{ .Values.telemetry.otlpEndpoint }}
{{- end -}}
{{- end -}}

{{/* OTLP/gRPC host of the Envoy sidecars' tracer (a placeholder in files/envoy/*.yaml). */}}
{{- define "emporium.otlpGrpcHost" -}}
{{- if .Values.collector.enabled -}}
{{ include "emporium.name" . }}-otel-collector.{{ .Release.Namespace }}.svc.{{ .Values.clusterDomain }}
{{- else -}}
{{ first (splitList ":" .Values.telemetry.otlpGrpcEndpoint) }}
{{- end -}}
{{- end -}}

{{/* OTLP/gRPC port of the Envoy sidecars' tracer. */}}
{{- define "emporium.otlpGrpcPort" -}}
{{- if .Values.collector.enabled -}}4317{{- else -}}{{ last (splitList ":" .Values.telemetry.otlpGrpcEndpoint) }}{{- end -}}
{{- end -}}

{{/*
The URL a caller's app uses for a callee: its own sidecar's egress listener in envoy mode, the
callee's Service name with App Mesh or none (App Mesh's Envoy intercepts it), the callee's VPC
Lattice service name in lattice mode. (dict "root" $ "caller" "orders" "callee" "cart" "egressPort" 15001)
*/}}
{{- define "emporium.upstreamUrl" -}}
{{- $mode := .root.Values.mesh.mode -}}
{{- $inMesh := include "emporium.inMesh" (dict "root" .root "name" .caller) -}}
{{- if and (eq $mode "envoy") $inMesh -}}
http://127.0.0.1:{{ .egressPort }}
{{- else if and (eq $mode "lattice") $inMesh -}}
http://{{ .callee }}.{{ .root.Values.mesh.lattice.domain }}{{ if ne (int .root.Values.mesh.lattice.port) 80 }}:{{ .root.Values.mesh.lattice.port }}{{ end }}
{{- else -}}
http://{{ include "emporium.serviceHost" (dict "root" .root "name" .callee) }}:8080
{{- end -}}
{{- end -}}

{{/*
THE one place a service's environment is built, from its src/config.ts and the platform's
shared shapes: (dict "root" $ "name" "orders" "svc" $svc). Variables in services.<name>.env
win: the chart's of the same name are left out.
*/}}
{{- define "emporium.env" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $svc := .svc -}}
{{- $values := $root.Values -}}
{{- $topology := include "emporium.topology" $root | fromYaml -}}
{{- $spec := index $topology.services $name -}}
{{- $mode := $values.mesh.mode -}}
{{- $sidecar := include "emporium.hasSidecar" (dict "root" $root "name" $name) -}}
{{- $env := list -}}
{{- $env = append $env (dict "name" "PORT" "value" (include "emporium.appPort" (dict "root" $root "name" $name))) -}}
{{- $env = append $env (dict "name" "LOG_LEVEL" "value" $values.logLevel) -}}
{{- $env = append $env (dict "name" "DEPLOYMENT_ENVIRONMENT" "value" $values.environment) -}}
{{- $env = append $env (dict "name" "SERVICE_VERSION" "value" (default (default $root.Chart.AppVersion $values.image.tag) $svc.image.tag)) -}}
{{- $env = append $env (dict "name" "TELEMETRY_ENABLED" "value" (ternary "true" "false" $values.telemetry.enabled)) -}}
{{- $env = append $env (dict "name" "OTEL_SERVICE_NAME" "value" $name) -}}
{{- $env = append $env (dict "name" "OTEL_EXPORTER_OTLP_ENDPOINT" "value" (include "emporium.otlpHttpEndpoint" $root)) -}}
{{- $env = append $env (dict "name" "OTEL_TRACES_SAMPLER_ARG" "value" (toString $values.telemetry.sampleRatio)) -}}
{{- $env = append $env (dict "name" "POD_NAME" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.name"))) -}}
{{- $env = append $env (dict "name" "POD_NAMESPACE" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.namespace"))) -}}
{{- /* The app's own deadline stays 5 s inside the pod's grace period. */ -}}
{{- $env = append $env (dict "name" "SHUTDOWN_TIMEOUT_MS" "value" (toString (mul (sub (int $svc.terminationGracePeriodSeconds) 5) 1000))) -}}
{{- $env = append $env (dict "name" "SHUTDOWN_DRAIN_DELAY_MS" "value" (toString (int $svc.drainDelayMs))) -}}
{{- if has "kafka" $spec.uses -}}
{{- $kafka := $values.kafka -}}
{{- if and $kafka.existingSecret $kafka.secretKeys.brokers -}}
{{- $env = append $env (dict "name" "KAFKA_BROKERS" "valueFrom" (dict "secretKeyRef" (dict "name" $kafka.existingSecret "key" $kafka.secretKeys.brokers))) -}}
{{- else -}}
{{- $env = append $env (dict "name" "KAFKA_BROKERS" "value" (required "kafka.brokers (or kafka.existingSecret with secretKeys.brokers) is required" $kafka.brokers)) -}}
{{- end -}}
{{- $env = append $env (dict "name" "KAFKA_SSL" "value" (ternary "true" "false" $kafka.tls)) -}}
{{- if $kafka.sasl.enabled -}}
{{- $env = append $env (dict "name" "KAFKA_SASL_MECHANISM" "value" $kafka.sasl.mechanism) -}}
{{- if eq $kafka.sasl.mechanism "aws-msk-iam" -}}
{{- /* MSK IAM signs in with the pod's AWS credentials (IRSA): no secret, only the region. */ -}}
{{- $env = append $env (dict "name" "KAFKA_AWS_REGION" "value" (required "kafka.sasl.awsRegion is required with aws-msk-iam" $kafka.sasl.awsRegion)) -}}
{{- else -}}
{{- $secret := required "kafka.existingSecret is required with kafka.sasl.enabled" $kafka.existingSecret -}}
{{- $env = append $env (dict "name" "KAFKA_SASL_USERNAME" "valueFrom" (dict "secretKeyRef" (dict "name" $secret "key" $kafka.secretKeys.username))) -}}
{{- $env = append $env (dict "name" "KAFKA_SASL_PASSWORD" "valueFrom" (dict "secretKeyRef" (dict "name" $secret "key" $kafka.secretKeys.password))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if has "mongodb" $spec.uses -}}
{{- $mongo := $values.mongodb -}}
{{- if $mongo.existingSecret -}}
{{- $env = append $env (dict "name" "MONGO_URL" "valueFrom" (dict "secretKeyRef" (dict "name" $mongo.existingSecret "key" $mongo.secretKey))) -}}
{{- else -}}
{{- $env = append $env (dict "name" "MONGO_URL" "value" (required "mongodb.url (or mongodb.existingSecret) is required" $mongo.url)) -}}
{{- end -}}
{{- $env = append $env (dict "name" "MONGO_DATABASE" "value" $name) -}}
{{- if $mongo.documentDb.enabled -}}
{{- $env = append $env (dict "name" "MONGO_TLS_CA_FILE" "value" (printf "/etc/emporium/mongodb-ca/%s" $mongo.documentDb.caBundle.key)) -}}
{{- $env = append $env (dict "name" "MONGO_RETRY_WRITES" "value" "false") -}}
{{- end -}}
{{- end -}}
{{- if has "redis" $spec.uses -}}
{{- if $values.redis.existingSecret -}}
{{- $env = append $env (dict "name" "REDIS_URL" "valueFrom" (dict "secretKeyRef" (dict "name" $values.redis.existingSecret "key" $values.redis.secretKey))) -}}
{{- else -}}
{{- $env = append $env (dict "name" "REDIS_URL" "value" (required "redis.url (or redis.existingSecret) is required" $values.redis.url)) -}}
{{- end -}}
{{- end -}}
{{- range $upstream := $spec.upstreams -}}
{{- $url := include "emporium.upstreamUrl" (dict "root" $root "caller" $name "callee" $upstream.name "egressPort" $upstream.egressPort) -}}
{{- $env = append $env (dict "name" (printf "UPSTREAM_%s_URL" (upper $upstream.name)) "value" $url) -}}
{{- end -}}
{{- /* Behind an Envoy (the chart's sidecar or App Mesh's) the proxy retries under a budget; retrying in the app too would multiply an outage's load. */ -}}
{{- if and $spec.upstreams $spec.mesh (or $sidecar (eq $mode "appmesh")) -}}
{{- $env = append $env (dict "name" "UPSTREAM_RETRIES" "value" "0") -}}
{{- end -}}
{{- if eq $name "gateway" -}}
{{- $trust := $values.gateway.trustProxy -}}
{{- if kindIs "invalid" $trust -}}{{- $trust = ternary 1 0 (not (empty $sidecar)) -}}{{- end -}}
{{- $env = append $env (dict "name" "TRUST_PROXY" "value" (toString $trust)) -}}
{{- /* Never the dev issuer in a cluster: it mints a token for anyone. */ -}}
{{- $env = append $env (dict "name" "DEV_ISSUER_ENABLED" "value" "false") -}}
{{- $web := $values.gateway.storefront -}}
{{- if $web.enabled -}}
{{- /* The storefront's build, in the gateway image (services/Dockerfile). */ -}}
{{- $env = append $env (dict "name" "WEB_ROOT" "value" "/app/web") -}}
{{- end -}}
{{- if $web.oidcAuthority -}}
{{- $env = append $env (dict "name" "WEB_OIDC_AUTHORITY" "value" $web.oidcAuthority) -}}
{{- $env = append $env (dict "name" "WEB_OIDC_CLIENT_ID" "value" (required "gateway.storefront.oidcClientId is required with oidcAuthority" $web.oidcClientId)) -}}
{{- $env = append $env (dict "name" "WEB_OIDC_SCOPE" "value" $web.oidcScope) -}}
{{- end -}}
{{- if $web.connectSrc -}}
{{- $env = append $env (dict "name" "WEB_CONNECT_SRC" "value" (join "," $web.connectSrc)) -}}
{{- end -}}
{{- end -}}
{{- $identity := include "emporium.identity" (dict "root" $root "name" $name) | fromJson -}}
{{- if $identity.users -}}
{{- /* The users' identity provider: the gateway and every service verify the same tokens. */ -}}
{{- $jwt := $values.auth.users -}}
{{- if $jwt.jwksUrl -}}{{- $env = append $env (dict "name" "JWT_JWKS_URL" "value" $jwt.jwksUrl) -}}{{- end -}}
{{- if $jwt.allowHttp -}}{{- $env = append $env (dict "name" "JWT_JWKS_ALLOW_HTTP" "value" "true") -}}{{- end -}}
{{- if $jwt.issuer -}}{{- $env = append $env (dict "name" "JWT_ISSUER" "value" $jwt.issuer) -}}{{- end -}}
{{- if $jwt.audience -}}{{- $env = append $env (dict "name" "JWT_AUDIENCE" "value" $jwt.audience) -}}{{- end -}}
{{- if $jwt.tokenUse -}}{{- $env = append $env (dict "name" "JWT_TOKEN_USE" "value" $jwt.tokenUse) -}}{{- end -}}
{{- $env = append $env (dict "name" "JWT_ALGORITHMS" "value" (join "," $jwt.algorithms)) -}}
{{- end -}}
{{- if $identity.workloads -}}
{{- /* Workload tokens: verified against the cluster's service account issuer, subject system:serviceaccount:<namespace>:<service>. */ -}}
{{- $workloads := $values.auth.workloads -}}
{{- $env = append $env (dict "name" "SERVICE_TOKEN_ISSUER" "value" $workloads.issuer) -}}
{{- $env = append $env (dict "name" "SERVICE_TOKEN_JWKS_URL" "value" $workloads.jwksUrl) -}}
{{- $env = append $env (dict "name" "SERVICE_TOKEN_SUBJECT_PREFIX" "value" (printf "system:serviceaccount:%s:" $root.Release.Namespace)) -}}
{{- if $workloads.fromApiServer -}}
{{- $env = append $env (dict "name" "SERVICE_TOKEN_JWKS_BEARER_FILE" "value" (printf "%s/kube-api/token" (include "emporium.identityDir" $root))) -}}
{{- /* The API server's certificate is signed by the cluster's CA, which Node learns at start. */ -}}
{{- $env = append $env (dict "name" "NODE_EXTRA_CA_CERTS" "value" (printf "%s/kube-api/ca.crt" (include "emporium.identityDir" $root))) -}}
{{- end -}}
{{- if $identity.audiences -}}
{{- $env = append $env (dict "name" "SERVICE_TOKEN_DIR" "value" (printf "%s/tokens" (include "emporium.identityDir" $root))) -}}
{{- end -}}
{{- end -}}
{{- $extra := $svc.env | default dict -}}
{{- range $entry := $env -}}
{{- if not (hasKey $extra $entry.name) }}
- {{ toYaml $entry | nindent 2 | trim }}
{{- end -}}
{{- end -}}
{{- range $key, $value := $extra }}
- name: {{ $key }}
  value: {{ toString $value | quote }}
{{- end -}}
{{- end -}}

{{/* Pod-level security context: Pod Security "restricted". */}}
{{- define "emporium.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level security context: Pod Security "restricted", read-only root. */}}
{{- define "emporium.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}


{{/* Where a pod's identity volume is mounted: its workload tokens and the API server's CA. */}}
{{- define "emporium.identityDir" -}}
/var/run/secrets/emporium
{{- end -}}

{{/*
Who a service believes and how it proves itself, as JSON: (dict "root" $ "name" "orders") →
{"users": true, "workloads": true, "audiences": ["cart", …], "volume": true}. users: it
verifies user tokens (every service of the store; loadgen is a client). workloads: it verifies
workload tokens. audiences: the services it calls, one projected token each (the gateway calls
with the user's token only). volume: the pod mounts the projected identity volume.
*/}}
{{- define "emporium.identity" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $workloads := $root.Values.auth.workloads -}}
{{- $users := ne $name "loadgen" -}}
{{- $verifies := and $users $workloads.enabled (ne $name "gateway") -}}
{{- $audiences := list -}}
{{- if $verifies -}}
{{- $spec := index (include "emporium.topology" $root | fromYaml).services $name -}}
{{- range $upstream := $spec.upstreams -}}{{- $audiences = append $audiences $upstream.name -}}{{- end -}}
{{- end -}}
{{- $volume := and $verifies (or $audiences $workloads.fromApiServer) -}}
{{- dict "users" $users "workloads" $verifies "audiences" $audiences "volume" $volume | toJson -}}
{{- end -}}
