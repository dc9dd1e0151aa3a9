/**
 * The store's topology: its services, what infrastructure each uses and which services it
 * calls. The local stack, the Envoy bootstrap generator and the tests all read it from here.
 */

/** A service of the store and what it needs to start. */
export interface ServiceSpec {
  name: ServiceName;
  /** Infrastructure it connects to. */
  uses: readonly ('kafka' | 'mongodb' | 'redis')[];
  /** Services it calls (UPSTREAM_<NAME>_URL); they start first. */
  upstreams: readonly ServiceName[];
}

/** The store's services. */
export type ServiceName =
  | 'catalog'
  | 'inventory'
  | 'cart'
  | 'payments'
  | 'shipping'
  | 'notifications'
  | 'orders'
  | 'gateway';

/**
 * The topology, in start order: a service starts after the services it calls. catalog comes
 * first because inventory opens stock for the products catalog announces.
 */
export const SERVICES: readonly ServiceSpec[] = [
  { name: 'catalog', uses: ['kafka', 'mongodb', 'redis'], upstreams: [] },
  { name: 'inventory', uses: ['kafka', 'mongodb'], upstreams: [] },
  { name: 'cart', uses: ['redis'], upstreams: ['catalog'] },
  { name: 'payments', uses: ['kafka', 'mongodb'], upstreams: [] },
  { name: 'shipping', uses: ['kafka', 'mongodb'], upstreams: [] },
  { name: 'notifications', uses: ['kafka', 'mongodb'], upstreams: [] },
  { name: 'orders', uses: ['kafka', 'mongodb'], upstreams: ['cart', 'catalog', 'inventory'] },
  {
    name: 'gateway',
    uses: ['redis'],
    upstreams: ['catalog', 'cart', 'inventory', 'orders', 'notifications', 'shipping', 'payments'],
  },
];
