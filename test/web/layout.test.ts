/**
 * Layout at 1280×800 and at tablet width (800 px): no column header is cut at 1280; at 800 the
 * grid scrolls sideways so the last column can be reached; the header never covers the tab bar.
 * Screenshots: test-results/web-layout-*.png.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { CHROMIUM, loginAs, newPage, prereqs, shot, startWeb } from './harness.ts';
import type { WebHarness } from './harness.ts';

let h: WebHarness | undefined;
const errors: string[] = [];
before(async () => {
  if (existsSync(CHROMIUM)) h = await startWeb();
});
after(async () => {
  await h?.close();
});

for (const width of [1280, 800]) {
  test(`layout at ${width}x800: headers readable, every column reachable, header above the tabs`, async (t) => {
    if (!prereqs(t) || !h) return;
    const page = await newPage(h, errors, { width, height: 800 });
    await loginAs(page, h.url);
    {
      // a header is cut when its text needs more room than its button gives (ellipsis)
      const cut = await page.$$eval('.grid-head button.sort', (els) =>
        els
          .filter((e) => {
            const r = e.ownerDocument.createRange();
            r.selectNodeContents(e);
            const cs = e.ownerDocument.defaultView!.getComputedStyle(e);
            return (
              r.getBoundingClientRect().width >
                e.getBoundingClientRect().width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) + 0.5 ||
              e.scrollWidth > e.clientWidth
            );
          })
          .map((e) => e.textContent),
      );
      assert.deepEqual(cut, [], `column headers cut at ${width}`);
    }
    // the last column can be scrolled into view inside the grid
    await page.locator('[data-testid="sort-comments"]').scrollIntoViewIfNeeded();
    const box = await page.locator('[data-testid="sort-comments"]').boundingBox();
    assert.ok(
      box && box.x >= 0 && box.x + box.width <= width + 1,
      `Comment header reachable at ${width}: ${JSON.stringify(box)}`,
    );
    const header = await page.locator('header.top').boundingBox();
    const tabs = await page.locator('nav.tabs').boundingBox();
    assert.ok(header && tabs && header.y + header.height <= tabs.y + 0.5, 'the header does not cover the tab bar');
    await shot(page, `layout-${width}`);
    await page.context().close();
  });
}
