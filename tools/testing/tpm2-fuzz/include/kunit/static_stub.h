/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _TPM2_FUZZ_STATIC_STUB_H
#define _TPM2_FUZZ_STATIC_STUB_H

/* No KUnit here: a redirectable function always runs its own body. */
#define KUNIT_STATIC_STUB_REDIRECT(real_fn_name, args...)	((void)(real_fn_name))

#endif
