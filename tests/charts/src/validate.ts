import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import {
  Gateway,
  GatewayClass,
  HTTPRoute,
} from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import {
  PodMonitor,
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { CRDS_DIR, type KubeObject } from './chart.js';

/** A kubernetes-models class: built from plain data, it validates against the API's schema. */
type ModelClass = new (data: never) => { validate(): void };

/** The models of every built-in and operator kind the chart may render, by `apiVersion/kind`. */
const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.k8s.io/v1/Ingress': Ingress,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'gateway.networking.k8s.io/v1/GatewayClass': GatewayClass,
  'gateway.networking.k8s.io/v1/Gateway': Gateway,
  'gateway.networking.k8s.io/v1/HTTPRoute': HTTPRoute,
};

/** The CRD files whose kinds have no npm model: App Mesh and VPC Lattice. */
const CRD_FILES = ['appmesh.k8s.aws.yaml', 'application-networking.k8s.aws-v2.1.3.yaml'];

interface CrdVersion {
  name: string;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
}
interface Crd {
  kind?: string;
  spec?: { group: string; names: { kind: string }; versions: CrdVersion[] };
}

/** Drops the Kubernetes extensions (`x-kubernetes-*`) that ajv does not know. */
function plainSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(plainSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => !key.startsWith('x-kubernetes-'))
      .map(([key, value]) => [key, plainSchema(value)]),
  );
}

/** Validators of the CRD kinds in ../shared/crds that no npm package models, by `apiVersion/kind`. */
export async function crdValidators(): Promise<Map<string, ValidateFunction>> {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  const validators = new Map<string, ValidateFunction>();
  for (const file of CRD_FILES) {
    for (const doc of parseAllDocuments(await readFile(join(CRDS_DIR, file), 'utf8'))) {
      const crd = doc.toJS() as Crd | null;
      if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec) continue;
      for (const version of crd.spec.versions) {
        const schema = version.schema?.openAPIV3Schema;
        if (!schema) continue;
        validators.set(
          `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`,
          ajv.compile(plainSchema(schema) as object),
        );
      }
    }
  }
  return validators;
}

/**
 * Problems of one rendered object: its model's `validate()` (kubernetes-models) or its CRD's
 * openAPIV3Schema; an object of a kind neither knows is a problem too.
 */
export function objectProblems(
  object: KubeObject,
  crds: ReadonlyMap<string, ValidateFunction>,
): string[] {
  const key = `${object.apiVersion}/${object.kind}`;
  const where = `${object.kind}/${object.metadata.name}`;
  const Model = MODELS[key];
  if (Model) {
    try {
      new Model(object as never).validate();
      return [];
    } catch (err) {
      return [`${where}: ${err instanceof Error ? err.message : String(err)}`];
    }
  }
  const validate = crds.get(key);
  if (!validate) return [`${where}: no schema for ${key}`];
  if (validate(object)) return [];
  return (validate.errors ?? []).map(
    (e) => `${where}: ${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}
