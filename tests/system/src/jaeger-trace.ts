/** The parts of Jaeger's `/api/traces/<id>` answer read by the system tests. */
export interface JaegerTrace {
  spans: {
    traceID: string;
    spanID: string;
    operationName: string;
    processID: string;
    references: { refType: string; spanID: string }[];
    tags: { key: string; value: string | number | boolean }[];
  }[];
  processes: Record<string, { serviceName: string }>;
}

/** A span of the trace, flattened: who emitted it, its name, its kind and its parent. */
export interface SeenSpan {
  service: string;
  name: string;
  kind: string;
  traceId: string;
  spanId: string;
  parentId: string | undefined;
}

export function flatten(trace: JaegerTrace): SeenSpan[] {
  return trace.spans.map((span) => ({
    service: trace.processes[span.processID]?.serviceName ?? '?',
    name: span.operationName,
    kind: String(span.tags.find((tag) => tag.key === 'span.kind')?.value ?? ''),
    traceId: span.traceID,
    spanId: span.spanID,
    parentId: span.references.find((ref) => ref.refType === 'CHILD_OF')?.spanID,
  }));
}

/** The trace's spans as Jaeger's query API has them now; undefined while it has none. */
export async function traceSpans(
  queryUrl: string,
  traceId: string,
): Promise<SeenSpan[] | undefined> {
  const response = await fetch(`${queryUrl}/api/traces/${traceId}`);
  if (response.status !== 200) return undefined;
  const trace = ((await response.json()) as { data: JaegerTrace[] }).data[0];
  return trace ? flatten(trace) : undefined;
}
