// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fuzzers' kernel: a chip with the command attribute table of a real
 * TPM, and the few kernel functions the resource manager's parser and
 * tables call.
 */

#include <stdlib.h>
#include <string.h>
#include <linux/slab.h>
#include "fake-chip.h"
#include "swtpm-cc-attrs.h"

#define CHANDLES(n)	((u32)(n) << TPM2_CC_ATTR_CHANDLES)
#define CHANDLES_MASK	CHANDLES(7)

struct tpm_chip fake_chip;
unsigned long jiffies;

static u32 attrs_tbl[ARRAY_SIZE(swtpm_cc_attrs) + 2];
static int fail_countdown = -1;
static long live_allocs;

/*
 * The table as tpm2_get_cc_attrs_tbl() leaves it: ContextSave and
 * FlushContext get one handle, so their handle area is the one handle
 * they name. Two vendor commands follow: a good one, and one claiming
 * seven handles, as a broken TPM could.
 */
void fake_chip_init(void)
{
	unsigned int i, n = ARRAY_SIZE(swtpm_cc_attrs);
	u32 cc;

	for (i = 0; i < n; i++) {
		attrs_tbl[i] = swtpm_cc_attrs[i];
		cc = attrs_tbl[i] & 0xFFFF;
		if (cc == TPM2_CC_CONTEXT_SAVE || cc == TPM2_CC_FLUSH_CONTEXT)
			attrs_tbl[i] = (attrs_tbl[i] & ~CHANDLES_MASK) |
				       CHANDLES(1);
	}
	attrs_tbl[n++] = FAKE_CC_VENDOR | CHANDLES(1);
	attrs_tbl[n++] = FAKE_CC_VENDOR_BAD | CHANDLES(7);
	fake_chip.nr_commands = n;
	fake_chip.cc_attrs_tbl = attrs_tbl;
}

/* Same contract as the kernel's, written here from the TPMA_CC layout. */
int tpm2_find_cc(struct tpm_chip *chip, u32 cc)
{
	const u32 code = BIT(TPM2_CC_ATTR_VENDOR) | 0xFFFF;
	unsigned int i;

	for (i = 0; i < chip->nr_commands; i++)
		if ((chip->cc_attrs_tbl[i] & code) == cc)
			return i;
	return -1;
}

int fake_chip_find(u32 cc)
{
	return tpm2_find_cc(&fake_chip, cc);
}

void fake_fail_alloc_after(int n)
{
	fail_countdown = n;
}

long fake_live_allocs(void)
{
	return live_allocs;
}

void *kmalloc(size_t size, gfp_t gfp)
{
	void *p;

	if (fail_countdown == 0) {
		fail_countdown = -1;
		return NULL;
	}
	if (fail_countdown > 0)
		fail_countdown--;
	p = malloc(size);
	if (!p)
		abort();
	if (gfp & __GFP_ZERO)
		memset(p, 0, size);
	live_allocs++;
	return p;
}

void *kmemdup(const void *src, size_t len, gfp_t gfp)
{
	void *p = kmalloc(len, gfp);

	if (p)
		memcpy(p, src, len);
	return p;
}

void kfree(void *p)
{
	if (p)
		live_allocs--;
	free(p);
}
