/**
 * The part of the shared file that writer (P2) and reader (P3) agree on: the first 4000 bytes, as in
 * the C programs, holding a NUL-terminated string. The kernel maps whole pages, so a mapping of 4000
 * bytes covers one 4096-byte page; only the 4000 are used.
 */
export const MESSAGE_AREA_SIZE = 4000;
