/**
 * Content types for static files by extension: the common web types, as Python's `mimetypes`
 * (which Tornado asks) answers them, in a small built-in table instead of a dependency.
 */

import { extname } from "node:path";

const TYPES: Record<string, string> = {
  // text
  ".html": "text/html",
  ".htm": "text/html",
  ".css": "text/css",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".cjs": "text/javascript",
  ".txt": "text/plain",
  ".text": "text/plain",
  ".md": "text/markdown",
  ".csv": "text/csv",
  ".xml": "text/xml",
  ".ics": "text/calendar",
  // application
  ".json": "application/json",
  ".map": "application/json",
  ".webmanifest": "application/manifest+json",
  ".jsonld": "application/ld+json",
  ".xhtml": "application/xhtml+xml",
  ".rss": "application/rss+xml",
  ".atom": "application/atom+xml",
  ".wasm": "application/wasm",
  ".pdf": "application/pdf",
  ".zip": "application/zip",
  ".tar": "application/x-tar",
  ".rtf": "application/rtf",
  ".eot": "application/vnd.ms-fontobject",
  // images
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".svg": "image/svg+xml",
  ".ico": "image/vnd.microsoft.icon",
  ".bmp": "image/bmp",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
  // fonts
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".otf": "font/otf",
  // audio and video
  ".mp3": "audio/mpeg",
  ".m4a": "audio/mp4",
  ".ogg": "audio/ogg",
  ".oga": "audio/ogg",
  ".opus": "audio/opus",
  ".wav": "audio/wav",
  ".flac": "audio/flac",
  ".mp4": "video/mp4",
  ".m4v": "video/mp4",
  ".webm": "video/webm",
  ".ogv": "video/ogg",
  ".mov": "video/quicktime",
  ".vtt": "text/vtt",
};

// Extensions that Python's mimetypes reads as a content *encoding* of the type underneath
// (`app.js.gz` is gzip-encoded JavaScript). Tornado then sends application/gzip for gzip
// (RFC 6713) and application/octet-stream for the others, never the type underneath.
const ENCODINGS: Record<string, string> = {
  ".gz": "application/gzip",
  ".tgz": "application/gzip",
  ".bz2": "application/octet-stream",
  ".tbz2": "application/octet-stream",
  ".xz": "application/octet-stream",
  ".txz": "application/octet-stream",
  ".br": "application/octet-stream",
  ".z": "application/octet-stream",
};

/**
 * The content type for a file name, from its extension (case-insensitive);
 * `application/octet-stream` when unknown.
 */
export function guessContentType(fileName: string): string {
  const ext = extname(fileName).toLowerCase();
  return ENCODINGS[ext] ?? TYPES[ext] ?? "application/octet-stream";
}
