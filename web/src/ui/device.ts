//! What kind of device the page runs on, for hints that only fit some
//! (keyboard shortcuts mean nothing on a phone).

/** Whether the main pointer is a finger (phones, tablets), where keyboard hints do not belong. */
export function isTouchFirst(): boolean {
  return typeof window !== 'undefined' && typeof window.matchMedia === 'function' && window.matchMedia('(pointer: coarse)').matches;
}
