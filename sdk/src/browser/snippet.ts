/**
 * The loader snippet for a page's <head>, Segment style: it defines `window.analytics` as an array with method
 * stubs that record `[method, ...args]`, records `load(writeKey, options)`, and inserts the script asynchronously.
 * When sluice.iife.js arrives it loads with the recorded key and replays every recorded call in order.
 */
export const SNIPPET_TEMPLATE = `!function(){var a=window.analytics=window.analytics||[];if(a.load||a.invoked)return;a.invoked=!0;
a.methods=["track","identify","page","screen","group","alias","use","flush","reset","user","enable","disable","stats","ready"];
a.factory=function(m){return function(){var t=[].slice.call(arguments);t.unshift(m);a.push(t);return a}};
for(var i=0;i<a.methods.length;i++){var k=a.methods[i];a[k]=a.factory(k)}
a.load=function(key,o){var s=document.createElement("script");s.async=!0;s.src=__SRC__;
var f=document.getElementsByTagName("script")[0];f.parentNode.insertBefore(s,f);a._writeKey=key;a._loadOptions=o};
a.load(__KEY__,__OPTIONS__);a.page()}();`;

/** Renders the snippet for a write key, collector host and script URL (plus any other load options). */
export function snippet(
  writeKey: string,
  options: { host: string; src: string } & Record<string, unknown>,
): string {
  const { src, ...load } = options;
  return SNIPPET_TEMPLATE.replace('__SRC__', JSON.stringify(src))
    .replace('__KEY__', JSON.stringify(writeKey))
    .replace('__OPTIONS__', JSON.stringify(load));
}
