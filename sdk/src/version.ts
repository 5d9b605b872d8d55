/** The SDK version sent as `context.library.version`; kept in step with sdk/package.json (tested). */
export const VERSION = '0.1.0';
