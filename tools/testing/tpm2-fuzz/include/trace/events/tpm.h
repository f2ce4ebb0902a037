/* SPDX-License-Identifier: GPL-2.0-only */
/* The kernel's own trace header, over the stand-in <linux/tracepoint.h> */
#include "../../../../../../include/trace/events/tpm.h"
