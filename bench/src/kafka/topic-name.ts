/** The Kafka pair's topic, apart from its schema so the raw side need not load the platform. */
export const BENCH_TOPIC = 'bench.ticks.v1';
