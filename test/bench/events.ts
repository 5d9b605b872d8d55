// Deterministic bench events, shared by the loader and traffic suites.

/**
 * A deterministic typical event: ~717 bytes (mean of the first 100k), 33 leaves, nested context/properties, an
 * array of 2 objects.
 */
export function typicalEvent(i: number): string {
  const t = new Date(Date.UTC(2026, 0, 1) + i * 37).toISOString();
  return JSON.stringify({
    type: 'track',
    event: i % 3 === 0 ? 'Order Completed' : i % 3 === 1 ? 'Product Viewed' : 'Checkout Started',
    messageId: `msg-${i.toString(36)}-${(i * 2654435761) % 1e9}`,
    userId: `user-${i % 5000}`,
    anonymousId: `anon-${i % 7919}`,
    receivedAt: t,
    timestamp: t,
    sourceId: 'web',
    context: {
      ip: `10.${i % 250}.${(i >> 8) % 250}.${i % 199}`,
      library: { name: 'analytics.js', version: '5.2.0' },
      page: { path: `/p/${i % 100}`, url: `https://shop.example/p/${i % 100}` },
      locale: 'en-US',
      screen: { width: 1440, height: 900 },
    },
    properties: {
      order_id: `o-${i}`,
      total: (i % 1000) + 0.99,
      revenue: (i % 900) + 0.5,
      shipping: 4.5,
      tax: 1.25,
      coupon: i % 2 === 0 ? 'SPRING' : null,
      currency: 'EUR',
      payment: { method: 'card', installments: 1 + (i % 3) },
      products: [
        { product_id: `p-${i % 300}`, sku: `S${i % 300}`, price: 19.99, quantity: 1 + (i % 4) },
        { product_id: `p-${(i + 7) % 300}`, sku: `S${(i + 7) % 300}`, price: 5, quantity: 1 },
      ],
    },
  });
}

/** An identify event of user number `i` (a new user each), with traits of a typical profile. */
export function newUserEvent(i: number): string {
  const t = new Date(Date.UTC(2026, 0, 1) + i * 37).toISOString();
  return JSON.stringify({
    type: 'identify',
    messageId: `id-${i.toString(36)}`,
    userId: `user-${i}`,
    anonymousId: `anon-${i}`,
    receivedAt: t,
    timestamp: t,
    context: {
      ip: `10.${i % 250}.0.1`,
      library: { name: 'analytics.js', version: '5.2.0' },
      locale: 'en-US',
    },
    traits: {
      email: `user${i}@example.com`,
      name: `User ${i}`,
      plan: i % 3 === 0 ? 'free' : 'pro',
      logins: i % 100,
      company: { name: `Company ${i % 1000}`, size: i % 500 },
      created_at: t,
    },
  });
}

export function leafCount(value: unknown): number {
  if (value === null || typeof value !== 'object') return 1;
  return Object.values(value).reduce((n: number, v) => n + leafCount(v), 0);
}
