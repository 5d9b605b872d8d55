// Entry of sdk/dist/sluice.iife.js: installs `window.analytics`.
import type { Dict } from '../core/types.ts';
import { install } from './install.ts';

install(window as unknown as Dict);
