// Images attached to a prompt: type and size checks, base64 without the
// `data:` prefix.

import { IMAGE_MEDIA_TYPES, type ImageInput } from './protocol';

/** Largest image accepted, in bytes (base64 grows it by a third; a socket message may be 1 MiB). */
export const MAX_IMAGE_BYTES = 700 * 1024;
/** Largest prompt message (text + base64 images) sent over the socket. */
export const MAX_MESSAGE_BYTES = 1_000_000;

export interface Attachment extends ImageInput {
  id: string;
  name: string;
  size: number;
  /** Object URL for the thumbnail (revoke when removed). */
  url: string;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Why a file cannot be attached, or null when it can. */
export function checkImage(file: { type: string; size: number; name?: string }): string | null {
  const name = file.name || 'The image';
  if (!(IMAGE_MEDIA_TYPES as readonly string[]).includes(file.type)) {
    return `${name}: only PNG, JPEG, GIF and WebP images can be sent${file.type ? ` (this is ${file.type})` : ''}.`;
  }
  if (file.size > MAX_IMAGE_BYTES) {
    return `${name} is ${formatBytes(file.size)}; images can be at most ${formatBytes(MAX_IMAGE_BYTES)} each. Shrink or crop it first.`;
  }
  return null;
}

/** Base64 of bytes (chunked: no call-stack limits on large images). */
export function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    bin += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(bin);
}

let counter = 0;

/** Reads an image file into an attachment; throws an Error with a user-facing message. */
export async function readImage(file: File): Promise<Attachment> {
  const problem = checkImage(file);
  if (problem) throw new Error(problem);
  const data = bytesToBase64(new Uint8Array(await file.arrayBuffer()));
  counter += 1;
  return {
    id: `img${counter}`,
    name: file.name || `pasted-image-${counter}`,
    size: file.size,
    media_type: file.type,
    data,
    url: URL.createObjectURL(file),
  };
}

/** Bytes of the JSON message that would carry this prompt (roughly). */
export function messageBytes(text: string, images: ImageInput[]): number {
  let n = new TextEncoder().encode(text).length + 64;
  for (const i of images) n += i.data.length + i.media_type.length + 40;
  return n;
}
