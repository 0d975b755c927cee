/** Kernel release strings: where a kbuild tree states its own, and ordering. Pure. */

/** include/generated/utsrelease.h of a kbuild tree: the release its modules get. */
export function parseUtsRelease(header: string): string {
  const m = /#define\s+UTS_RELEASE\s+"([^"]+)"/.exec(header);
  if (!m?.[1]) throw new Error('no UTS_RELEASE in utsrelease.h');
  return m[1];
}

/** Orders releases the way a person would: 6.1.0-57 after 6.1.0-9. */
export function compareReleases(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
